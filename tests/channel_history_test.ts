import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  ChannelHistory,
  type ChannelHistoryOptions,
  DEFAULT_HISTORY_AGE_MS,
  DEFAULT_HISTORY_BYTES,
  DEFAULT_HISTORY_MESSAGES,
  DEFAULT_MAX_TOMBSTONES,
  ENTRY_OVERHEAD_BYTES,
  HistoryOrderError,
  type Replay,
} from "../hub/channel_history.ts";
import { SequenceAllocator } from "../hub/sequence.ts";

/** A store of strings on a clock the test moves by hand (no sleeping). */
function store(options: ChannelHistoryOptions = {}) {
  const clock = { now: 1_000_000 };
  const history = new ChannelHistory<string>({ now: () => clock.now, ...options });
  return { clock, history };
}

/** The replay as plain data: the gap and the sequence numbers. */
function shape(replay: Replay<string>) {
  return { gap: replay.gap, seqs: replay.messages.map((m) => m.seq) };
}

Deno.test("defaults: 100 messages, one hour, 64 MiB, 100,000 tombstones", () => {
  assertEquals(DEFAULT_HISTORY_MESSAGES, 100);
  assertEquals(DEFAULT_HISTORY_AGE_MS, 3_600_000);
  assertEquals(DEFAULT_HISTORY_BYTES, 64 * 1024 * 1024);
  assertEquals(DEFAULT_MAX_TOMBSTONES, 100_000);
  const { history } = store();
  for (let seq = 1; seq <= 150; seq++) history.append("news", seq, `m${seq}`);
  assertEquals(history.retainedCount("news"), 100);
});

Deno.test("replay without a gap: everything >= from, in order, with values and times", () => {
  const { clock, history } = store({ maxMessages: 5 });
  history.append("news", 100, "a");
  clock.now += 10;
  history.append("news", 200, "b");
  history.append("news", 300, "c");
  history.append("other", 150, "x");
  const all = history.replayFrom("news", 0, 301);
  assertEquals(all.gap, undefined);
  assertEquals(all.messages.map((m) => [m.seq, m.value, m.time]), [
    [100, "a", 1_000_000],
    [200, "b", 1_000_010],
    [300, "c", 1_000_010],
  ]);
  assertEquals(shape(history.replayFrom("news", 150, 301)), { gap: undefined, seqs: [200, 300] });
  assertEquals(shape(history.replayFrom("news", 200, 301)), { gap: undefined, seqs: [200, 300] });
  assertEquals(shape(history.replayFrom("news", 301, 301)), { gap: undefined, seqs: [] });
  assertEquals(shape(history.replayFrom("news", 9e15, 301)), { gap: undefined, seqs: [] });
  assertEquals(shape(history.replayFrom("empty", 0, 1)), { gap: undefined, seqs: [] });
  assert(!("gap" in history.replayFrom("news", 0, 301)), "no gap property at all");
});

Deno.test("replay with a gap: the count limit dropped the oldest", () => {
  const { history } = store({ maxMessages: 3 });
  for (const seq of [10, 20, 30, 40, 50]) history.append("news", seq, `m${seq}`);
  assertEquals(history.lastDropped("news"), 20);
  assertEquals(shape(history.replayFrom("news", 0, 51)), {
    gap: { from: 0, to: 30 },
    seqs: [30, 40, 50],
  });
  assertEquals(shape(history.replayFrom("news", 20, 51)), {
    gap: { from: 20, to: 30 },
    seqs: [30, 40, 50],
  });
  assertEquals(shape(history.replayFrom("news", 21, 51)), { gap: undefined, seqs: [30, 40, 50] });
  assertEquals(shape(history.replayFrom("news", 30, 51)), { gap: undefined, seqs: [30, 40, 50] });
  assertEquals(shape(history.replayFrom("news", 45, 51)), { gap: undefined, seqs: [50] });
});

Deno.test("numbers are not consecutive: a hole between numbers is no gap", () => {
  const { history } = store({ maxMessages: 2 });
  for (const seq of [1000, 5000, 9000]) history.append("news", seq, "x");
  // 1000 was dropped; nothing in [2000, 5000) ever existed.
  assertEquals(shape(history.replayFrom("news", 2000, 9001)), {
    gap: undefined,
    seqs: [5000, 9000],
  });
  assertEquals(shape(history.replayFrom("news", 1000, 9001)), {
    gap: { from: 1000, to: 5000 },
    seqs: [5000, 9000],
  });
});

