/**
 * The cost of mutual TLS: the `node:tls` listener (`--client-ca`) against the default
 * `Deno.listenTls` one, on handshakes (connect, handshake, one echo, close) and echo throughput
 * (64-byte messages, pipelined on 4 connections); and the client's first exchange with a
 * certificate (`node:tls` with Nagle off) against `Deno.connectTls` (Nagle on). In one process
 * on 127.0.0.1; prints one line per figure.
 *
 * @example
 * ```sh
 * deno run -A bench/mtls.ts
 * ```
 * @module
 */
import { connectToServer } from "../client/connect.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { type RunningServer, startServer } from "../server/start_server.ts";
import { SERVER_DEFAULTS } from "../server/config.ts";
import { ensureCertificates, issueClientCertificate } from "../tls/certificates.ts";
import { Logger } from "../util/logger.ts";

const HANDSHAKES = 300;
const ECHO_MESSAGES = 200_000;
const CONNECTIONS = 4;

const dir = await Deno.makeTempDir({ prefix: "tlspush-bench-mtls-" });
await ensureCertificates({ certsDir: dir });
const client = await issueClientCertificate(dir, "bench");
const caFile = `${dir}/ca.pem`;

async function echoOnce(conn: Deno.Conn, frame: Uint8Array): Promise<void> {
  await conn.write(frame);
  const buffer = new Uint8Array(frame.length);
  let got = 0;
  while (got < frame.length) {
    const count = await conn.read(buffer.subarray(got));
    if (count === null) throw new Error("closed");
    got += count;
  }
}

/** A quiet server on a free port, with client certificates required when `mtls`. */
function quietServer(mtls: boolean): Promise<RunningServer> {
  return startServer({
    ...SERVER_DEFAULTS,
    hostname: "127.0.0.1",
    port: 0,
    ws: false,
    certsDir: dir,
    clientCa: mtls ? caFile : undefined,
    maxConnections: 0,
  }, new Logger({ write: () => {} }));
}

async function measure(mtls: boolean): Promise<void> {
  const server = await quietServer(mtls);
  const port = server.address.port;
  const connect = () =>
    connectToServer({
      hostname: "localhost",
      port,
      caFile,
      ...(mtls ? { certFile: client.certPath, keyFile: client.keyPath } : {}),
    });
  const small = encodeFrame("x".repeat(64));
  let start = performance.now();
  for (let i = 0; i < HANDSHAKES; i++) {
    const conn = await connect();
    await echoOnce(conn, small);
    conn.close();
  }
  const handshakes = HANDSHAKES / ((performance.now() - start) / 1000);
  const conns = await Promise.all([...Array(CONNECTIONS)].map(connect));
  const batch = new Uint8Array(small.length * 100);
  for (let i = 0; i < 100; i++) batch.set(small, i * small.length);
  start = performance.now();
  await Promise.all(conns.map(async (conn) => {
    for (let sent = 0; sent < ECHO_MESSAGES / CONNECTIONS; sent += 100) await echoOnce(conn, batch);
  }));
  const echo = ECHO_MESSAGES / ((performance.now() - start) / 1000);
  for (const conn of conns) conn.close();
  await server.shutdown();
  const name = mtls ? "node:tls (--client-ca)" : "Deno.listenTls (default)";
  console.log(
    `${name}: ${handshakes.toFixed(0)} handshakes/s, ${(echo / 1000).toFixed(0)}k echoes/s ` +
      `(64 B, ${CONNECTIONS} connections)`,
  );
}

/** First exchange with a client certificate: Deno.connectTls (Nagle on) vs node:tls. */
async function firstExchange(): Promise<void> {
  const server = await quietServer(true);
  const port = server.address.port;
  const [ca, cert, key] = await Promise.all(
    [caFile, client.certPath, client.keyPath].map((path) => Deno.readTextFile(path)),
  );
  const frame = encodeFrame("hello");
  const times = { deno: [] as number[], node: [] as number[] };
  for (let i = 0; i < 10; i++) {
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca], cert, key });
    await conn.handshake();
    let start = performance.now();
    await echoOnce(conn, frame);
    times.deno.push(performance.now() - start);
    conn.close();
    const viaNode = await connectToServer({
      hostname: "localhost",
      port,
      caFile,
      certFile: client.certPath,
      keyFile: client.keyPath,
    });
    start = performance.now();
    await echoOnce(viaNode, frame);
    times.node.push(performance.now() - start);
    viaNode.close();
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
  console.log(
    `first exchange with a client certificate (median of 10, after the handshake): ` +
      `Deno.connectTls ${median(times.deno).toFixed(1)} ms, ` +
      `node:tls + setNoDelay ${median(times.node).toFixed(1)} ms`,
  );
  await server.shutdown();
}

await measure(false);
await measure(true);
await firstExchange();
await Deno.remove(dir, { recursive: true });
