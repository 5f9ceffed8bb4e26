/**
 * Certificates without restarts (DESIGN §9), over real sockets on 127.0.0.1: the generated leaf
 * renewed while clients stay connected, `--cert/--key` reloaded by SIGHUP (a real server
 * process) and by a change on disk, a broken pair refused, and no connection refused across
 * reloads on either port.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { ensureCertificates } from "../tls/certificates.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { ServerProcess } from "./processes.ts";
import { webFetch, WsTestClient } from "./web_helpers.ts";

/** A fresh CA directory with a leaf for localhost, as a user's `--cert/--key` would be. */
async function userPair(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-user-cert-" });
  await ensureCertificates({ certsDir: dir, names: ["localhost", "127.0.0.1"] });
  return { dir, cert: `${dir}/server.pem`, key: `${dir}/server-key.pem` };
}

/** Issues another leaf from the same CA and returns its PEMs. */
async function nextPair(dir: string): Promise<{ cert: string; key: string }> {
  const made = await ensureCertificates({ certsDir: dir, names: ["localhost", "127.0.0.1"] });
  return { cert: made.cert, key: made.key };
}

async function expiryOnMetrics(server: Awaited<ReturnType<typeof startTestServer>>) {
  const response = await webFetch(server, "/metrics", {
    headers: { authorization: `Bearer ${server.web!.auth.token}` },
  });
  const text = await response.text();
  const value = (listener: string) =>
    Number(
      text.match(
        new RegExp(`tlspush_certificate_expiry_seconds\\{listener="${listener}"\\} (\\S+)`),
      )
        ?.[1],
    );
  return { tls: value("tls"), wss: value("wss") };
}

Deno.test("the generated leaf is renewed before it expires while clients stay connected", async () => {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-renew-" });
  // 3 s of life: renewed every 2 s (two thirds), well before it could expire.
  const server = await startTestServer({ certsDir, leafLifetimeMs: 3000 });
  try {
    const caFile = `${certsDir}/ca.pem`;
    const staying = await TestClient.connect({ port: server.port, caFile });
    const ws = await WsTestClient.connect(server);
    const first = await expiryOnMetrics(server);
    for (let renewal = 1; renewal <= 3; renewal++) {
      await waitFor(
        () =>
          server.log.filter((line) => /renewed the server certificate/.test(line)).length >=
            renewal,
        10_000,
        `renewal ${renewal}`,
      );
      // A new client trusts the renewed leaf; the one connected all along still echoes.
      const fresh = await TestClient.connect({ port: server.port, caFile });
      await fresh.send(`new ${renewal}`);
      assertEquals(await fresh.waitForMessages(1), [`new ${renewal}`]);
      await fresh.finish();
      await staying.send(`still ${renewal}`);
      await staying.waitForMessages(renewal);
    }
    const later = await expiryOnMetrics(server);
    assert(later.tls > first.tls && later.wss > first.wss, JSON.stringify({ first, later }));
    assertEquals(staying.received, ["still 1", "still 2", "still 3"]);
    await ws.close();
    await staying.finish();
  } finally {
    await server.shutdown();
    await Deno.remove(certsDir, { recursive: true });
  }
});

Deno.test("--cert/--key: a change on disk is served, a broken pair is refused and the old one kept", async () => {
  const pair = await userPair();
  const server = await startTestServer({ cert: pair.cert, key: pair.key, certsDir: pair.dir });
  const caFile = `${pair.dir}/ca.pem`;
  try {
    const before = await expiryOnMetrics(server);
    const next = await nextPair(pair.dir); // rewrites server.pem and server-key.pem in place
    await server.waitForLog(/certificate files changed: reloaded/);
    const after = await expiryOnMetrics(server);
    assert(after.tls >= before.tls, "the new certificate is on /metrics");
    // A key that does not belong to the certificate: refused, the current pair kept.
    const other = await userPair();
    await Deno.writeTextFile(pair.key, await Deno.readTextFile(other.key));
    await server.waitForLog(/kept the current certificate: .*key does not belong/);
    await Deno.writeTextFile(pair.cert, "-----BEGIN CERTIFICATE-----\nnot one\n");
    await server.waitForLog(/kept the current certificate: .*does not parse/);
    const client = await TestClient.connect({ port: server.port, caFile });
    await client.send("served by the last good pair");
    assertEquals(await client.waitForMessages(1), ["served by the last good pair"]);
    await client.finish();
    assert(next.cert.length > 0);
    await Deno.remove(other.dir, { recursive: true });
  } finally {
    await server.shutdown();
    await Deno.remove(pair.dir, { recursive: true });
  }
});

