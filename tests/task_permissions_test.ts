/**
 * The documented flags work through the documented commands: `deno task gen-cert --certs-dir DIR`
 * and `deno task server --certs-dir DIR` with DIR anywhere, not only `certs/` (the tasks grant
 * `--allow-write`); and the server's environment variables are granted by its task and by the
 * compiled binary alike.
 */
import { assert, assertEquals } from "./assert.ts";
import { ProcessGroup } from "./process_group.ts";
import { runDeno, runProgram, ServerProcess } from "./processes.ts";
import { COMPILE_TARGETS } from "../scripts/compile_targets.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TASKS: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;

/** The environment variables the server reads, now or once the work under way lands. */
const SERVER_ENV = [
  "TLSPUSH_ADMIN_TOKEN",
  "TLSPUSH_PUBLISH_TOKEN",
  "TLSPUSH_JWT_SECRET",
  "REDIS_DEBUG_MAINTENANCE", // read by the redis client package as it loads
];

/** The `--allow-*` flags of a `deno run ... ENTRY` task. */
function taskPermissions(task: string): string[] {
  return TASKS[task].split(/\s+/).filter((arg) => arg.startsWith("--allow-"));
}

Deno.test("deno task gen-cert --certs-dir DIR writes the CA and certificate to DIR", async () => {
  const parent = await Deno.makeTempDir({ prefix: "tlspush-gen-cert-" });
  const dir = `${parent}/certs2`;
  try {
    const { code, output } = await runDeno(["task", "gen-cert", "--certs-dir", dir]);
    assertEquals(code, 0, output);
    assert(output.includes(`created CA ${dir}/ca.pem`), output);
    for (const name of ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"]) {
      assert((await Deno.stat(`${dir}/${name}`)).isFile, name);
    }
    assert(!/Requires write access|Stack backtrace/.test(output), output);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("deno task server --certs-dir DIR outside certs/ starts, serves and stops with 0", async () => {
  const parent = await Deno.makeTempDir({ prefix: "tlspush-elsewhere-" });
  const dir = `${parent}/elsewhere`;
  const job = new ProcessGroup([
    Deno.execPath(),
    ...["task", "server", "--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0"],
    ...["--certs-dir", dir],
  ]);
  try {
    await job.waitForLine(/listening on 127\.0\.0\.1:\d+ /, 60_000);
    assert(job.stdout.some((line) => line.includes(`created a new CA ${dir}/ca.pem`)));
    assert((await Deno.stat(`${dir}/ca-key.pem`)).isFile);
    job.signalGroup("SIGINT");
    assertEquals((await job.exited()).code, 0);
    await job.allExited();
    assert(!job.stderr.some((line) => /Requires/.test(line)), job.stderr.join("\n"));
  } finally {
    await job.kill();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("the server task grants every environment variable the server reads", () => {
  const env = taskPermissions("server").find((flag) => flag.startsWith("--allow-env="));
  assertEquals(env?.slice("--allow-env=".length).split(",").sort(), [...SERVER_ENV].sort());
});

Deno.test("deno task compile grants the compiled programs what their deno task grants", () => {
  const byEntry = new Map(COMPILE_TARGETS.map((target) => [target.entry, target.permissions]));
  assertEquals(byEntry.get("server.ts"), taskPermissions("server"));
  assertEquals(byEntry.get("client.ts"), taskPermissions("client"));
});

Deno.test("the README's list of what the tasks allow is what deno.json says", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const shown = [...readme.matchAll(/^deno task (\S+)\s+# (deno run .+)$/gm)];
  assertEquals(shown.map((match) => match[1]).sort(), ["client", "gen-cert", "server", "token"]);
  for (const [, task, command] of shown) assertEquals(command, TASKS[task], task);
});

Deno.test("deno task gen-cert --client NAME: a certificate the server's --client-ca accepts as NAME", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-gen-client-" });
  let server: ServerProcess | undefined;
  try {
    const issued = await runDeno(["task", "gen-cert", "--certs-dir", dir, "--client", "sensor-7"]);
    assertEquals(issued.code, 0, issued.output);
    const [cert, key] = [`${dir}/client-sensor-7.pem`, `${dir}/client-sensor-7-key.pem`];
    assertEquals((await Deno.stat(key)).mode! & 0o777, 0o600, "the key is private");
    server = await ServerProcess.start([
      ...["--certs-dir", dir, "--client-ca", `${dir}/ca.pem`, "--no-ws"],
    ]);
    const client = await runProgram("client.ts", [
      ...["--port", String(server.port), "--ca", `${dir}/ca.pem`, "--cert", cert, "--key", key],
      ...["--send", "from sensor-7"],
    ]);
    assertEquals([client.code, client.stdout], [0, "from sensor-7\n"], client.stderr);
    await server.waitForLine(/sensor-7/);
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
