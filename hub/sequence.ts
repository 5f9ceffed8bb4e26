/**
 * Sequence numbers per channel: strictly increasing within a channel, never reused, also across
 * server restarts, and without storing anything on disk.
 *
 * The number of a message is `max(last + 1, floor(clock_ms × 1000))`: the clock in
 * microseconds, unless the channel already went past it. So a channel that publishes less than
 * one message per microsecond (a million a second) simply follows the clock, and a burst runs
 * ahead of the clock for as long as it lasts and falls back in step afterwards. Numbers are not
 * consecutive (the contract does not promise it): two messages a second apart are about
 * 1,000,000 apart.
 *
 * Why it survives a restart: a new process starts every channel at its clock, which is past
 * every number the old process gave out as long as the old one was not ahead of the clock when
 * it stopped. It is ahead only right after a burst, by one microsecond per message over the
 * clock's pace: 10,000 messages in one millisecond put it 10 ms ahead. A graceful shutdown waits
 * {@link SequenceAllocator.msUntilRestartSafe} (normally 0) before exiting; a crash and restart
 * take far longer than any plausible lead.
 *
 * Limits, where the promise stops:
 * - The wall clock must not go back across a restart by more than the downtime (an NTP step
 *   backwards while the server is down). Within one process the clock is made monotonic (the
 *   largest value seen is used), so a backward step there is harmless.
 * - A channel sustaining more than a million messages a second for long would build a lead as
 *   long as its run; a restart within that lead could reuse numbers. The lead is observable
 *   (`msUntilRestartSafe`).
 * - Numbers stay below 2^53 (exact in a double) until the year 2255.
 * - With a broker, the cluster's numbers are used instead (every instance must agree); this
 *   allocator is for a single server.
 *
 * Memory: a channel is tracked only while its counter is ahead of the clock (at most about a
 * millisecond for ordinary traffic); afterwards its number would come out the same from the
 * clock alone, so it is forgotten. Tracked channels are pruned as the map grows, so an idle
 * channel costs nothing here.
 *
 * @example
 * ```ts
 * import { SequenceAllocator } from "./sequence.ts";
 * const sequences = new SequenceAllocator();
 * const first = sequences.allocate("news");
 * const second = sequences.allocate("news");
 * second > first; // true
 * sequences.next("news") > second; // true: the <next> of OK SUB
 * ```
 * @module
 */
import { MAX_SEQUENCE } from "../protocol/sequence_number.ts";

/**
 * Sequence numbers per millisecond of clock: the clock is counted in microseconds.
 *
 * @example
 * ```ts
 * import { SEQUENCES_PER_MS } from "./sequence.ts";
 * const startOfToday = Math.floor(Date.now() / 86_400_000) * 86_400_000 * SEQUENCES_PER_MS;
 * ```
 */
export const SEQUENCES_PER_MS = 1000;

/**
 * The next number would pass 2^53 − 1 (a clock set centuries ahead, or a counter driven there).
 *
 * @example
 * ```ts
 * import { SequenceAllocator, SequenceExhaustedError } from "./sequence.ts";
 * const sequences = new SequenceAllocator({ now: () => 1e13 }); // the year 2286
 * try {
 *   sequences.allocate("news");
 * } catch (error) {
 *   if (error instanceof SequenceExhaustedError) console.error(error.message);
 * }
 * ```
 */
export class SequenceExhaustedError extends Error {
  /** The channel whose numbers ran out. */
  readonly channel: string;
  /** Creates the error for `channel`. */
  constructor(channel: string) {
    super(`sequence numbers of channel ${channel} would exceed 2^53 - 1: is the clock right?`);
    this.name = new.target.name;
    this.channel = channel;
  }
}

/** Options of a {@link SequenceAllocator}. */
export interface SequenceAllocatorOptions {
  /** The wall clock in milliseconds since 1970 (default `Date.now`); injectable for tests. */
  now?: () => number;
}

/** Prune when the tracked map has grown past this and past twice its size after the last prune. */
const MIN_PRUNE_SIZE = 1024;

/**
 * Hands out the sequence numbers of every channel.
 *
 * @example
 * ```ts
 * import { SequenceAllocator } from "./sequence.ts";
 * let clock = 1_754_000_000_000;
 * const sequences = new SequenceAllocator({ now: () => clock });
 * sequences.allocate("news"); // 1754000000000000
 * sequences.allocate("news"); // 1754000000000001: same millisecond, one more
 * clock += 1;
 * sequences.allocate("news"); // 1754000000001000: back in step with the clock
 * ```
 */
