import { assert, assertEquals } from "./assert.ts";
import { ServerProcess } from "./processes.ts";
import { waitFor } from "./helpers.ts";
import { REPEAT_WINDOW_MS } from "../cli/stop_signals.ts";

/** A TLS client that completes its handshake and then never reads. */
async function stalledClient(port: number, caFile: string): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const tls = Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [await Deno.readTextFile(caFile)],
  });
  const conn = await tls;
  await conn.handshake();
  return conn;
}

/** Starts a server, parks a stalled client on it and fills that client's queue. */
async function serverWithBacklog(args: string[]) {
  const certsDir = await Deno.makeTempDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, ...args]);
  const stalled = await stalledClient(server.port, `${certsDir}/ca.pem`);
  await server.waitForLine(/connected from/);
  const line = "q".repeat(60_000);
  for (let i = 0; i < 150; i++) await server.type(line); // ~9 MB: more than the socket buffers
  await server.waitForLine(/broadcast 58\.6 KiB to 1 client/);
  await waitFor(() => server.stdout.filter((l) => /broadcast/.test(l)).length === 150, 20_000);
  return { server, stalled, certsDir };
}

Deno.test("SIGTERM with a client that stopped reading: drains up to --drain-timeout, exits 0", async () => {
  const { server, stalled, certsDir } = await serverWithBacklog(["--drain-timeout", "1"]);
  server.kill("SIGTERM");
  const status = await server.exited(15_000);
  assertEquals(status.code, 0);
  assert(server.stdout.some((line) => /shutting down: closing 1 connection/.test(line)));
  assert(server.stdout.some((line) => /closed: server shutting down/.test(line)));
  stalled.close();
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a second signal, later than the first, exits at once instead of waiting for the drain", async () => {
  const { server, stalled, certsDir } = await serverWithBacklog(["--drain-timeout", "120"]);
  server.kill("SIGTERM");
  await server.waitForLine(/shutting down/);
  server.kill("SIGINT"); // at once: the same request to stop (cli/stop_signals.ts), ignored
  await new Promise((resolve) => setTimeout(resolve, REPEAT_WINDOW_MS + 500));
  assert(!server.stdout.some((line) => / stopped$/.test(line)), "still draining");
  server.kill("SIGINT");
  const status = await server.exited(15_000); // far less than the 120 s drain
  assertEquals(status.code, 1);
  stalled.close();
  await Deno.remove(certsDir, { recursive: true });
});
