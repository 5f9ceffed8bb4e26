/**
 * The retained messages of every channel, for `SUB <channel> <seq>` replay: a pure data
 * structure (no I/O, no transport, no timers; the clock is injected).
 *
 * Three limits, each evicting the oldest messages first:
 * - `maxMessages` per channel (`--history N`, default {@link DEFAULT_HISTORY_MESSAGES});
 * - `maxAgeMs` (`--history-age`, default {@link DEFAULT_HISTORY_AGE_MS}, 0 = no age limit);
 * - `maxBytes` for all channels together (default {@link DEFAULT_HISTORY_BYTES}), counting each
 *   message's bytes as given plus {@link ENTRY_OVERHEAD_BYTES}, so that memory stays bounded
 *   whatever the channel count and message sizes (10,000 channels × 100 messages of 1 MiB would
 *   otherwise be a terabyte).
 *
 * GAP detection. Sequence numbers are not consecutive, so a hole between two numbers says
 * nothing. Instead each channel keeps the number of the last message it dropped
 * (`lastDropped`). Eviction is oldest first, so the retained messages are always all the
 * messages above `lastDropped`, and for a replay from `from`:
 * - `lastDropped >= from`: something in `[from, firstRetained)` existed and is gone, so the
 *   replay says `GAP <from> <to>`, with `<to>` the first retained number, or the `<next>` of the
 *   `OK SUB` when nothing is retained (so `<to>` is always where the replay, or the live
 *   stream, continues);
 * - otherwise nothing was dropped at or above `from`: no GAP.
 *
 * Memory per channel. A channel whose last retained message is gone costs only a tombstone
 * (its name and `lastDropped`) in a map capped at `maxTombstones`; a channel that never had a
 * message costs nothing. When the cap forgets a tombstone, its `lastDropped` is folded into a
 * watermark that applies to every channel the store knows nothing about: a replay from below it
 * reports a GAP, possibly one that is not real, rather than hide one that is (a conservative
 * answer that only hosts with more than `maxTombstones` idle channels ever see). The option
 * `assumeDroppedBelow` sets that watermark from the start: a server that restarts with empty
 * history may set it to its first sequence number, so that clients resuming from before the
 * restart are told that messages may be lost.
 *
 * @example
 * ```ts
 * import { ChannelHistory } from "./channel_history.ts";
 * const history = new ChannelHistory<string>({ maxMessages: 2 });
 * history.append("news", 10, "a");
 * history.append("news", 20, "b");
 * history.append("news", 30, "c"); // "a" is dropped
 * const replay = history.replayFrom("news", 0, 31);
 * replay.gap; // { from: 0, to: 20 }
 * replay.messages.map((m) => m.value); // ["b", "c"]
 * ```
 * @module
 */

/**
 * Default messages retained per channel (`--history`).
 *
 * @example
 * ```ts
 * import { ChannelHistory, DEFAULT_HISTORY_MESSAGES } from "./channel_history.ts";
 * new ChannelHistory({ maxMessages: DEFAULT_HISTORY_MESSAGES }); // 100
 * ```
 */
export const DEFAULT_HISTORY_MESSAGES = 100;

/**
 * Default age limit (`--history-age`): one hour.
 *
 * @example
 * ```ts
 * import { DEFAULT_HISTORY_AGE_MS } from "./channel_history.ts";
 * DEFAULT_HISTORY_AGE_MS / 60_000; // 60 minutes
 * ```
 */
export const DEFAULT_HISTORY_AGE_MS = 60 * 60 * 1000;

/**
 * Default budget of all channels' history together: 64 MiB.
 *
 * @example
 * ```ts
 * import { ChannelHistory, DEFAULT_HISTORY_BYTES } from "./channel_history.ts";
 * new ChannelHistory({ maxBytes: 4 * DEFAULT_HISTORY_BYTES }); // a bigger server
 * ```
 */
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;

/**
 * Default cap of tombstones (channels whose history is gone but whose last dropped number is
 * kept for GAP detection).
 *
 * @example
 * ```ts
 * import { ChannelHistory, DEFAULT_MAX_TOMBSTONES } from "./channel_history.ts";
 * new ChannelHistory({ maxTombstones: DEFAULT_MAX_TOMBSTONES }); // 100,000
 * ```
 */
