import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { readFrames } from "../protocol/frame_reader.ts";

/** Resolves with what a raw socket sees next: EOF (null), an error name, or "open" if nothing. */
async function nextEvent(conn: Deno.Conn, waitMs: number): Promise<string | null> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("open"), waitMs));
  const read = conn.read(new Uint8Array(64)).then(
    (count) => count === null ? null : `data (${count} bytes)`,
    (error) => (error as Error).name,
  );
  return await Promise.race([read, timeout]);
}

Deno.test("--handshake-timeout drops a peer that opens TCP and says nothing", async () => {
  const server = await startTestServer({ handshakeTimeoutMs: 300 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const seen = await nextEvent(silent, 5000);
  assert(seen === null || seen === "ConnectionReset", `the socket was closed: ${seen}`);
  await server.waitForLog(
    /TLS handshake with 127\.0\.0\.1:\d+ not completed within 0\.3 s: dropped/,
  );
  silent.close();
  const client = await TestClient.connect(server); // the server still serves
  await client.send("ok");
  assertEquals(await client.waitForMessages(1), ["ok"]);
  await client.finish();
  await server.shutdown();
});

Deno.test("--max-connections refuses the connection beyond the limit promptly", async () => {
  const server = await startTestServer({ maxConnections: 2 });
  const first = await TestClient.connect(server);
  const second = await TestClient.connect(server);
  await waitFor(() => server.hub.size === 2);
  const third = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const seen = await nextEvent(third, 5000);
  assert(seen === null || seen === "ConnectionReset", `refused: ${seen}`);
  await server.waitForLog(/refused connection from 127\.0\.0\.1:\d+: at --max-connections 2/);
  third.close();
  await first.finish(); // a place frees up
  await waitFor(() => server.hub.size === 1);
  const fourth = await TestClient.connect(server);
  await fourth.send("room again");
  assertEquals(await fourth.waitForMessages(1), ["room again"]);
  await second.finish();
  await fourth.finish();
  await server.shutdown();
});

Deno.test("--idle-timeout closes a silent client and spares a talking one", async () => {
  const server = await startTestServer({ idleTimeoutMs: 400 });
  const silent = await TestClient.connect(server);
  const talking = await TestClient.connect(server);
  for (let i = 0; i < 8; i++) {
    await talking.send(`tick ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await silent.closed; // closed by the server, cleanly
  await server.waitForLog(/client #1 .* closed: idle for 0\.4 s/);
  assertEquals(await talking.waitForMessages(8), Array.from({ length: 8 }, (_, i) => `tick ${i}`));
  assert(!server.log.some((line) => /client #2 .* closed/.test(line)), "the talker is still on");
  await talking.finish();
  await server.shutdown();
});

Deno.test("a client that never reads is cut off as a slow consumer; others get every broadcast", async () => {
  const server = await startTestServer({ maxPending: 64 * 1024 });
  const healthy = await TestClient.connect(server);
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.port }).then(
    (tcp) =>
      Deno.startTls(tcp, {
        hostname: "localhost",
        caCerts: [Deno.readTextFileSync(server.caFile)],
      }),
  );
  await stalled.handshake(); // and then never reads
  await waitFor(() => server.hub.size === 2);
  // Paced as a real feed would be: the healthy client keeps up, the stalled one cannot.
  const message = "b".repeat(32 * 1024);
  const total = 300;
  for (let i = 0; i < total; i++) {
    server.broadcast(`${i} ${message}`);
    await healthy.waitForMessages(i + 1);
  }
  await server.waitForLog(
    /client #2 .* closed: slow consumer: .* already queued \(limit 64\.0 KiB\)/,
  );
  const order = healthy.received.map((line) => Number(line.split(" ")[0]));
  assertEquals(order, Array.from({ length: total }, (_, i) => i));
  assert(!server.log.some((line) => /client #1 .* closed/.test(line)), "the healthy one stayed");
  stalled.close();
  await healthy.finish();
  await server.shutdown();
});

Deno.test("a client echoing one message larger than --max-pending is not cut off by a broadcast", async () => {
  const server = await startTestServer({ maxPending: 64 * 1024 });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const conn = await Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [await Deno.readTextFile(server.caFile)],
  });
  await conn.handshake();
  // One legal 12 MiB message; its echo waits in the server's queue while we are not reading.
  const large = encodeFrame("L".repeat(12 << 20));
  let written = 0;
  while (written < large.length) written += await conn.write(large.subarray(written));
  await waitFor(() => server.hub.totals.messagesIn === 1, 20_000, "the message to arrive");
  assertEquals((await server.broadcast("small broadcast")).delivered, 1);
  const received: number[] = [];
  for await (const payload of readFrames(conn, { maxFrame: 16 << 20 })) {
    received.push(payload.length);
    if (received.length === 2) break;
  }
  assertEquals(received, [12 << 20, 15]);
  assert(!server.log.some((line) => /slow consumer/.test(line)), server.log.join("\n"));
  conn.close();
  await server.shutdown();
});

Deno.test("--max-connections counts WebSocket clients too", async () => {
  const { rawUpgrade, WsTestClient } = await import("./web_helpers.ts");
  const server = await startTestServer({ maxConnections: 2 });
  const tls = await TestClient.connect(server);
  const ws = await WsTestClient.connect(server);
  // Refused either way: a 503 if its request came first, its socket shut if the guard's sweep did.
  const refused = await rawUpgrade(server, "/ws").catch(() => undefined);
  assert([undefined, 0, 503].includes(refused?.status), `refused: ${refused?.status}`);
  refused?.conn.close();
  await server.waitForLog(
    /refused HTTPS\/WebSocket connection from 127\.0\.0\.1:\d+: at --max-connections 2/,
  );
  await ws.close();
  await waitFor(() => server.hub.size === 1);
  const again = await WsTestClient.connect(server); // a place freed up
  // Now full with one TLS and one WebSocket client: a TLS connection is refused as well.
  const third = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const seen = await nextEvent(third, 5000);
  assert(seen === null || seen === "ConnectionReset", `refused: ${seen}`);
  await server.waitForLog(/refused connection from 127\.0\.0\.1:\d+: at --max-connections 2/);
  third.close();
  await again.close();
  await tls.finish();
  await server.shutdown();
});

Deno.test("--max-connections counts web port sockets that have not made a request yet", async () => {
  const { webPort } = await import("./web_helpers.ts");
  const server = await startTestServer({ maxConnections: 2 });
  const silent = await Promise.all(
    [1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port: webPort(server) })),
  );
  // Once the web port's guard has seen both (it looks every 50 ms to 1 s), the TLS port is full.
  let refused = false;
  for (let attempt = 0; attempt < 20 && !refused; attempt++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const seen = await nextEvent(conn, 500);
    refused = seen === null || seen === "ConnectionReset";
    conn.close();
  }
  assert(refused, "a TLS connection was refused while two silent web sockets held the budget");
  await server.waitForLog(/refused connection from 127\.0\.0\.1:\d+: at --max-connections 2/);
  for (const conn of silent) conn.close();
  // Their places come back once the guard sees them gone: a TLS client gets in again.
  let client: TestClient | undefined;
  for (let attempt = 0; attempt < 40 && !client; attempt++) {
    client = await TestClient.connect(server).catch(() => undefined);
    if (!client) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert(client, "a TLS client got a place again");
  await client.send("in");
  assertEquals(await client.waitForMessages(1), ["in"]);
  await client.finish();
  await server.shutdown();
});
