/** Protocol v2 (DESIGN.md section 7) over real sockets: negotiation, every command and answer. */
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { WsTestClient } from "./web_helpers.ts";

const V2 = ["tlspush/2"];

/** The sequence number of a `MSG <channel> <seq> ...` or `OK SUB|PUB <channel> <seq>` line. */
function seqOf(line: string): number {
  return Number(line.split(" ")[line.startsWith("OK ") ? 3 : 2]);
}

Deno.test("ALPN tlspush/2: SUB, PUB, MSG, UNSUB, PING answered exactly as the contract says", async () => {
  const server = await startTestServer({ relay: true });
  const a = await TestClient.connect(server, { alpn: V2 });
  const b = await TestClient.connect(server, { alpn: V2 });
  await a.send("SUB metrics");
  await b.send("SUB metrics");
  await waitFor(() => a.received.length === 1 && b.received.length === 1);
  assert(/^OK SUB metrics \d+$/.test(a.received[0]), a.received[0]);
  const next = seqOf(a.received[0]);

  await a.send("PUB metrics cpu 93% on host 7");
  await waitFor(() => a.received.length === 3 && b.received.length === 2);
  // The publisher is subscribed: it gets its own MSG too, before the OK PUB.
  assert(/^MSG metrics \d+ cpu 93% on host 7$/.test(a.received[1]), a.received[1]);
  assertEquals(a.received[2], `OK PUB metrics ${seqOf(a.received[1])}`);
  assertEquals(b.received[1], a.received[1], "every subscriber gets the same MSG");
  assert(seqOf(a.received[1]) >= next, "the first number is at least <next>");

  await a.send("PUB metrics", "PING", "PING ", "PING hello there", "UNSUB metrics");
  await waitFor(() => a.received.length === 9);
  assertEquals(a.received.slice(3, 5).map((line) => line.replace(/ \d+ /, " N ")), [
    "MSG metrics N ", // empty data: the server still writes the space
    `OK PUB metrics ${seqOf(a.received[3])}`,
  ]);
  assertEquals(a.received.slice(5), ["PONG", "PONG ", "PONG hello there", "OK UNSUB metrics"]);
  await b.send("PUB metrics after a left");
  await waitFor(() => b.received.length === 5);
  assert(/^MSG metrics \d+ after a left$/.test(b.received[3]), b.received[3]);
  assertEquals(b.received[4], `OK PUB metrics ${seqOf(b.received[3])}`);
  assert(seqOf(b.received[3]) > seqOf(a.received[3]), "strictly increasing");
  assertEquals(a.received.length, 9, "no MSG after UNSUB");
  await a.finish();
  await b.finish();
  await server.shutdown();
});

Deno.test("ERR answers leave the connection open; v2 clients get no echo", async () => {
  const server = await startTestServer({ maxChannels: 2, maxFrame: 200 });
  const client = await TestClient.connect(server, { alpn: V2 });
  await client.send(
    "NOPE x",
    "sub lower",
    "SUB has space",
    "SUB " + "c".repeat(129),
    "SUB ok 12x",
    "PUB news not allowed without --relay",
    "AUTH sometoken",
    "SUB one",
    "SUB two",
    "SUB three",
    "SUB one",
    "PING still open",
  );
  await waitFor(() => client.received.length === 12, 5000, `12 answers: ${client.received}`);
  const codes = client.received.map((line) => line.split(" ").slice(0, 2).join(" "));
  assertEquals(codes, [
    "ERR bad-command",
    "ERR bad-command",
    "ERR bad-command",
    "ERR bad-channel",
    "ERR bad-command",
    "ERR forbidden",
    "ERR forbidden",
    "OK SUB",
    "OK SUB",
    "ERR forbidden",
    "OK SUB",
    "PONG still",
  ]);
  assert(client.received[9].includes("at most 2 channels"), client.received[9]);
  await client.finish();
  await server.shutdown();
});

Deno.test("HELLO tlspush/2 as the first frame switches a plain TCP connection to v2", async () => {
  const server = await startTestServer({ plain: true, relay: true });
  const client = await TestClient.connect(server, { plain: true });
  await client.send("HELLO tlspush/2", "SUB news", "PUB news hi");
  await waitFor(() => client.received.length === 4);
  assertEquals(client.received[0], "OK HELLO");
  assert(/^OK SUB news \d+$/.test(client.received[1]));
  assert(/^MSG news \d+ hi$/.test(client.received[2]));
  // A v1 client on the same server is echoed, as always, and does not see channel news.
  const v1 = await TestClient.connect(server, { plain: true });
  await v1.send("SUB news");
  assertEquals(await v1.waitForMessages(1), ["SUB news"], "a v1 echo, not a command");
  await v1.finish();
  await client.finish();
  await server.shutdown();
});

Deno.test("v1 and v2 clients on one server: broadcast is raw for v1 and a MSG for v2", async () => {
  const server = await startTestServer({ relay: true });
  const v1 = await TestClient.connect(server);
  const v2 = await TestClient.connect(server, { alpn: V2 });
  const ws = await WsTestClient.connect(server, { protocols: ["tlspush.v2"] });
  await v2.send("SUB broadcast");
  ws.send("SUB broadcast");
  await waitFor(() => v2.received.length === 1 && ws.received.length === 1);
  assertEquals((await server.broadcast("operator line")).delivered, 3);
  await v1.send("from v1");
  await waitFor(() =>
    v2.received.length === 3 && ws.received.length === 3 && v1.received.length === 2
  );
  assertEquals(v1.received, ["operator line", "from v1"], "v1: the raw line, then its echo only");
  assert(/^MSG broadcast \d+ operator line$/.test(v2.received[1]), v2.received[1]);
  assert(
    /^MSG broadcast \d+ from v1$/.test(v2.received[2]),
    "relayed v1 messages reach v2 subscribers",
  );
  assertEquals(ws.received.slice(1), v2.received.slice(1), "WebSocket v2 gets the same MSGs");
  await v1.finish();
  await v2.finish();
  await ws.close();
  await server.shutdown();
});