export const DEFAULT_MAX_TOMBSTONES = 100_000;

/**
 * What one retained message costs the store itself, beyond its value: 111 bytes measured by
 * `bench/history_memory.ts` at 1,000,000 messages (the entry object, its two numbers, its slots
 * in two queues), rounded up. It is added to every message's bytes in the `maxBytes` accounting.
 * (A channel's own record, about 280 bytes while it retains anything, is not charged: the count
 * of channels is bounded by the messages retained.)
 *
 * @example
 * ```ts
 * import { ENTRY_OVERHEAD_BYTES } from "./channel_history.ts";
 * const budgetFor100k = 100_000 * (ENTRY_OVERHEAD_BYTES + 200); // 200-byte messages
 * ```
 */
export const ENTRY_OVERHEAD_BYTES = 112;

/** Options of a {@link ChannelHistory}; every limit evicts oldest first. */
export interface ChannelHistoryOptions {
  /** Messages retained per channel (default 100; 0 keeps none, but still detects gaps). */
  maxMessages?: number;
  /** Age limit in milliseconds (default one hour; 0 = none). */
  maxAgeMs?: number;
  /** Bytes of all channels together, each message counting its bytes + overhead (default 64 MiB). */
  maxBytes?: number;
  /** Channels without retained messages whose last dropped number is kept (default 100,000). */
  maxTombstones?: number;
  /** Treat every number below this as possibly dropped on channels with no record (default none). */
  assumeDroppedBelow?: number;
  /** The clock in milliseconds (default `Date.now`); injectable for tests. */
  now?: () => number;
}

/**
 * One retained message.
 *
 * @example
 * ```ts
 * import type { RetainedMessage } from "./channel_history.ts";
 * const retained: RetainedMessage<string> = { seq: 5, time: Date.now(), value: "hello" };
 * ```
 */
export interface RetainedMessage<T> {
  /** Its sequence number. */
  readonly seq: number;
  /** When it was appended (the store's clock, ms). */
  readonly time: number;
  /** What the caller stored (e.g. the encoded `MSG` payload, cached per framing). */
  readonly value: T;
}

/**
 * Messages numbered in `[from, to)` existed but are no longer retained: `GAP <ch> <from> <to>`.
 *
 * @example
 * ```ts
 * import type { HistoryGap } from "./channel_history.ts";
 * const gap: HistoryGap = { from: 0, to: 1754000000000000 };
 * ```
 */
export interface HistoryGap {
  /** The number the replay was asked from. */
  readonly from: number;
  /** The first retained number, or the `<next>` of `OK SUB` when none is retained. */
  readonly to: number;
}

/**
 * What a replay sends after `OK SUB`: the GAP (when there is one), then the messages in order.
 *
 * @example
 * ```ts
 * import { ChannelHistory, type Replay } from "./channel_history.ts";
 * const replay: Replay<string> = new ChannelHistory<string>().replayFrom("news", 0, 1);
 * replay.messages.length; // 0
 * ```
 */
export interface Replay<T> {
  /** Present only when something at or above `from` was dropped. */
  readonly gap?: HistoryGap;
  /** Retained messages numbered `>= from`, in order (a new array the caller may keep). */
  readonly messages: RetainedMessage<T>[];
}

/**
 * A message appended with a number not above the channel's last one: the hub's numbering is
 * broken (numbers must strictly increase within a channel).
 *
 * @example
 * ```ts
 * import { ChannelHistory, HistoryOrderError } from "./channel_history.ts";
 * const history = new ChannelHistory<string>();
 * history.append("news", 5, "a");
 * try {
 *   history.append("news", 5, "again");
 * } catch (error) {
 *   if (error instanceof HistoryOrderError) console.error(error.message);
 * }
 * ```
 */
export class HistoryOrderError extends Error {
  /** The channel. */
  readonly channel: string;
  /** The number appended. */
  readonly seq: number;
  /** The channel's last number before it. */
  readonly last: number;
  /** Creates the error. */
  constructor(channel: string, seq: number, last: number) {
    super(`message ${seq} appended to channel ${channel} after ${last}: numbers must increase`);
    this.name = new.target.name;
    this.channel = channel;
    this.seq = seq;
    this.last = last;
  }
}

