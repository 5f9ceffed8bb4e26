/**
 * The single-file programs, as the README says to make and run them.
 *
 * - `deno task bundle`'s bundles, run with the README's own `deno run` commands, word for word,
 *   from a directory that holds nothing but `dist/`: the programs are self-contained, as
 *   `deno compile` needs, and the README's permissions are enough.
 * - `deno task compile` itself: where Deno's runtime base can be downloaded, the binaries run
 *   from a directory without the source tree; where it cannot (this network, see DESIGN §5),
 *   the task ends with the one line of `scripts/compile.ts` and status 1, no backtrace. Which of
 *   the two is expected is decided by reaching dl.deno.land directly, not from the task's output,
 *   so a download failure cannot pass for a skip and a success elsewhere is really checked.
 */
import { assert, assertEquals } from "./assert.ts";
import { BackgroundProgram } from "./processes.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = await Deno.readTextFile(`${ROOT}/README.md`);
const TASKS: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;
const LISTEN = ["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0", "--certs-dir", "certs"];

/** The README's `deno run ... dist/FILE ...` command for `file`, as words. */
function readmeRunCommand(file: string): string[] {
  const line = README.split("\n").find((line) =>
    line.startsWith("deno run ") && line.includes(` dist/${file}`)
  );
  assert(line, `the README shows how to run dist/${file}`);
  return line.trim().split(/\s+/);
}

/** Runs `deno ARGS` in `cwd` with backtraces on (expected failures must not print one). */
async function deno(args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { RUST_BACKTRACE: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}

/**
 * Starts `server` in `dir`, sends a message with `client` (after any `--send` it has already),
 * checks the echoes and a clean stop.
 */
async function roundTrip(dir: string, server: string[], client: string[]): Promise<void> {
  const sent = client.flatMap((arg, i) => client[i - 1] === "--send" ? [arg] : []);
  const running = new BackgroundProgram([...server, ...LISTEN], dir);
  const line = await running.waitForLine(/listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/:(\d+) /)![1];
  const result = await new Deno.Command(client[0], {
    args: [...client.slice(1), "--port", port, "--ca", "certs/ca.pem", "--send", "héllo"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  assertEquals(new TextDecoder().decode(result.stdout), [...sent, "héllo", ""].join("\n"), stderr);
  assertEquals(result.code, 0, stderr);
  running.kill("SIGTERM");
  assertEquals((await running.exited()).code, 0, running.stderr.join("\n"));
  const warnings = running.stdout.filter((line) => /warning|Requires/i.test(line));
  assertEquals(warnings, [], "the README's permissions are all the server needs");
}

Deno.test("the README's commands run the bundles from a directory holding only dist/", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-bundle-" });
  try {
    // `deno task bundle` exactly as deno.json has it, writing into DIR/dist instead of ./dist.
    for (const command of TASKS.bundle.split("&&")) {
      const args = command.trim().split(/\s+/).slice(1).map((arg) =>
        arg.replace(/^dist\//, `${dir}/dist/`)
      );
      const result = await deno(args);
      assertEquals(result.code, 0, result.output);
    }
    const [server, client] = ["tlspush-server.js", "tlspush-client.js"].map((file) => {
      const [program, ...args] = readmeRunCommand(file);
      assertEquals(program, "deno");
      return [Deno.execPath(), ...args];
    });
    assertEquals(
      server.filter((arg) => arg.startsWith("--allow-")),
      TASKS.server.split(/\s+/).filter((arg) => arg.startsWith("--allow-")),
      "the README grants the bundled server what deno task server grants",
    );
    await roundTrip(dir, server, client);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether dl.deno.land, where `deno compile` gets its runtime base, answers from here. */
async function runtimeBaseReachable(): Promise<boolean> {
  try {
    const response = await fetch("https://dl.deno.land/", {
      method: "HEAD",
      signal: AbortSignal.timeout(15_000),
    });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

Deno.test("deno task compile: binaries that run without the source tree, or one clear line offline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-compile-" });
  try {
    const reachable = await runtimeBaseReachable();
    const result = await deno(["task", "compile", "--output-dir", dir]);
    if (reachable) {
      assertEquals(result.code, 0, result.output);
      await roundTrip(dir, [`${dir}/tlspush-server`], [`${dir}/tlspush-client`]);
      return;
    }
    assertEquals(result.code, 1, result.output);
    const lines = result.output.trim().split("\n").filter((line) => !line.startsWith("Task "));
    assertEquals(lines.length, 1, result.output);
    assert(
      /^compile: could not download Deno's runtime base \(denort\) from https:\/\/dl\.deno\.land\/\S+ \(.+\): run deno task compile on a machine that reaches dl\.deno\.land, .*DENORT_BIN=/
        .test(lines[0]),
      lines[0],
    );
    assert(!/Stack backtrace|Caused by/.test(result.output), result.output);
    assertEquals([...Deno.readDirSync(dir)], [], "nothing half-written is left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