Deno.test("age limit with an injected clock: expired messages are gone and make a gap", () => {
  const { clock, history } = store({ maxAgeMs: 1000 });
  history.append("news", 1, "old");
  clock.now += 500;
  history.append("news", 2, "newer");
  clock.now += 499;
  assertEquals(shape(history.replayFrom("news", 0, 3)).seqs, [1, 2], "999 ms: both kept");
  clock.now += 1;
  assertEquals(shape(history.replayFrom("news", 0, 3)), { gap: { from: 0, to: 2 }, seqs: [2] });
  clock.now += 500;
  assertEquals(shape(history.replayFrom("news", 0, 7)), { gap: { from: 0, to: 7 }, seqs: [] });
  assertEquals(shape(history.replayFrom("news", 3, 7)), { gap: undefined, seqs: [] });
  assertEquals([history.size, history.channels, history.tombstones, history.bytes], [0, 0, 1, 0]);
});

Deno.test("expire() drops aged messages without an append or replay, and reports how many", () => {
  const { clock, history } = store({ maxAgeMs: 100 });
  for (let seq = 1; seq <= 10; seq++) {
    history.append(`c${seq % 3}`, seq, "x");
    clock.now += 10;
  }
  assertEquals(history.expire(), 1, "the first one is 100 ms old");
  clock.now += 1000;
  assertEquals(history.expire(), 9);
  assertEquals(history.expire(), 0);
  assertEquals(history.size, 0);
});

Deno.test("maxAgeMs 0: no age limit", () => {
  const { clock, history } = store({ maxAgeMs: 0 });
  history.append("news", 1, "x");
  clock.now += 1e12;
  assertEquals(history.expire(), 0);
  assertEquals(shape(history.replayFrom("news", 0, 2)).seqs, [1]);
});

Deno.test("history 0: nothing retained, yet a resume is told what it missed", () => {
  const { history } = store({ maxMessages: 0 });
  history.append("news", 100, "a");
  history.append("news", 200, "b");
  assertEquals([history.size, history.channels, history.tombstones], [0, 0, 1]);
  assertEquals(shape(history.replayFrom("news", 150, 900)), {
    gap: { from: 150, to: 900 },
    seqs: [],
  });
  assertEquals(shape(history.replayFrom("news", 201, 900)), { gap: undefined, seqs: [] });
  assertEquals(shape(history.replayFrom("never", 0, 900)), { gap: undefined, seqs: [] });
});

Deno.test("GAP <to> when nothing is retained is the OK SUB <next>", () => {
  const { history } = store({ maxMessages: 0 });
  history.append("news", 500, "a");
  assertEquals(history.replayFrom("news", 0, 501).gap, { from: 0, to: 501 });
  assertEquals(history.replayFrom("news", 500, 777).gap, { from: 500, to: 777 });
});

Deno.test("the byte budget evicts the oldest message of all channels first", () => {
  const cost = 100 + ENTRY_OVERHEAD_BYTES;
  const { history } = store({ maxBytes: 3 * cost });
  history.append("a", 1, "a1", 100);
  history.append("b", 2, "b2", 100);
  history.append("a", 3, "a3", 100);
  assertEquals(history.bytes, 3 * cost);
  history.append("c", 4, "c4", 100);
  assertEquals(history.bytes, 3 * cost);
  assertEquals(shape(history.replayFrom("a", 0, 5)), { gap: { from: 0, to: 3 }, seqs: [3] });
  assertEquals(shape(history.replayFrom("b", 0, 5)).seqs, [2]);
  history.append("c", 5, "c5", 250); // needs room of two
  assertEquals(shape(history.replayFrom("b", 0, 6)), { gap: { from: 0, to: 6 }, seqs: [] });
  assertEquals(shape(history.replayFrom("a", 0, 6)), { gap: { from: 0, to: 6 }, seqs: [] });
  assertEquals(shape(history.replayFrom("c", 0, 6)).seqs, [4, 5]);
  assert(history.bytes <= 3 * cost);
});

Deno.test("a message larger than the whole budget is not retained, nor is anything older of its channel", () => {
  const { history } = store({ maxBytes: 10_000 });
  history.append("news", 1, "small", 10);
  history.append("other", 2, "kept", 10);
  history.append("news", 3, "huge", 20_000);
  assertEquals(shape(history.replayFrom("news", 0, 4)), { gap: { from: 0, to: 4 }, seqs: [] });
  assertEquals(shape(history.replayFrom("news", 2, 4)), { gap: { from: 2, to: 4 }, seqs: [] });
  assertEquals(shape(history.replayFrom("other", 0, 4)), { gap: undefined, seqs: [2] });
  history.append("news", 4, "small again", 10);
  assertEquals(shape(history.replayFrom("news", 0, 5)), { gap: { from: 0, to: 4 }, seqs: [4] });
});