/** A retained message with its bookkeeping. */
class Entry<T> implements RetainedMessage<T> {
  /** Evicted from its channel by the count limit; still in the global queue until skipped. */
  dead = false;
  constructor(
    readonly seq: number,
    readonly time: number,
    readonly value: T,
    readonly cost: number,
    readonly channel: ChannelState<T>,
  ) {}
}

/** One channel's retained messages: a deque (array + head index), oldest first. */
class ChannelState<T> {
  entries: (Entry<T> | undefined)[] = [];
  head = 0;
  constructor(
    readonly name: string,
    /** Number of the last message dropped (or assumed dropped: the watermark), or NONE. */
    public lastDropped: number,
    /** Number of the last message appended, or NONE: the next must be above it. */
    public lastSeq: number,
  ) {}
  get count(): number {
    return this.entries.length - this.head;
  }
}

/** Compact a deque once this many slots at its front are free and they are half of it. */
const COMPACT_MIN = 32;
/** No number: below every sequence number. */
const NONE = -1;

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole number >= 0, got ${value}`);
  }
}

/**
 * Bounded history of every channel.
 *
 * @example
 * ```ts
 * import { ChannelHistory } from "./channel_history.ts";
 * import { SequenceAllocator } from "./sequence.ts";
 * const sequences = new SequenceAllocator();
 * const history = new ChannelHistory<Uint8Array>({ maxMessages: 100, maxAgeMs: 3_600_000 });
 * const payload = new TextEncoder().encode("cpu 93%");
 * history.append("metrics", sequences.allocate("metrics"), payload, payload.length);
 * // SUB metrics 0:
 * const next = sequences.next("metrics"); // OK SUB metrics <next>
 * const { gap, messages } = history.replayFrom("metrics", 0, next);
 * console.log(gap, messages.length); // undefined 1
 * ```
 */
export class ChannelHistory<T> {
  readonly #maxMessages: number;
  readonly #maxAgeMs: number;
  readonly #maxBytes: number;
  readonly #maxTombstones: number;
  readonly #now: () => number;
  readonly #channels = new Map<string, ChannelState<T>>();
  /** Channel → its last dropped number, for channels with nothing retained; oldest first. */
  readonly #tombstones = new Map<string, number>();
  /** Every entry in the order appended, dead ones included until they reach the front. */
  #queue: (Entry<T> | undefined)[] = [];
  #queueHead = 0;
  #deadInQueue = 0;
  #size = 0;
  #bytes = 0;
  /** The last dropped number assumed for a channel the store has no record of. */
  #watermark: number;

  /** Creates an empty store; see {@link ChannelHistoryOptions} for the limits and defaults. */
  constructor(options: ChannelHistoryOptions = {}) {
    this.#maxMessages = options.maxMessages ?? DEFAULT_HISTORY_MESSAGES;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_HISTORY_AGE_MS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_HISTORY_BYTES;
    this.#maxTombstones = options.maxTombstones ?? DEFAULT_MAX_TOMBSTONES;
    this.#now = options.now ?? Date.now;
    checkCount("maxMessages", this.#maxMessages);
    checkCount("maxTombstones", this.#maxTombstones);
    if (!(this.#maxAgeMs >= 0 && this.#maxAgeMs < Infinity)) {
      throw new RangeError(`maxAgeMs must be >= 0 (0 = no limit), got ${this.#maxAgeMs}`);
    }
    if (!(this.#maxBytes > 0)) throw new RangeError(`maxBytes must be > 0, got ${this.#maxBytes}`);
    const below = options.assumeDroppedBelow;
    if (below !== undefined) checkCount("assumeDroppedBelow", below);
    this.#watermark = below === undefined || below === 0 ? NONE : below - 1;
  }

  /** Messages retained in all channels. */
  get size(): number {
    return this.#size;
  }

  /** Channels with at least one retained message. */
  get channels(): number {
    return this.#channels.size;
  }

  /** The names of the channels with at least one retained message. */
  channelNames(): IterableIterator<string> {
    return this.#channels.keys();
  }

  /** Bytes accounted against `maxBytes` (messages' bytes plus the per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Channels with nothing retained whose last dropped number is still known. */
  get tombstones(): number {
    return this.#tombstones.size;
  }

  /**
   * Messages retained for `channel` (for the dashboard).
   *
   * @example
   * ```ts
   * import { ChannelHistory } from "./channel_history.ts";
   * new ChannelHistory().retainedCount("news"); // 0
   * ```
   */
  retainedCount(channel: string): number {
    return this.#channels.get(channel)?.count ?? 0;
  }

  /**
   * The number of the last message of `channel` that was dropped (evicted, expired, or never
   * retained), as far as the store knows; undefined when none.
   *
   * @example
   * ```ts
   * import { ChannelHistory } from "./channel_history.ts";
   * const history = new ChannelHistory<string>({ maxMessages: 0 });
   * history.append("news", 7, "not retained");
   * history.lastDropped("news"); // 7
   * ```
   */
  lastDropped(channel: string): number | undefined {
    const last = this.#channels.get(channel)?.lastDropped ??
      this.#tombstones.get(channel) ?? this.#watermark;
    return last === NONE ? undefined : last;
  }

  /**
   * Retains a new message of `channel`, numbered `seq` (strictly above the channel's previous
   * number: else {@link HistoryOrderError}), weighing `bytes` (plus
   * {@link ENTRY_OVERHEAD_BYTES}) against the byte budget. Evicts what the limits require.
   *
   * @example
   * ```ts
   * import { ChannelHistory } from "./channel_history.ts";
   * const history = new ChannelHistory<Uint8Array>();
   * const payload = new TextEncoder().encode("MSG news 1754000000000000 hello");
   * history.append("news", 1754000000000000, payload, payload.length);
   * ```
   */
  append(channel: string, seq: number, value: T, bytes = 0): void {
    const now = this.#now();
    this.#expire(now);
    let state = this.#channels.get(channel);
    const last = state?.lastSeq ?? this.#tombstones.get(channel);
    if (last !== undefined && seq <= last) throw new HistoryOrderError(channel, seq, last);
    const cost = bytes + ENTRY_OVERHEAD_BYTES;
    if (this.#maxMessages === 0 || cost > this.#maxBytes) {
      // Never retained. Everything older of the channel goes too, so that what is retained
      // stays exactly what lies above lastDropped.
      if (state) {
        while (state.count > 0) this.#evictFromChannel(state);
        this.#channels.delete(channel);
      }
      this.#bury(channel, seq);
      return;
    }
    if (!state) {
      const buried = this.#tombstones.get(channel);
      if (buried !== undefined) this.#tombstones.delete(channel);
      state = new ChannelState<T>(channel, buried ?? this.#watermark, buried ?? NONE);
      this.#channels.set(channel, state);
    }
    const entry = new Entry(seq, now, value, cost, state);
    state.entries.push(entry);
    state.lastSeq = seq;
    this.#queue.push(entry);
    this.#size++;
    this.#bytes += cost;
    if (state.count > this.#maxMessages) this.#evictFromChannel(state);
    while (this.#bytes > this.#maxBytes) this.#evictOldest();
  }

  /**
   * The replay for `SUB <channel> <from>`: every retained message numbered `>= from`, in order,
   * and the {@link HistoryGap} when something at or above `from` was dropped. `next` is the
   * `<next>` sent in `OK SUB` (the `<to>` of a GAP when nothing is retained).
   *
   * Send `OK SUB`, then the GAP, then the messages, and register the subscriber in the same
   * synchronous step: nothing can be appended in between, so live messages follow without a
   * gap or a duplicate.
   *
   * @example
   * ```ts
   * import { ChannelHistory } from "./channel_history.ts";
   * const history = new ChannelHistory<string>({ maxMessages: 0 });
   * history.append("news", 100, "gone at once");
   * history.replayFrom("news", 50, 101); // { gap: { from: 50, to: 101 }, messages: [] }
   * history.replayFrom("news", 101, 101); // { messages: [] }: nothing dropped at or above 101
   * ```
   */
  replayFrom(channel: string, from: number, next: number): Replay<T> {
    this.#expire(this.#now());
    const state = this.#channels.get(channel);
    const lastDropped = state?.lastDropped ?? this.#tombstones.get(channel) ?? this.#watermark;
    let messages: Entry<T>[] = [];
    if (state) {
      const entries = state.entries as Entry<T>[];
      // First index with seq >= from (entries are in increasing order).
      let low = state.head;
      let high = entries.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (entries[middle].seq < from) low = middle + 1;
        else high = middle;
      }
      messages = entries.slice(low);
    }
    if (lastDropped < from) return { messages };
    // What is retained lies above the channel's own lastDropped, so the first replayed message is
    // the first retained one. (With a lastDropped assumed from the watermark, retained messages
    // may lie below it; then the range ends at the first replayed one, if that leaves a range.)
    const to = messages.length > 0 ? messages[0].seq : next;
    return to > from ? { gap: { from, to }, messages } : { messages };
  }

  /**
   * Drops every message older than the age limit now (appends and replays do it too); call it
   * from a timer to give memory back while a server is idle. Returns how many were dropped.
   *
   * @example
   * ```ts
   * import { ChannelHistory } from "./channel_history.ts";
   * const history = new ChannelHistory({ maxAgeMs: 60_000 });
   * setInterval(() => history.expire(), 10_000);
   * ```
   */
  expire(): number {
    return this.#expire(this.#now());
  }

  #expire(now: number): number {
    if (this.#maxAgeMs === 0) return 0;
    const cutoff = now - this.#maxAgeMs;
    let dropped = 0;
    for (let entry = this.#front(); entry && entry.time <= cutoff; entry = this.#front()) {
      this.#evictOldest();
      dropped++;
    }
    return dropped;
  }

  /** The oldest live entry, skipping (and releasing) dead ones. */
  #front(): Entry<T> | undefined {
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const entry = queue[this.#queueHead]!;
      if (!entry.dead) return entry;
      queue[this.#queueHead++] = undefined;
      this.#deadInQueue--;
    }
    return undefined;
  }

  /** Drops the oldest message of all channels (which is the oldest of its channel). */
  #evictOldest(): void {
    const entry = this.#front();
    if (!entry) return;
    this.#queue[this.#queueHead++] = undefined;
    this.#dropFront(entry.channel);
    if (this.#queueHead >= COMPACT_MIN && this.#queueHead * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /** Drops the oldest message of `state` by the per-channel count: it stays queued, dead. */
  #evictFromChannel(state: ChannelState<T>): void {
    const entry = state.entries[state.head]!;
    entry.dead = true;
    this.#deadInQueue++;
    this.#dropFront(state);
    // Dead entries are released as they reach the front; when they outnumber the live ones
    // (one busy channel among idle ones), the queue is rebuilt without them.
    const queued = this.#queue.length - this.#queueHead;
    if (this.#deadInQueue >= COMPACT_MIN && this.#deadInQueue * 2 > queued) {
      this.#queue = this.#queue.slice(this.#queueHead).filter((e) => !e!.dead);
      this.#queueHead = 0;
      this.#deadInQueue = 0;
    }
  }

  /** Removes the front entry of `state`; a channel left empty becomes a tombstone. */
  #dropFront(state: ChannelState<T>): void {
    const entry = state.entries[state.head]!;
    state.entries[state.head++] = undefined;
    state.lastDropped = entry.seq;
    this.#size--;
    this.#bytes -= entry.cost;
    if (state.count === 0) {
      this.#channels.delete(state.name);
      this.#bury(state.name, state.lastDropped);
    } else if (state.head >= COMPACT_MIN && state.head * 2 >= state.entries.length) {
      state.entries = state.entries.slice(state.head);
      state.head = 0;
    }
  }

  /** Records `lastDropped` of a channel with nothing retained, forgetting the oldest over the cap. */
  #bury(channel: string, lastDropped: number): void {
    this.#tombstones.delete(channel); // re-inserted as the newest
    this.#tombstones.set(channel, lastDropped);
    while (this.#tombstones.size > this.#maxTombstones) {
      const [oldest, dropped] = this.#tombstones.entries().next().value!;
      this.#tombstones.delete(oldest);
      if (dropped > this.#watermark) this.#watermark = dropped;
    }
  }
}
