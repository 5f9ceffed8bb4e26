/**
 * The web endpoint as a user meets it, through the real server program: the log lines, the
 * admin token from the environment (never printed), clean failures for a busy `--ws-port` or a
 * weak token, and the bundled program serving its embedded pages from an empty directory.
 */
import { assert, assertEquals } from "./assert.ts";
import { BackgroundProgram, runProgram, ServerProcess } from "./processes.ts";
import { assertOneCleanLine, waitFor } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TOKEN = "token-from-the-environment-42";

/** Fetches `url` trusting `caFile` only; returns the status and the body as text. */
async function fetchWithCa(
  url: string,
  caFile: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string }> {
  using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
  const response = await fetch(url, { ...init, client, redirect: "manual" });
  return { status: response.status, body: await response.text() };
}

Deno.test("TLSPUSH_ADMIN_TOKEN is used, never printed, and opens /metrics", async () => {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-web-cli-" });
  Deno.env.set("TLSPUSH_ADMIN_TOKEN", TOKEN);
  let server: ServerProcess;
  try {
    server = await ServerProcess.start(["--certs-dir", certsDir]);
  } finally {
    Deno.env.delete("TLSPUSH_ADMIN_TOKEN");
  }
  const line = await server.waitForLine(/wss listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/wss listening on 127\.0\.0\.1:(\d+)/)![1];
  await server.waitForLine(/dashboard: https:\/\/127\.0\.0\.1:\d+\/admin \(token from/);
  const metrics = await fetchWithCa(`https://localhost:${port}/metrics`, `${certsDir}/ca.pem`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assertEquals(metrics.status, 200);
  assert(metrics.body.includes("tlspush_connected_clients"));
  assertEquals((await server.stop()).code, 0);
  assert(!server.stdout.some((text) => text.includes(TOKEN)));
  assert(!server.stderr.some((text) => text.includes(TOKEN)));
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a busy --ws-port and a weak --admin-token fail with one clear line", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-web-cli-" });
  const common = ["--hostname", "127.0.0.1", "--port", "0", "--certs-dir", certsDir];
  const inUse = await runProgram("server.ts", [...common, "--ws-port", String(busy.addr.port)]);
  busy.close();
  assertEquals(inUse.code, 1);
  assertOneCleanLine(
    inUse.stderr,
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.addr.port} \\(--ws-port\\): address`),
  );
  const weak = await runProgram("server.ts", [...common, "--admin-token", "short"]);
  assertEquals(weak.code, 2);
  assertOneCleanLine(weak.stderr, /--admin-token must be at least 16 characters/);
  assert(!weak.stderr.includes("short"));
  const badPort = await runProgram("server.ts", [...common, "--ws-port", "70000"]);
  assertEquals(badPort.code, 2);
  assertOneCleanLine(badPort.stderr, /--ws-port must be from 0 to 65535/);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("the bundled server serves its embedded pages and chart library from an empty directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-web-bundle-" });
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "--output", `${dir}/tlspush-server.js`, "server.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
  const server = new BackgroundProgram([
    Deno.execPath(),
    "run",
    "--no-config",
    "--allow-net",
    "--allow-read=.",
    "--allow-write=.",
    "--allow-sys=hostname",
    "tlspush-server.js",
    ...["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0", "--certs-dir", "certs"],
  ], dir);
  const line = await server.waitForLine(/wss listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/wss listening on 127\.0\.0\.1:(\d+)/)![1];
  const token = (await server.waitForLine(/admin\?token=/)).match(/token=(\S+)/)![1];
  const ca = `${dir}/certs/ca.pem`;
  for (
    const [path, marker] of [
      ["/", "<title>tlspush client</title>"],
      ["/client.js", "textContent"],
      ["/uplot.js", "leeoniya/uPlot"],
      ["/uplot.css", ".uplot"],
      ["/style.css", ".state"],
    ]
  ) {
    const response = await fetchWithCa(`https://localhost:${port}${path}`, ca);
    assertEquals(response.status, 200, path);
    assert(response.body.includes(marker), path);
  }
  const admin = await fetchWithCa(`https://localhost:${port}/admin`, ca, {
    headers: { authorization: `Bearer ${token}` },
  });
  assertEquals(admin.status, 200);
  assert(admin.body.includes("<title>tlspush dashboard</title>"));
  server.kill("SIGTERM");
  assertEquals((await server.exited()).code, 0);
  await waitFor(() => server.stdout.some((text) => /stopped/.test(text)), 5000, "stopped");
  await Deno.remove(dir, { recursive: true });
});
