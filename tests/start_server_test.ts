import { assert, assertEquals } from "./assert.ts";
import { header, startTestServer, TestClient, waitFor } from "./helpers.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame } from "../protocol/framing.ts";

Deno.test("echo: every frame comes back unchanged and in order, whatever its size or script", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  const messages = [
    "hello",
    "",
    "héllo wörld — ✓ 日本語 🚀",
    "x".repeat(1 << 20), // 1 MiB
    "after the big one",
  ];
  await client.send(...messages);
  assertEquals(await client.waitForMessages(messages.length), messages);
  await client.finish();
  await server.shutdown();
});

Deno.test("echo: frames sent one byte per write still come back whole", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  const wire = concatBytes([encodeFrame("split"), encodeFrame(""), encodeFrame("€")]);
  for (const byte of wire) await client.sendRaw(new Uint8Array([byte]));
  assertEquals(await client.waitForMessages(3), ["split", "", "€"]);
  await client.finish();
  await server.shutdown();
});

Deno.test("echo: thousands of pipelined frames arrive in order", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  const messages = Array.from({ length: 5000 }, (_, i) => `message ${i}`);
  for (let i = 0; i < messages.length; i += 500) await client.send(...messages.slice(i, i + 500));
  assertEquals(await client.waitForMessages(messages.length), messages);
  await client.finish();
  await server.shutdown();
});

Deno.test("broadcast reaches every connected client exactly once", async () => {
  const server = await startTestServer();
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await TestClient.connect(server));
  await waitFor(() => server.hub.size === 5);
  assertEquals((await server.broadcast("to everyone")).delivered, 5);
  assertEquals((await server.broadcast("ünïcode too")).delivered, 5);
  for (const client of clients) {
    assertEquals(await client.waitForMessages(2), ["to everyone", "ünïcode too"]);
  }
  await server.waitForLog(/broadcast 11 B to 5 clients/);
  for (const client of clients) await client.finish();
  await server.shutdown();
});

for (
  const [name, bytes, reason] of [
    ["an oversize header", header(2 ** 31 - 1), /exceeds the maximum/],
    ["a negative length", header(-5), /negative frame length -5/],
    ["invalid UTF-8", concatBytes([header(2), new Uint8Array([0xc3, 0x28])]), /not valid UTF-8/],
  ] as const
) {
  Deno.test(`${name} closes only that connection; the others keep working`, async () => {
    const server = await startTestServer();
    const good = await TestClient.connect(server);
    const bad = await TestClient.connect(server);
    await waitFor(() => server.hub.size === 2);
    await bad.send("valid first");
    await bad.sendRaw(bytes);
    await bad.closed; // the server closed it
    assertEquals(bad.received, ["valid first"], "frames before the bad one were echoed");
    await server.waitForLog(reason);
    assert(
      server.log.some((line) => /error: client #2 127\.0\.0\.1:\d+: protocol error/.test(line)),
    );
    await good.send("still here");
    assertEquals(await good.waitForMessages(1), ["still here"]);
    assertEquals((await server.broadcast("broadcast")).delivered, 1);
    assertEquals(await good.waitForMessages(2), ["still here", "broadcast"]);
    await good.finish();
    await server.shutdown();
  });
}

Deno.test("a client that vanishes mid-frame is logged and does not hurt the server", async () => {
  const server = await startTestServer();
  const good = await TestClient.connect(server);
  await waitFor(() => server.hub.size === 1);
  // A separate Node.js process: it can drop its socket without a TLS close_notify.
  const vanishing = await new Deno.Command("node", {
    args: ["tests/interop/vanishing_client.mjs", String(server.port), server.caFile],
    stdout: "null",
  }).output();
  assertEquals(vanishing.code, 0, new TextDecoder().decode(vanishing.stderr));
  await server.waitForLog(/client #2 .* closed: connection lost/);
  assertEquals(server.hub.size, 1);
  await good.send("fine");
  assertEquals(await good.waitForMessages(1), ["fine"]);
  await good.finish();
  await server.shutdown();
});

Deno.test("a client that ends its stream mid-frame is a protocol error (TruncatedFrameError)", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  await waitFor(() => server.hub.size === 1);
  await client.sendRaw(concatBytes([header(100), new TextEncoder().encode("only part")]));
  await client.finish(); // close_notify after 9 of 100 bytes: a clean end, in the middle of a frame
  await server.waitForLog(
    /error: client #1 .*: protocol error: connection ended in the middle of a frame \(13 bytes of it arrived\)/,
  );
  await server.waitForLog(/client #1 .* closed: protocol error: connection ended in the middle/);
  await server.shutdown();
});

Deno.test("a clean half-close gets every pending echo before the server closes", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  const messages = Array.from({ length: 200 }, (_, i) => "m".repeat(i * 100));
  await client.send(...messages);
  await client.finish(); // closeWrite right after sending, then wait for the server to close
  assertEquals(client.received, messages);
  await server.waitForLog(/closed: peer closed the connection \(200 messages in, 200 out/);
  await server.shutdown();
});

Deno.test("shutdown closes every client cleanly with close_notify", async () => {
  const server = await startTestServer();
  const clients = [await TestClient.connect(server), await TestClient.connect(server)];
  await waitFor(() => server.hub.size === 2);
  server.broadcast("last words");
  await server.shutdown();
  for (const client of clients) {
    await client.closed; // resolves on a clean end of stream, rejects on an abrupt one
    assertEquals(client.received, ["last words"]);
    client.close();
  }
  assert(server.log.some((line) => line.endsWith("stopped")));
});

Deno.test("--relay pushes each client message to every other client as well", async () => {
  const server = await startTestServer({ relay: true });
  const alice = await TestClient.connect(server);
  const bob = await TestClient.connect(server);
  await waitFor(() => server.hub.size === 2);
  await alice.send("hi bob");
  assertEquals(await alice.waitForMessages(1), ["hi bob"]);
  assertEquals(await bob.waitForMessages(1), ["hi bob"]);
  await alice.finish();
  await bob.finish();
  await server.shutdown();
});

Deno.test("--verbose logs a line per received message, the default does not", async () => {
  for (const verbose of [true, false]) {
    const server = await startTestServer({ verbose });
    const client = await TestClient.connect(server);
    await client.send("abc", "de");
    await client.waitForMessages(2);
    await client.finish();
    const perMessage = server.log.filter((line) => /message of \d+ bytes/.test(line));
    assertEquals(perMessage.length, verbose ? 2 : 0);
    await server.shutdown();
  }
});

Deno.test("while there is traffic a periodic summary is logged, and none while quiet", async () => {
  const server = await startTestServer({ trafficReportMs: 200 });
  const client = await TestClient.connect(server);
  await client.send("one", "two", "three");
  await client.waitForMessages(3);
  const line = await server.waitForLog(/traffic in the last 0\.2 s/);
  assert(/in 3 messages \(11 B\), out 3 messages \(11 B\); 1 connected/.test(line), line);
  const summaries = () => server.log.filter((l) => /traffic in the last/.test(l)).length;
  const seen = summaries();
  await new Promise((resolve) => setTimeout(resolve, 700)); // quiet for three intervals
  assertEquals(summaries(), seen, "no summary without traffic");
  await client.finish();
  await server.shutdown();
});
