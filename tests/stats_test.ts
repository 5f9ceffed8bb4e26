import { assert, assertEquals } from "./assert.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { newCounters, type Peer } from "../hub/peer.ts";
import { Logger } from "../util/logger.ts";
import { renderMetrics } from "../web/metrics.ts";
import { CHANNEL_ROWS, takeStats } from "../web/stats.ts";

function peer(hub: Hub, protocol: 1 | 2): Peer {
  const peer: Peer = {
    id: hub.nextId(),
    transport: "tls",
    protocol,
    address: "127.0.0.1:1",
    identity: undefined,
    since: new Date(),
    counters: newCounters(),
    queuedBytes: 0,
    deliver: () => "sent",
    shutdown: () => Promise.resolve(),
  };
  hub.add(peer);
  return peer;
}

function newHub(): Hub {
  return new Hub({ logger: new Logger({ write: () => {} }), maxFrame: 1 << 20 });
}

Deno.test("stats list the channels with subscribers, retained history and rates, busiest first", async () => {
  const hub = newHub();
  peer(hub, 1); // a v1 client: one subscription, to broadcast
  const a = peer(hub, 2);
  const b = peer(hub, 2);
  hub.subscribe(a, "news");
  hub.subscribe(b, "news");
  hub.subscribe(a, "quiet");
  for (let i = 0; i < 3; i++) {
    await hub.publish(new OutgoingMessage(`n${i}`, { kind: "api" }, "news"));
  }
  await hub.publish(new OutgoingMessage("cpu", { kind: "api" }, "metrics"));
  const rates = new Map([["metrics", 4], ["news", 0.5], ["gone", 2]]);
  const { channels } = takeStats(hub, new Date(), rates);
  assertEquals(channels.top, [
    { channel: "metrics", subscribers: 0, retained: 1, rate: 4 },
    { channel: "gone", subscribers: 0, retained: 0, rate: 2 }, // --history 0: a rate only
    { channel: "news", subscribers: 2, retained: 3, rate: 0.5 },
    { channel: "broadcast", subscribers: 1, retained: 0, rate: 0 },
    { channel: "quiet", subscribers: 1, retained: 0, rate: 0 },
  ]);
  assertEquals(channels.count, 5);
  assertEquals(channels.subscriptions, 4);
  assertEquals(channels.retained, 4);
});

Deno.test("stats list at most CHANNEL_ROWS channels but count them all", async () => {
  const hub = newHub();
  for (let i = 0; i < CHANNEL_ROWS + 20; i++) {
    await hub.publish(new OutgoingMessage("x", { kind: "api" }, `c${String(i).padStart(3, "0")}`));
  }
  const { channels } = takeStats(hub, new Date(), new Map([["c119", 1]]));
  assertEquals(channels.top.length, CHANNEL_ROWS);
  assertEquals(channels.count, CHANNEL_ROWS + 20);
  assertEquals(channels.retained, CHANNEL_ROWS + 20);
  assertEquals(channels.top[0].channel, "c119", "the busiest first");
  assertEquals(channels.top[1].channel, "c000", "then by name");
});

Deno.test("/metrics has three channel totals and no label per channel", async () => {
  const hub = newHub();
  const a = peer(hub, 2);
  hub.subscribe(a, "news");
  hub.subscribe(a, "orders");
  await hub.publish(new OutgoingMessage("one", { kind: "api" }, "news"));
  await hub.publish(new OutgoingMessage("two", { kind: "api" }, "archive"));
  const text = renderMetrics(takeStats(hub, new Date()));
  const lines = text.split("\n");
  for (
    const line of [
      "# TYPE tlspush_channels gauge",
      "tlspush_channels 3",
      "tlspush_subscriptions 2",
      "tlspush_retained_messages 2",
    ]
  ) {
    assert(lines.includes(line), `missing ${line} in\n${text}`);
  }
  assert(!text.includes("news") && !text.includes("channel="), text);
});