Deno.test("SUB with a number replays what is retained, then GAP when history no longer reaches back", async () => {
  const server = await startTestServer({ history: 3 });
  const seqs: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const result = await server.hub.publish(
      new (await import("../hub/message.ts")).OutgoingMessage(`m${i}`, { kind: "api" }, "feed"),
    );
    seqs.push(result.seq!);
  }
  const client = await TestClient.connect(server, { alpn: V2 });
  await client.send(`SUB feed ${seqs[3]}`); // m4 and m5 are retained
  await waitFor(() => client.received.length === 3);
  assert(/^OK SUB feed \d+$/.test(client.received[0]));
  assertEquals(client.received.slice(1), [`MSG feed ${seqs[3]} m4`, `MSG feed ${seqs[4]} m5`]);
  await client.send(`SUB feed ${seqs[0]}`); // m1 and m2 are gone: GAP to m3, then m3..m5
  await waitFor(() => client.received.length === 8);
  assertEquals(client.received.slice(4), [
    `GAP feed ${seqs[0]} ${seqs[2]}`,
    `MSG feed ${seqs[2]} m3`,
    `MSG feed ${seqs[3]} m4`,
    `MSG feed ${seqs[4]} m5`,
  ]);
  assert(/^OK SUB feed \d+$/.test(client.received[3]));
  await client.finish();
  await server.shutdown();
});

Deno.test("a replay racing live traffic has no gap and no duplicate", async () => {
  const server = await startTestServer({ history: 10_000, relay: true });
  const publisher = await TestClient.connect(server, { alpn: V2 });
  const published: number[] = [];
  const total = 600;
  const publishing = (async () => {
    for (let i = 0; i < total; i++) {
      await publisher.send(`PUB race ${i}`);
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  await waitFor(() => publisher.received.length >= 100, 10_000, "some traffic first");
  const late = await TestClient.connect(server, { alpn: V2 });
  const firstSeq = seqOf(publisher.received[0]);
  await late.send(`SUB race ${firstSeq}`);
  await publishing;
  await waitFor(() => publisher.received.length === total);
  for (const line of publisher.received) published.push(seqOf(line));
  await waitFor(() => late.received.length === total + 1, 10_000, `all ${total} MSGs`);
  const got = late.received.slice(1).map((line) => {
    const [verb, channel, seq, data] = line.split(" ");
    assertEquals([verb, channel], ["MSG", "race"]);
    return { seq: Number(seq), data: Number(data) };
  });
  assertEquals(got.map((m) => m.seq), published, "every number once, in order");
  assertEquals(got.map((m) => m.data), Array.from({ length: total }, (_, i) => i));
  await publisher.finish();
  await late.finish();
  await server.shutdown();
});

Deno.test("100,000 SUBs from one client are refused beyond --max-channels; others unaffected", async () => {
  const server = await startTestServer({ maxChannels: 50 });
  const flood = await TestClient.connect(server, { alpn: V2 });
  const calm = await TestClient.connect(server);
  const count = 100_000;
  for (let start = 0; start < count; start += 5000) {
    await flood.send(...Array.from({ length: 5000 }, (_, i) => `SUB ch.${start + i}`));
  }
  await waitFor(() => flood.received.length === count, 60_000, `${count} answers`);
  assertEquals(flood.received.filter((line) => line.startsWith("OK SUB")).length, 50);
  assertEquals(
    flood.received.filter((line) => line.startsWith("ERR forbidden")).length,
    count - 50,
  );
  await calm.send("still fine");
  assertEquals(await calm.waitForMessages(1), ["still fine"]);
  assert(server.hub.channels().length <= 51, "the hub holds only the channels it accepted");
  await flood.finish();
  await calm.finish();
  await server.shutdown();
});

Deno.test("after a restart (no broker) a client resuming from its last number gets a GAP, then new messages", async () => {
  const first = await startTestServer({ relay: true });
  const port = first.port;
  const publisher = await TestClient.connect(first, { alpn: V2 });
  await publisher.send("SUB orders", "PUB orders one");
  await waitFor(() => publisher.received.length === 3);
  const last = seqOf(publisher.received[1]);
  await publisher.finish();
  await first.shutdown();

  const second = await startTestServer({ relay: true, port });
  const resumed = await TestClient.connect(second, { alpn: V2 });
  await resumed.send(`SUB orders ${last + 1}`, "PUB orders two");
  await waitFor(() => resumed.received.length === 4);
  const next = seqOf(resumed.received[0]);
  assert(next > last, "numbers never go back across a restart");
  assertEquals(
    resumed.received[1],
    `GAP orders ${last + 1} ${next}`,
    "what the old run sent is gone",
  );
  assert(/^MSG orders \d+ two$/.test(resumed.received[2]) && seqOf(resumed.received[2]) >= next);
  await resumed.finish();
  await second.shutdown();
});
