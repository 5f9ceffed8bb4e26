/**
 * Memory of the protocol v2 data structures, measured in this process's V8 heap (issue 12):
 * bytes per retained message, per channel with history, per tombstone, per tracked sequence
 * counter, and, as a model for the hub, per subscription in a `Map<channel, Set<peer>>` plus a
 * `Set<channel>` per peer. Also how fast a `MSG` payload is built and a command parsed.
 *
 * Each figure is the growth of `heapUsed` after a forced garbage collection, divided by the
 * count, while the structure is still referenced; values are shared (one small payload for
 * every message) so that the figures are the structures' own cost. Timings are indicative only
 * (nothing asserts them).
 *
 * @example
 * ```sh
 * deno run --v8-flags=--expose-gc bench/history_memory.ts           # markdown table
 * deno run --v8-flags=--expose-gc bench/history_memory.ts --json    # one JSON object
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { ChannelHistory, ENTRY_OVERHEAD_BYTES } from "../hub/channel_history.ts";
import { SequenceAllocator } from "../hub/sequence.ts";
import { parseCommand } from "../protocol/command.ts";
import { encodeMsg } from "../protocol/reply.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { json: { type: "boolean", default: false } },
  strict: true,
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with --v8-flags=--expose-gc: the figures need a forced garbage collection");
  Deno.exit(2);
}

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return Deno.memoryUsage().heapUsed;
}

/** Heap growth per item of what `build` makes (kept alive until measured). */
function perItem(count: number, build: () => unknown): number {
  const before = heap();
  const kept = build();
  const after = heap();
  if (kept === undefined) throw new Error("keep the structure alive");
  return Math.round((after - before) / count);
}

const CHANNELS = 10_000;
const PER_CHANNEL = 100;
const SUBSCRIPTIONS = 100_000;
const name = (i: number) => `channel-${i}`;
// Channel names exist anyway (the hub's keys); make them before measuring.
const names = Array.from({ length: CHANNELS }, (_, i) => name(i));
const payload = new TextEncoder().encode("x".repeat(64));
const clock = { now: 1_754_000_000_000 };

const figures: Record<string, number> = {};

figures["bytes per retained message (store overhead, 1,000,000 messages)"] = perItem(
  CHANNELS * PER_CHANNEL,
  () => {
    const history = new ChannelHistory<Uint8Array>({
      maxMessages: PER_CHANNEL,
      maxBytes: Infinity,
    });
    let seq = 1;
    for (let round = 0; round < PER_CHANNEL; round++) {
      for (const channel of names) history.append(channel, seq++, payload, payload.length);
    }
    return history;
  },
);

figures["bytes per channel with one retained message (10,000 channels)"] = perItem(
  CHANNELS,
  () => {
    const history = new ChannelHistory<Uint8Array>();
    names.forEach((channel, i) => history.append(channel, i + 1, payload, payload.length));
    return history;
  },
);

figures["bytes per tombstone (10,000 channels whose history expired)"] = perItem(CHANNELS, () => {
  const history = new ChannelHistory<Uint8Array>({ maxAgeMs: 1000, now: () => clock.now });
  names.forEach((channel, i) => history.append(channel, i + 1, payload, payload.length));
  clock.now += 1000;
  history.expire();
  return history;
});

figures["heap growth over 1,000,000 appends to one busy channel among 1,000 idle (bytes)"] =
  (() => {
    // The busy channel's evicted messages stay queued (dead) until compaction: no leak allowed.
    const history = new ChannelHistory<Uint8Array>({ maxMessages: 100, maxBytes: Infinity });
    for (let i = 0; i < 1000; i++) history.append(names[i], 1, payload, payload.length);
    for (let seq = 2; seq < 102; seq++) history.append("busy", seq, payload, payload.length);
    const before = heap();
    for (let seq = 102; seq < 1_000_102; seq++) {
      history.append("busy", seq, payload, payload.length);
    }
    const after = heap();
    if (history.size !== 1100) throw new Error(`retained ${history.size}`);
    return after - before;
  })();

figures["bytes per tracked sequence counter (10,000 channels in one millisecond)"] = perItem(
  CHANNELS,
  () => {
    const sequences = new SequenceAllocator({ now: () => clock.now });
    for (const channel of names) sequences.allocate(channel);
    return sequences;
  },
);

figures["sequence counters still tracked one millisecond later"] = (() => {
  const sequences = new SequenceAllocator({ now: () => clock.now });
  for (const channel of names) sequences.allocate(channel);
  clock.now += 1;
  sequences.prune();
  return sequences.tracked;
})();

figures["bytes per subscription, model: Map<channel, Set<peer>> + Set<channel> per peer"] = perItem(
  SUBSCRIPTIONS,
  () => {
    // 100,000 subscriptions: 10,000 peers with 10 channels each over 10,000 channels.
    const byChannel = new Map<string, Set<object>>();
    const peers = Array.from({ length: 10_000 }, () => ({ channels: new Set<string>() }));
    peers.forEach((peer, p) => {
      for (let k = 0; k < 10; k++) {
        const channel = names[(p * 10 + k) % CHANNELS];
        let subscribers = byChannel.get(channel);
        if (!subscribers) byChannel.set(channel, subscribers = new Set());
        subscribers.add(peer);
        peer.channels.add(channel);
      }
    });
    return [byChannel, peers];
  },
);

function rate(count: number, run: () => void): number {
  const start = performance.now();
  run();
  return Math.round(count / ((performance.now() - start) / 1000));
}

const data = new TextEncoder().encode("cpu 93% ".repeat(8));
let sink = 0;
figures["encodeMsg per second (64-byte data)"] = rate(1_000_000, () => {
  for (let i = 0; i < 1_000_000; i++) {
    sink += encodeMsg("metrics.cpu", 1754000000000000 + i, data).length;
  }
});
const pub = new TextEncoder().encode(`PUB metrics.cpu ${"cpu 93% ".repeat(8)}`);
figures["parseCommand (PUB, 64-byte data) per second"] = rate(1_000_000, () => {
  for (let i = 0; i < 1_000_000; i++) sink += parseCommand(pub).kind.length;
});
if (sink === 0) throw new Error("unreachable");

if (flags.json) {
  console.log(JSON.stringify({ entryOverheadBytes: ENTRY_OVERHEAD_BYTES, figures }, null, 2));
} else {
  console.log(`| figure | value |\n| --- | ---: |`);
  for (const [label, value] of Object.entries(figures)) {
    console.log(`| ${label} | ${value.toLocaleString("en")} |`);
  }
  console.log(
    `\nENTRY_OVERHEAD_BYTES (charged per message against maxBytes): ${ENTRY_OVERHEAD_BYTES}`,
  );
}