Deno.test("numbers must increase within a channel: a named error otherwise", () => {
  const { clock, history } = store({ maxMessages: 1, maxAgeMs: 10 });
  history.append("news", 5, "a");
  const error = assertThrows(() => history.append("news", 5, "again"), HistoryOrderError);
  assertEquals([error.channel, error.seq, error.last], ["news", 5, 5]);
  assertThrows(() => history.append("news", 4, "older"), HistoryOrderError);
  history.append("news", 6, "b"); // evicts 5
  assertThrows(() => history.append("news", 5, "evicted number"), HistoryOrderError);
  clock.now += 100; // everything expires: the channel is a tombstone
  history.expire();
  assertEquals(history.channels, 0);
  assertThrows(() => history.append("news", 6, "after expiry"), HistoryOrderError);
  history.append("news", 7, "c");
  history.append("other", 1, "other channels have their own numbers");
});

Deno.test("tombstones are capped; a forgotten channel gets a conservative GAP, never a missing one", () => {
  const { clock, history } = store({ maxAgeMs: 10, maxTombstones: 2 });
  history.append("a", 100, "x");
  history.append("b", 200, "x");
  history.append("c", 300, "x");
  clock.now += 10;
  history.expire();
  assertEquals(history.tombstones, 2, "a was forgotten");
  assertEquals(history.lastDropped("b"), 200);
  assertEquals(history.lastDropped("a"), 100, "the watermark answers for it");
  assertEquals(history.replayFrom("a", 50, 400).gap, { from: 50, to: 400 }, "a real gap");
  assertEquals(history.replayFrom("b", 250, 400).gap, undefined, "b is still known exactly");
  assertEquals(history.replayFrom("new", 50, 400).gap, { from: 50, to: 400 }, "conservative");
  assertEquals(history.replayFrom("new", 101, 400).gap, undefined, "above the watermark: none");
  history.append("a", 400, "back");
  assertEquals(shape(history.replayFrom("a", 0, 401)), { gap: { from: 0, to: 400 }, seqs: [400] });
});

Deno.test("a watermark from other channels never yields an empty or backward GAP", () => {
  const { clock, history } = store({ maxAgeMs: 10, maxTombstones: 0 });
  history.append("high", 5000, "x");
  clock.now += 10;
  history.expire(); // watermark 5000
  history.append("low", 10, "a");
  history.append("low", 20, "b");
  // Conservative: "low" might have been forgotten, so [15, 20) may have held messages.
  assertEquals(shape(history.replayFrom("low", 15, 21)), { gap: { from: 15, to: 20 }, seqs: [20] });
  assertEquals(shape(history.replayFrom("low", 20, 21)), { gap: undefined, seqs: [20] });
  assertEquals(shape(history.replayFrom("low", 5, 21)), {
    gap: { from: 5, to: 10 },
    seqs: [10, 20],
  });
  assertEquals(shape(history.replayFrom("fresh", 100, 200)), {
    gap: { from: 100, to: 200 },
    seqs: [],
  });
  assertEquals(shape(history.replayFrom("fresh", 200, 200)), { gap: undefined, seqs: [] });
});

Deno.test("maxTombstones 0: only the watermark is kept", () => {
  const { clock, history } = store({ maxAgeMs: 10, maxTombstones: 0 });
  history.append("a", 100, "x");
  clock.now += 10;
  history.expire();
  assertEquals(history.tombstones, 0);
  assertEquals(history.replayFrom("a", 0, 101).gap, { from: 0, to: 101 });
});

Deno.test("assumeDroppedBelow: after a restart, resumes from before it are told what may be lost", () => {
  const start = 1_754_000_000_000_000;
  const { history } = store({ assumeDroppedBelow: start });
  assertEquals(history.lastDropped("news"), start - 1);
  assertEquals(history.replayFrom("news", start - 500, start + 9).gap, {
    from: start - 500,
    to: start + 9,
  });
  assertEquals(history.replayFrom("news", start, start + 9).gap, undefined);
  history.append("news", start + 10, "after the restart");
  assertEquals(shape(history.replayFrom("news", 5, start + 11)), {
    gap: { from: 5, to: start + 10 },
    seqs: [start + 10],
  });
  const plain = store().history;
  assertEquals(plain.lastDropped("news"), undefined, "by default nothing is assumed");
});

