/**
 * Mutual TLS (`--client-ca`, DESIGN §9) over real sockets on 127.0.0.1: a client with a
 * certificate from that CA is accepted and known by its CN (log, peer, dashboard stats); no
 * certificate, one from another CA, or an expired one fails the handshake with a log line; the
 * terminal client's `--cert/--key` and Python's `ssl` (an independent client) both work.
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { connectToServer } from "../client/connect.ts";
import { ensureCertificates, issueClientCertificate } from "../tls/certificates.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { takeStats } from "../web/stats.ts";
import { startTestServer, type TestServer, waitFor } from "./helpers.ts";
import { runProgram } from "./processes.ts";

async function mtlsServer(): Promise<{ server: TestServer; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-mtls-" });
  await ensureCertificates({ certsDir: dir });
  const server = await startTestServer({ certsDir: dir, clientCa: `${dir}/ca.pem` });
  return { server, dir };
}

/** Sends one message with the given client certificate and returns its echo. */
async function echoAs(server: TestServer, certFile?: string, keyFile?: string): Promise<string> {
  const conn = await connectToServer({
    hostname: "localhost",
    port: server.port,
    caFile: server.caFile,
    certFile,
    keyFile,
    timeoutMs: 5000,
  });
  try {
    await conn.write(encodeFrame("hello"));
    const buffer = new Uint8Array(64);
    let got = 0;
    while (got < 9) {
      const count = await conn.read(buffer.subarray(got));
      if (count === null) throw new Deno.errors.UnexpectedEof("closed");
      got += count;
    }
    return new TextDecoder().decode(buffer.subarray(4, got));
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

Deno.test("--client-ca: a certificate from that CA is accepted and its CN is the identity", async () => {
  const { server, dir } = await mtlsServer();
  try {
    const alice = await issueClientCertificate(dir, "alice");
    assertEquals(await echoAs(server, alice.certPath, alice.keyPath), "hello");
    await server.waitForLog(/connected from 127\.0\.0\.1:\d+ as alice \(client certificate\)/);
    // Kept on the peer for permissions, and shown on the dashboard (its stats).
    const conn = await connectToServer({
      hostname: "localhost",
      port: server.port,
      caFile: server.caFile,
      certFile: alice.certPath,
      keyFile: alice.keyPath,
    });
    await waitFor(() => server.hub.size === 1, 5000, "the client");
    assertEquals([...server.hub.peers()].map((peer) => peer.identity), ["alice"]);
    assertEquals(takeStats(server.hub, new Date()).peers[0].identity, "alice");
    conn.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--client-ca: no certificate, another CA's, or an expired one fails the handshake", async () => {
  const { server, dir } = await mtlsServer();
  const otherDir = await Deno.makeTempDir({ prefix: "tlspush-other-ca-" });
  try {
    await assertRejects(echoAs(server));
    await server.waitForLog(/with 127\.0\.0\.1:\d+ refused: no client certificate/);
    const stranger = await issueClientCertificate(otherDir, "mallory");
    await assertRejects(echoAs(server, stranger.certPath, stranger.keyPath));
    // Deno's node:tls does not say which check failed: the line says both.
    const refused = /TLS handshake with 127\.0\.0\.1:\d+ refused: client certificate refused/;
    await server.waitForLog(refused);
    const expired = await issueClientCertificate(dir, "old", -60_000);
    await assertRejects(echoAs(server, expired.certPath, expired.keyPath));
    await waitFor(() => server.log.filter((line) => refused.test(line)).length >= 2, 5000, "2nd");
    assertEquals(server.hub.size, 0);
    assert(!server.log.some((line) => /connected from .* as (mallory|old)/.test(line)));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(otherDir, { recursive: true });
  }
});

Deno.test("--client-ca: the terminal client with --cert/--key, and a reload in place", async () => {
  const { server, dir } = await mtlsServer();
  try {
    const bob = await issueClientCertificate(dir, "bob");
    const result = await runProgram("client.ts", [
      ...["--hostname", "localhost", "--port", String(server.port), "--ca", server.caFile],
      ...["--cert", bob.certPath, "--key", bob.keyPath, "--send", "one", "--send", "two"],
    ]);
    assertEquals(result.stdout, "one\ntwo\n", result.stderr);
    assertEquals(result.code, 0, result.stderr);
    // The node:tls listener swaps its certificate in place.
    await server.reload();
    await server.waitForLog(/SIGHUP: renewed the server certificate/);
    assertEquals(await echoAs(server, bob.certPath, bob.keyPath), "hello");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--client-ca: Python's ssl module, an independent client, presents its certificate", async () => {
  const { server, dir } = await mtlsServer();
  try {
    const carol = await issueClientCertificate(dir, "carol");
    const script = `
import socket, ssl, struct, sys
context = ssl.create_default_context(cafile=sys.argv[1])
context.load_cert_chain(sys.argv[2], sys.argv[3])
with socket.create_connection(("127.0.0.1", int(sys.argv[4]))) as raw:
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(struct.pack("<i", 6) + b"python")
        data = b""
        while len(data) < 10:
            data += tls.recv(64)
        print(data[4:].decode())
`;
    const output = await new Deno.Command("python3", {
      args: ["-c", script, server.caFile, carol.certPath, carol.keyPath, String(server.port)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(new TextDecoder().decode(output.stdout), "python\n", stderr);
    await server.waitForLog(/as carol \(client certificate\)/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
