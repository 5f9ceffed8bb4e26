import { assert, assertEquals, assertThrows } from "./assert.ts";
import { SequenceAllocator, SequenceExhaustedError, SEQUENCES_PER_MS } from "../hub/sequence.ts";
import { MAX_SEQUENCE } from "../protocol/sequence_number.ts";

const T0 = 1_754_000_000_000; // ms, August 2025

/** An allocator on a clock the test moves by hand. */
function manual(start = T0) {
  const clock = { now: start };
  return { clock, sequences: new SequenceAllocator({ now: () => clock.now }) };
}

Deno.test("numbers follow the clock in microseconds, and count up within a millisecond", () => {
  const { clock, sequences } = manual();
  assertEquals(sequences.allocate("news"), T0 * 1000);
  assertEquals(sequences.allocate("news"), T0 * 1000 + 1);
  assertEquals(sequences.allocate("news"), T0 * 1000 + 2);
  assertEquals(sequences.allocate("other"), T0 * 1000, "each channel has its own numbers");
  clock.now += 5;
  assertEquals(sequences.allocate("news"), (T0 + 5) * 1000, "back in step with the clock");
  assertEquals(SEQUENCES_PER_MS, 1000);
});

Deno.test("numbers strictly increase per channel whatever the clock does", () => {
  const { clock, sequences } = manual();
  const seen = new Map<string, number>();
  const steps = [0, 0, 1, -5000, 0, 3, -1, 1_000_000, -999_999, 0.25, 0.5];
  for (let i = 0; i < 20_000; i++) {
    clock.now += steps[i % steps.length];
    const channel = `c${i % 7}`;
    const seq = sequences.allocate(channel);
    assert(Number.isSafeInteger(seq) && seq >= 0);
    const before = seen.get(channel) ?? -1;
    assert(seq > before, `${channel}: ${seq} after ${before} at step ${i}`);
    seen.set(channel, seq);
  }
});

Deno.test("a clock stepped backwards does not reuse numbers within a process", () => {
  const { clock, sequences } = manual();
  const first = sequences.allocate("news");
  clock.now -= 60_000; // NTP steps back a minute
  const second = sequences.allocate("news");
  assert(second > first);
  sequences.prune();
  assert(sequences.allocate("news") > second, "not even after the channel was forgotten");
});

Deno.test("next() is a promise: no later message gets less", () => {
  const { clock, sequences } = manual();
  const next = sequences.next("news");
  assertEquals(next, T0 * 1000, "a channel that never published: the clock");
  assertEquals(sequences.allocate("news"), next);
  const afterOne = sequences.next("news");
  assertEquals(afterOne, T0 * 1000 + 1);
  clock.now -= 10; // even if the clock went back
  assert(sequences.allocate("news") >= afterOne);
  for (let i = 0; i < 100; i++) {
    clock.now += i % 3 === 0 ? 1 : 0;
    const promised = sequences.next("news");
    if (i % 2 === 0) sequences.prune();
    assert(sequences.allocate("news") >= promised);
  }
});

Deno.test("a restarted server continues above every number of the one before", () => {
  // The first process: a steady trickle, then a burst of 10,000 in one millisecond.
  const first = manual();
  let last = 0;
  for (let i = 0; i < 100; i++) {
    first.clock.now += 7;
    last = first.sequences.allocate("news");
  }
  for (let i = 0; i < 10_000; i++) last = first.sequences.allocate("news");
  const wait = first.sequences.msUntilRestartSafe();
  // The burst put the counter 10 ms ahead of the clock: the clock must pass it, 11 ms.
  assertEquals(wait, 11);
  // Shutdown waits that long (or a crash and restart takes longer); a new process starts.
  const second = manual(first.clock.now + wait);
  assert(second.sequences.allocate("news") > last);
  assert(second.sequences.next("other") > last, "every channel, also ones never seen");
});

Deno.test("restart safety has a documented limit: a restart within the lead could reuse", () => {
  const first = manual();
  let last = 0;
  for (let i = 0; i < 5000; i++) last = first.sequences.allocate("news");
  assert(first.sequences.msUntilRestartSafe() > 0);
  const tooSoon = manual(first.clock.now + 1);
  assert(tooSoon.sequences.allocate("news") <= last, "why shutdown must wait msUntilRestartSafe");
});

Deno.test("msUntilRestartSafe is 0 when no channel is ahead of the clock", () => {
  const { clock, sequences } = manual();
  assertEquals(sequences.msUntilRestartSafe(), 0);
  sequences.allocate("news");
  assertEquals(sequences.msUntilRestartSafe(), 1, "the same millisecond: wait for the next");
  clock.now += 1;
  assertEquals(sequences.msUntilRestartSafe(), 0);
});

Deno.test("idle channels are forgotten: memory follows the channels ahead of the clock", () => {
  const { clock, sequences } = manual();
  for (let i = 0; i < 500; i++) sequences.allocate(`c${i}`);
  assertEquals(sequences.tracked, 500);
  assertEquals(sequences.prune(), 0, "same millisecond: all still needed");
  clock.now += 1;
  assertEquals(sequences.prune(), 500);
  assertEquals(sequences.tracked, 0);
  // Automatic pruning as the map grows: 100,000 channels, one message each, over time.
  for (let i = 0; i < 100_000; i++) {
    if (i % 100 === 0) clock.now += 1;
    sequences.allocate(`channel-${i}`);
  }
  assert(sequences.tracked <= 2048, `${sequences.tracked} channels tracked`);
});

Deno.test("numbers stay below 2^53: a clock centuries ahead is refused with a named error", () => {
  const far = new SequenceAllocator({ now: () => 1e13 }); // the year 2286
  const error = assertThrows(() => far.allocate("news"), SequenceExhaustedError, "news");
  assertEquals(error.channel, "news");
  assertThrows(() => far.next("news"), SequenceExhaustedError);
  // The last millisecond that fits, then the counter runs out within it.
  const edgeMs = Math.floor(MAX_SEQUENCE / 1000);
  const edge = new SequenceAllocator({ now: () => edgeMs });
  let seq = 0;
  for (let i = 0; i <= MAX_SEQUENCE - edgeMs * 1000; i++) seq = edge.allocate("news");
  assertEquals(seq, MAX_SEQUENCE);
  assertThrows(() => edge.allocate("news"), SequenceExhaustedError);
  // Today's clock leaves more than two centuries.
  assert(Date.now() * 1000 < MAX_SEQUENCE / 4);
});

Deno.test("the real clock: numbers are microseconds since 1970", () => {
  const sequences = new SequenceAllocator();
  const before = Date.now() * 1000;
  const seq = sequences.allocate("news");
  assert(seq >= before && seq <= Date.now() * 1000 + 1, `${seq} near ${before}`);
});
