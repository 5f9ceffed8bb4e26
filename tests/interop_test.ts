/**
 * Wire compatibility with peers that share no code with tlspush: a Node.js client written
 * from DESIGN.md alone against the tlspush server, and the tlspush client against the
 * Node.js reference server of the benchmarks, and a Python protocol v2 peer.
 */
import { assertEquals } from "./assert.ts";
import { runProgram, ServerProcess } from "./processes.ts";
import { BackgroundProgram } from "./processes.ts";
import { testCertsDir } from "./helpers.ts";

const MESSAGES = ["first, one byte per write", "", "ünïcode — ✓ 🚀", "x".repeat(70_000)];

async function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command("node", { args, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("a Node.js client written from DESIGN.md alone talks to the tlspush server", async () => {
  const certsDir = await testCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const result = await node([
    "tests/interop/node_client.mjs",
    String(server.port),
    `${certsDir}/ca.pem`,
    ...MESSAGES,
  ]);
  assertEquals(result.code, 0, result.stderr);
  const echoed = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(echoed, MESSAGES);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("the tlspush client talks to the Node.js reference server", async () => {
  const certsDir = await testCertsDir();
  const reference = new BackgroundProgram([
    "node",
    "bench/reference/server.mjs",
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--cert",
    `${certsDir}/server.pem`,
    "--key",
    `${certsDir}/server-key.pem`,
  ]);
  const line = await reference.waitForLine(/listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/listening on 127\.0\.0\.1:(\d+)/)![1];
  const sends = MESSAGES.flatMap((message) => ["--send", message]);
  const client = await runProgram("client.ts", [
    "--port",
    port,
    "--ca",
    `${certsDir}/ca.pem`,
    ...sends,
  ]);
  assertEquals(client.code, 0, client.stderr);
  assertEquals(client.stdout, MESSAGES.map((message) => message + "\n").join(""));
  reference.kill("SIGTERM");
  await reference.exited();
});

Deno.test("a client that half-closes and then reads slowly still gets every echo", async () => {
  const certsDir = await testCertsDir();
  // 16 MiB of echoes against a 0.5 s drain timeout: far more than the socket buffers hold, read
  // in small steps, so the server's queue drains for seconds, with progress in every 0.5 s.
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--drain-timeout", "0.5"]);
  const result = await node([
    "tests/interop/slow_reader.mjs",
    String(server.port),
    `${certsDir}/ca.pem`,
    "256",
    String(64 * 1024),
    "2",
  ]);
  assertEquals([result.code, result.stdout.trim()], [0, "256"], result.stderr);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("an independent v2 peer (Python's ssl with ALPN) written from DESIGN.md alone", async () => {
  const certsDir = await testCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--no-ws", "--relay"]);
  try {
    const output = await new Deno.Command("python3", {
      args: ["tests/interop/v2_peer.py", "127.0.0.1", String(server.port), `${certsDir}/ca.pem`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assertEquals(
      [output.code, decode(output.stdout)],
      [0, "ok\n"],
      decode(output.stdout) + decode(output.stderr),
    );
  } finally {
    assertEquals((await server.stop()).code, 0);
  }
});