Deno.test("no connection is refused across 10 reloads, and established ones keep working", async () => {
  const server = await startTestServer({});
  try {
    const staying = await TestClient.connect(server);
    const ws = await WsTestClient.connect(server);
    let attempts = 0;
    const failures: string[] = [];
    let stop = false;
    const tlsWorker = async () => {
      while (!stop) {
        attempts++;
        try {
          const client = await TestClient.connect({ port: server.port, caFile: server.caFile });
          await client.send("x");
          await client.waitForMessages(1);
          await client.finish();
        } catch (error) {
          failures.push(`tls: ${error}`);
        }
      }
    };
    const webWorker = async () => {
      while (!stop) {
        attempts++;
        try {
          const response = await webFetch(server, "/");
          await response.body?.cancel();
          if (response.status !== 200) failures.push(`https: status ${response.status}`);
        } catch (error) {
          failures.push(`https: ${error}`);
        }
      }
    };
    const workers = [...Array(6)].map(tlsWorker).concat([...Array(2)].map(webWorker));
    for (let reload = 1; reload <= 10; reload++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await server.reload();
      await staying.send(`after ${reload}`);
      await ws.send(`ws after ${reload}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop = true;
    await Promise.all(workers);
    console.log(`reloads: 10, connections attempted: ${attempts}, failed: ${failures.length}`);
    assertEquals(failures, []);
    assert(attempts > 20, `only ${attempts} connections attempted`);
    assertEquals(server.log.filter((line) => /SIGHUP: renewed/.test(line)).length, 10);
    await staying.waitForMessages(10);
    await ws.waitForMessages(10);
    await ws.close();
    await staying.finish();
  } finally {
    await server.shutdown();
  }
});

Deno.test("SIGHUP on a real server process reloads --cert/--key", async () => {
  const pair = await userPair();
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-sighup-" });
  const server = await ServerProcess.start([
    "--cert",
    pair.cert,
    "--key",
    pair.key,
    "--certs-dir",
    certsDir,
  ]);
  try {
    const caFile = `${pair.dir}/ca.pem`;
    const staying = await TestClient.connect({ port: server.port, caFile });
    server.kill("SIGHUP");
    await server.waitForLine(/SIGHUP: .* unchanged/);
    // Renewed by certbot, say: new files, then the deploy hook's SIGHUP.
    const next = await ensureCertificates({ certsDir: `${pair.dir}/next`, names: ["localhost"] });
    await Deno.writeTextFile(pair.cert, next.cert);
    await Deno.writeTextFile(pair.key, next.key);
    server.kill("SIGHUP");
    await server.waitForLine(/(SIGHUP|certificate files changed): reloaded/);
    const fresh = await TestClient.connect({
      port: server.port,
      caFile: `${pair.dir}/next/ca.pem`,
    });
    await fresh.send("new certificate");
    assertEquals(await fresh.waitForMessages(1), ["new certificate"]);
    await fresh.finish();
    await staying.send("old connection");
    assertEquals(await staying.waitForMessages(1), ["old connection"]);
    await staying.finish();
  } finally {
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(pair.dir, { recursive: true });
    await Deno.remove(certsDir, { recursive: true });
  }
});