Deno.test("a replay is a copy: the caller may keep it while the store moves on", () => {
  const { history } = store({ maxMessages: 2 });
  history.append("news", 1, "a");
  history.append("news", 2, "b");
  const replay = history.replayFrom("news", 0, 3);
  history.append("news", 3, "c");
  replay.messages.length = 0;
  assertEquals(shape(history.replayFrom("news", 0, 4)), { gap: { from: 0, to: 2 }, seqs: [2, 3] });
});

Deno.test("10,000 retained messages: replay from any point, in order", () => {
  const { history } = store({ maxMessages: 10_000 });
  for (let i = 0; i < 12_000; i++) history.append("big", 1000 + i * 7, `m${i}`);
  const all = history.replayFrom("big", 0, 1e9);
  assertEquals(all.messages.length, 10_000);
  assertEquals(all.gap, { from: 0, to: 1000 + 2000 * 7 });
  for (const from of [15_000, 15_001, 50_000, 84_993, 84_994]) {
    const replay = history.replayFrom("big", from, 1e9);
    assert(replay.messages.every((m) => m.seq >= from));
    assertEquals(
      replay.messages.length,
      all.messages.filter((m) => m.seq >= from).length,
      String(from),
    );
  }
});

Deno.test("one busy channel among idle ones: the idle messages stay, memory stays bounded", () => {
  const { history } = store({ maxMessages: 2 });
  history.append("idle-1", 1, "kept");
  history.append("idle-2", 2, "kept");
  for (let seq = 3; seq < 100_003; seq++) history.append("busy", seq, "x");
  assertEquals(history.size, 4);
  assertEquals(shape(history.replayFrom("idle-1", 0, 1e9)).seqs, [1]);
  assertEquals(shape(history.replayFrom("busy", 0, 1e9)), {
    gap: { from: 0, to: 100_001 },
    seqs: [100_001, 100_002],
  });
});

Deno.test("channels that went quiet cost a tombstone at most; all expired, nothing is retained", () => {
  const { clock, history } = store({ maxAgeMs: 1000 });
  const sequences = new SequenceAllocator({ now: () => clock.now });
  for (let i = 0; i < 10_000; i++) {
    const channel = `channel-${i}`;
    history.append(channel, sequences.allocate(channel), "x", 1);
  }
  assertEquals([history.channels, history.size], [10_000, 10_000]);
  assertEquals(history.bytes, 10_000 * (1 + ENTRY_OVERHEAD_BYTES));
  clock.now += 1000;
  assertEquals(history.expire(), 10_000);
  assertEquals([history.channels, history.size, history.bytes], [0, 0, 0]);
  assertEquals(history.tombstones, 10_000);
});

Deno.test("with the sequence allocator: OK SUB <next>, replay, then live, no gap and no duplicate", () => {
  const { clock, history } = store({ maxMessages: 3 });
  const sequences = new SequenceAllocator({ now: () => clock.now });
  const published: number[] = [];
  const publish = () => {
    const seq = sequences.allocate("news");
    history.append("news", seq, `m${seq}`);
    published.push(seq);
  };
  publish();
  publish();
  clock.now += 1;
  publish();
  // A client saw the first message, went away, and resumes after it.
  const resumeFrom = published[0] + 1;
  const next = sequences.next("news");
  const replay = history.replayFrom("news", resumeFrom, next);
  assertEquals(replay.gap, undefined);
  assertEquals(replay.messages.map((m) => m.seq), published.slice(1));
  publish();
  assert(published[3] >= next, "the first live message is at or above <next>");
  assert(replay.messages.every((m) => m.seq < next), "every replayed one is below it");
});

Deno.test("invalid options are refused", () => {
  for (
    const options of [
      { maxMessages: -1 },
      { maxMessages: 1.5 },
      { maxAgeMs: -1 },
      { maxAgeMs: Infinity },
      { maxBytes: 0 },
      { maxBytes: NaN },
      { maxTombstones: -1 },
      { assumeDroppedBelow: -5 },
    ]
  ) {
    assertThrows(() => new ChannelHistory(options), RangeError, undefined, JSON.stringify(options));
  }
  new ChannelHistory({ maxBytes: Infinity, maxMessages: 0, maxAgeMs: 0, maxTombstones: 0 });
});
