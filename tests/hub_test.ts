import { assert, assertEquals } from "./assert.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { type Delivery, newCounters, type Peer } from "../hub/peer.ts";
import { Logger } from "../util/logger.ts";

/** A peer that records what it is offered and answers with a fixed delivery. */
function fakePeer(hub: Hub, answer: Delivery = "sent") {
  const got: string[] = [];
  const peer: Peer = {
    id: hub.nextId(),
    transport: "tcp",
    protocol: 1,
    address: "127.0.0.1:1",
    identity: undefined,
    since: new Date(),
    counters: newCounters(),
    queuedBytes: 0,
    deliver: (message) => {
      got.push(message.text);
      return answer;
    },
    shutdown: () => Promise.resolve(),
  };
  hub.add(peer);
  return { peer, got };
}

function hubWithLog(maxFrame = 1024) {
  const lines: string[] = [];
  const hub = new Hub({ logger: new Logger({ write: (line) => lines.push(line) }), maxFrame });
  return { hub, lines };
}

Deno.test("publish fans out to every peer and says what became of it, logged once", async () => {
  const { hub, lines } = hubWithLog();
  const a = fakePeer(hub);
  const b = fakePeer(hub);
  const line = fakePeer(hub, "skipped");
  const slow = fakePeer(hub, "cut-off");
  const { seq, ...result } = await hub.publish(new OutgoingMessage("hi\nthere", { kind: "stdin" }));
  assertEquals(result, { offered: 4, delivered: 2, skipped: 1, cutOff: 1 });
  assert(seq! > 0, "it got a sequence number");
  assertEquals([a.got, b.got, line.got, slow.got].map((got) => got.length), [1, 1, 1, 1]);
  assertEquals(lines.length, 2, lines.join("\n"));
  assert(/broadcast 8 B to 2 clients$/.test(lines[0]));
  assert(
    /error: broadcast skipped for 1 client: --framing line cannot carry a newline/.test(lines[1]),
  );
});

Deno.test("a message larger than --max-frame is refused before any peer sees it", async () => {
  const { hub, lines } = hubWithLog(4);
  const a = fakePeer(hub);
  const result = await hub.publish(new OutgoingMessage("12345", { kind: "dashboard" }));
  assertEquals(result.refused, {
    code: "too-large",
    reason: "5 B is more than the maximum of 4 B (--max-frame)",
  });
  assertEquals(result.delivered, 0);
  assertEquals(a.got, []);
  assert(/error: dashboard message not sent: 5 B is more than the maximum/.test(lines[0]));
});

Deno.test("a relayed message reaches every peer but its sender, and is not logged", async () => {
  const { hub, lines } = hubWithLog();
  const sender = fakePeer(hub);
  const other = fakePeer(hub);
  const source = { kind: "relay", peer: sender.peer } as const;
  const { seq: _, ...result } = await hub.publish(new OutgoingMessage("from a client", source));
  assertEquals(result, { offered: 1, delivered: 1, skipped: 0, cutOff: 0 });
  assertEquals(sender.got, []);
  assertEquals(other.got, ["from a client"]);
  assertEquals(lines, []);
});

Deno.test("peers are counted per transport and removed once", () => {
  const { hub } = hubWithLog();
  const a = fakePeer(hub);
  fakePeer(hub);
  assertEquals([hub.size, hub.count("tcp"), hub.count("ws")], [2, 2, 0]);
  hub.remove(a.peer);
  hub.remove(a.peer);
  assertEquals([hub.size, hub.count("tcp")], [1, 1]);
});

Deno.test("onPublish sees every published message after its fan-out, until stopped", async () => {
  const { hub } = hubWithLog();
  const seen: [string, number | undefined][] = [];
  const stop = hub.onPublish((message) => seen.push([message.channel, message.seq]));
  const first = await hub.publish(new OutgoingMessage("a", { kind: "api" }, "news"));
  await hub.publish(new OutgoingMessage("too large".repeat(200), { kind: "api" }, "news"));
  stop();
  await hub.publish(new OutgoingMessage("b", { kind: "api" }, "news"));
  assertEquals(seen, [["news", first.seq]]); // a refused message is not published
});

Deno.test("an operator's message on another channel than broadcast is logged with its channel", async () => {
  const { hub, lines } = hubWithLog();
  await hub.publish(new OutgoingMessage("cpu 93%", { kind: "dashboard" }, "metrics/cpu"));
  await hub.publish(new OutgoingMessage("hi", { kind: "dashboard" }));
  assert(/published 7 B on metrics\/cpu to 0 clients$/.test(lines[0]), lines[0]);
  assert(/broadcast 2 B to 0 clients$/.test(lines[1]), lines[1]);
});
