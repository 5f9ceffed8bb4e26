/**
 * The HTTPS/WebSocket endpoint over real sockets on loopback: WebSocket clients share the hub
 * with TLS clients (echo, broadcast, relay both ways), the protocol limits close with the right
 * codes, slow WebSocket consumers are cut off, shutdown closes them cleanly.
 */
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { rawUpgrade, WsTestClient } from "./web_helpers.ts";

Deno.test("a WebSocket client gets its echoes, in order, and counts as a ws peer", async () => {
  const server = await startTestServer();
  const client = await WsTestClient.connect(server);
  client.send("one", "", "héllo ✓ 🎉");
  assertEquals(await client.waitForMessages(3), ["one", "", "héllo ✓ 🎉"]);
  const peer = [...server.hub.peers()][0];
  assertEquals(peer.transport, "ws");
  assertEquals(peer.counters.messagesIn, 3);
  // UTF-8 bytes, not UTF-16 units: 3 + 0 + (1 + 2 + 1 + 1 + 1 + 1 + 3 + 1 + 4) = 18.
  assertEquals(peer.counters.bytesIn, 18);
  assert(server.log.some((line) => /connected from 127\.0\.0\.1:\d+ over WebSocket/.test(line)));
  assertEquals((await client.close()).code, 1000);
  await server.waitForLog(/closed: peer closed the connection \(close code 1000\)/);
  await server.shutdown();
});

Deno.test("an operator broadcast reaches TLS and WebSocket clients alike", async () => {
  const server = await startTestServer();
  const tls = await TestClient.connect(server);
  const ws = await WsTestClient.connect(server);
  assertEquals((await server.broadcast("to everyone")).delivered, 2);
  assertEquals(await tls.waitForMessages(1), ["to everyone"]);
  assertEquals(await ws.waitForMessages(1), ["to everyone"]);
  tls.close();
  await ws.close();
  await server.shutdown();
});

Deno.test("relay mode crosses transports both ways", async () => {
  const server = await startTestServer({ relay: true });
  const tls = await TestClient.connect(server);
  const ws = await WsTestClient.connect(server);
  ws.send("from the browser");
  await tls.send("from the terminal");
  // Each gets its own echo and the other's message.
  const tlsGot = await tls.waitForMessages(2);
  const wsGot = await ws.waitForMessages(2);
  assertEquals([...tlsGot].sort(), ["from the browser", "from the terminal"]);
  assertEquals([...wsGot].sort(), ["from the browser", "from the terminal"]);
  tls.close();
  await ws.close();
  await server.shutdown();
});

Deno.test("a binary message closes that socket with 1003, others are unaffected", async () => {
  const server = await startTestServer();
  const bystander = await WsTestClient.connect(server);
  const offender = await WsTestClient.connect(server);
  offender.socket.send(new Uint8Array([1, 2, 3]));
  const closed = await offender.closed;
  assertEquals(closed.code, 1003);
  await server.waitForLog(/protocol error: binary WebSocket message/);
  bystander.send("still here");
  assertEquals(await bystander.waitForMessages(1), ["still here"]);
  await bystander.close();
  await server.shutdown();
});

Deno.test("a message over --max-frame bytes closes with 1009; exactly the limit is fine", async () => {
  const server = await startTestServer({ maxFrame: 8 });
  const client = await WsTestClient.connect(server);
  client.send("ééé"); // 6 bytes
  client.send("12345678"); // 8 bytes: at the limit
  assertEquals(await client.waitForMessages(2), ["ééé", "12345678"]);
  client.send("éééé é"); // 6 characters, 11 bytes: over
  assertEquals((await client.closed).code, 1009);
  await server.waitForLog(/message of 11 bytes is larger than the maximum of 8/);
  await server.shutdown();
});

Deno.test("a WebSocket client that stops reading is cut off as a slow consumer (1008)", async () => {
  const server = await startTestServer({ maxPending: 64 * 1024 });
  const stalled = await rawUpgrade(server, "/ws");
  assertEquals(stalled.status, 101);
  await waitFor(() => server.hub.size === 1, 5000, "the peer");
  const chunk = "x".repeat(256 * 1024);
  // Kernel buffers take a few MiB before Deno's send buffer grows: push until the cut (bounded).
  for (let i = 0; i < 200 && server.hub.size === 1; i++) {
    server.broadcast(chunk);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await server.waitForLog(/closed: slow consumer: .* already queued .*\(close code 1008\)/);
  assertEquals(server.hub.size, 0);
  stalled.conn.close();
  await server.shutdown();
});

Deno.test("shutdown closes WebSocket clients with 1001 after flushing", async () => {
  const server = await startTestServer();
  const client = await WsTestClient.connect(server);
  server.broadcast("last words");
  await server.shutdown();
  const closed = await client.closed;
  assertEquals(closed.code, 1001);
  assertEquals(client.received, ["last words"]);
  assert(server.log.some((line) => /closed: server shutting down \(close code 1001\)/.test(line)));
});

Deno.test("--no-ws starts no web endpoint", async () => {
  const server = await startTestServer({ ws: false });
  assertEquals(server.web, undefined);
  assert(!server.log.some((line) => /wss listening/.test(line)));
  await server.shutdown();
});

Deno.test("the log names the wss port and the dashboard URL (with a generated token) once", async () => {
  const server = await startTestServer();
  const port = server.web!.address.port;
  await server.waitForLog(new RegExp(`wss listening on 127\\.0\\.0\\.1:${port} `));
  const token = server.web!.auth.token;
  assertEquals(token.length, 43);
  const dashboard = server.log.filter((line) => line.includes(token));
  assertEquals(dashboard.length, 1);
  assert(dashboard[0].endsWith(`dashboard: https://127.0.0.1:${port}/admin?token=${token}`));
  await server.shutdown();
});

Deno.test("with --plain the web side is plain HTTP and ws://, on the same hub", async () => {
  const server = await startTestServer({ plain: true });
  assert(server.web!.origin.startsWith("http://"));
  const port = server.web!.address.port;
  await server.waitForLog(new RegExp(`ws listening on 127\\.0\\.0\\.1:${port} .*ws://`));
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assertEquals(page.status, 200);
  await page.body?.cancel();
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const received: string[] = [];
  socket.onmessage = (event) => received.push(event.data);
  await new Promise((resolve) => socket.onopen = resolve);
  socket.send("plain echo");
  await waitFor(() => received.length === 1, 5000, "the echo");
  assertEquals(received, ["plain echo"]);
  const closed = new Promise((resolve) => socket.onclose = resolve);
  socket.close();
  await closed;
  await server.shutdown();
});