export class SequenceAllocator {
  readonly #now: () => number;
  /** Last number given out (or reserved by `next`), for channels ahead of or at the clock. */
  readonly #last = new Map<string, number>();
  /** The largest clock value seen: the clock never goes back within a process. */
  #clock = -Infinity;
  #pruneAt = MIN_PRUNE_SIZE;

  /** Creates an allocator reading `options.now` (default `Date.now`). */
  constructor(options: SequenceAllocatorOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** The clock in sequence units (microseconds), never decreasing. */
  #base(): number {
    const now = this.#now();
    if (now > this.#clock) this.#clock = now;
    return Math.floor(this.#clock * SEQUENCES_PER_MS);
  }

  #candidate(channel: string): number {
    const last = this.#last.get(channel);
    const base = this.#base();
    const value = last === undefined || last < base ? base : last + 1;
    if (!(value <= MAX_SEQUENCE)) throw new SequenceExhaustedError(channel);
    return value;
  }

  #record(channel: string, value: number): void {
    this.#last.set(channel, value);
    if (this.#last.size >= this.#pruneAt) {
      this.prune();
      this.#pruneAt = Math.max(MIN_PRUNE_SIZE, this.#last.size * 2);
    }
  }

  /**
   * The number of a new message of `channel`: larger than every number given out for it
   * before, by this process or (see the module notes) an earlier one.
   * Throws {@link SequenceExhaustedError} past 2^53 − 1.
   *
   * @example
   * ```ts
   * import { SequenceAllocator } from "./sequence.ts";
   * const sequences = new SequenceAllocator();
   * const seq = sequences.allocate("metrics"); // e.g. 1754000000000000 (microseconds since 1970)
   * ```
   */
  allocate(channel: string): number {
    const value = this.#candidate(channel);
    this.#record(channel, value);
    return value;
  }

  /**
   * The `<next>` of `OK SUB`: the lowest number a new message of `channel` can get. It is a
   * promise: every later {@link allocate} for the channel returns at least this (whatever the
   * clock does meanwhile).
   *
   * @example
   * ```ts
   * import { SequenceAllocator } from "./sequence.ts";
   * const sequences = new SequenceAllocator();
   * const next = sequences.next("news");
   * sequences.allocate("news") >= next; // true
   * ```
   */
  next(channel: string): number {
    // Nothing to reserve: a later allocation is max(last + 1, clock) with a clock that never
    // goes back, so it is at least this, and forgetting a channel only happens once the clock
    // alone gives more than its last number.
    return this.#candidate(channel);
  }

  /**
   * Milliseconds to wait before the process may exit so that a restarted server cannot reuse a
   * number: how far the furthest channel is ahead of the clock (0 when none is, the usual case).
   *
   * @example
   * ```ts
   * import { SequenceAllocator } from "./sequence.ts";
   * const sequences = new SequenceAllocator();
   * // On SIGTERM, after the last publish:
   * await new Promise((resolve) => setTimeout(resolve, sequences.msUntilRestartSafe()));
   * ```
   */
  msUntilRestartSafe(): number {
    const base = this.#base();
    let furthest = -1;
    for (const last of this.#last.values()) if (last > furthest) furthest = last;
    // A restart is safe once the clock (in sequence units) is past the last number.
    if (furthest < base) return 0;
    return Math.ceil((furthest + 1) / SEQUENCES_PER_MS - this.#clock);
  }

  /**
   * Forgets every channel whose counter is not ahead of the clock (its next number comes from
   * the clock alone). Runs by itself as the map grows; returns how many were forgotten.
   *
   * @example
   * ```ts
   * import { SequenceAllocator } from "./sequence.ts";
   * const sequences = new SequenceAllocator();
   * sequences.allocate("news");
   * setTimeout(() => console.log(sequences.prune()), 2); // 1: the clock has moved on
   * ```
   */
  prune(): number {
    const base = this.#base();
    let forgotten = 0;
    for (const [channel, last] of this.#last) {
      if (last < base) {
        this.#last.delete(channel);
        forgotten++;
      }
    }
    return forgotten;
  }

  /**
   * Channels currently tracked (ahead of or at the clock): what this allocator costs in memory.
   *
   * @example
   * ```ts
   * import { SequenceAllocator } from "./sequence.ts";
   * new SequenceAllocator().tracked; // 0
   * ```
   */
  get tracked(): number {
    return this.#last.size;
  }
}
