/**
 * A connection's outbound queue: frames wait here, bounded in bytes, and go out coalesced into
 * as few writes as possible while the connection keeps reading (reads and writes overlap).
 *
 * Deno's TLS connections cannot turn Nagle off, so writing many small frames one by one would
 * both cost a system call each and risk delayed segments; joining what is queued into one
 * buffer avoids both.
 *
 * @example
 * ```ts
 * import { OutboundQueue } from "./outbound_queue.ts";
 * const conn = await Deno.connect({ port: 9002 });
 * const queue = new OutboundQueue(conn, { maxPending: 8 << 20 });
 * queue.push(new Uint8Array([0, 0, 0, 0]));
 * await queue.flushed();
 * ```
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";
import type { ByteSink } from "./net.ts";

/** Options of an {@link OutboundQueue}. */
export interface OutboundQueueOptions {
  /** Most bytes that may wait before {@link OutboundQueue.full} says the reader should pause. */
  maxPending: number;
}

/** Largest buffer built by joining queued frames for one write. */
const MAX_COALESCED_WRITE = 256 * 1024;

/**
 * Largest pooled buffer {@link OutboundQueue.pushCopy} packs small copies into (one TLS record's
 * worth); a larger copy gets a buffer of its own.
 */
export const STAGE_SIZE = 16 * 1024;
/** Sizes of the pooled buffers: the smallest that fits a copy is used. */
const STAGE_SIZES = [1024, 2048, 4096, 8192, STAGE_SIZE];
/** Bytes of free buffers each size keeps for reuse (shared by every queue; idle ones hold none). */
const POOL_BYTES_PER_SIZE = 2 << 20;
/**
 * Free buffers by size. Thousands of connections may each have one in flight at once (all their
 * reads complete before any write's callback runs), so small sizes keep many.
 */
const pools = new Map<number, ArrayBuffer[]>(STAGE_SIZES.map((size) => [size, []]));

function takeStage(size: number): Uint8Array {
  let stageSize = STAGE_SIZE;
  for (const candidate of STAGE_SIZES) {
    if (candidate >= size) {
      stageSize = candidate;
      break;
    }
  }
  return new Uint8Array(pools.get(stageSize)!.pop() ?? new ArrayBuffer(stageSize));
}

function giveBack(buffer: ArrayBuffer): void {
  const pool = pools.get(buffer.byteLength);
  if (pool && pool.length * buffer.byteLength < POOL_BYTES_PER_SIZE) pool.push(buffer);
}

/** What a queued entry is: an echo, an offered (pushed) message, or a pooled staging buffer. */
const ECHO = 0;
const OFFERED = 1;
const STAGED = 2;

/**
 * Bounded FIFO of frames drained by one writer loop.
 *
 * @example
 * ```ts
 * import { OutboundQueue } from "./outbound_queue.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * const queue = new OutboundQueue(conn, { maxPending: 8 << 20 });
 * queue.offer(new Uint8Array([0, 0, 0, 0])); // a pushed message
 * if (queue.offered > 8 << 20) console.error("slow consumer");
 * await queue.flushed();
 * ```
 */
export class OutboundQueue {
  readonly #sink: ByteSink;
  readonly #maxPending: number;
  #frames: Uint8Array[] = [];
  /** For each queued entry: ECHO, OFFERED (counts against the limit) or STAGED. */
  #kinds: number[] = [];
  /**
   * The staging buffer small copies are packed into while it is the last entry and not being
   * written: the entry is the whole buffer, `#stageUsed` of it filled.
   */
  #stage: Uint8Array | undefined;
  #stageUsed = 0;
  /** Offered bytes of the entries the last take joined. */
  #takenOffered = 0;
  #pending = 0;
  /** Bytes of offered frames queued or being written. */
  #offered = 0;
  #written = 0;
  #writing = false;
  #error: unknown;
  #waiters: (() => void)[] = [];

  /** Creates the queue in front of `sink`. */
  constructor(sink: ByteSink, options: OutboundQueueOptions) {
    this.#sink = sink;
    this.#maxPending = options.maxPending;
  }

  /** Bytes queued or being written. */
  get pending(): number {
    return this.#pending;
  }

  /** Bytes written since the queue was made (progress, for drain deadlines). */
  get written(): number {
    return this.#written;
  }

  /** The write error that stopped this queue, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** True when a reader should pause until {@link hasRoom} resolves. */
  get full(): boolean {
    return this.#pending >= this.#maxPending;
  }

  /** Bytes of offered (pushed) frames queued or being written: what a slow-consumer rule counts. */
  get offered(): number {
    return this.#offered;
  }

  /**
   * Queues a pushed message (broadcast, relay): it counts in {@link offered}, where the caller's
   * slow-consumer rule looks. Echoes go through {@link push} instead: they are bounded by pausing
   * the reader, so a client that sends one large message is not cut off by the next broadcast.
   */
  offer(frame: Uint8Array): void {
    this.#enqueue(frame, true);
    this.#offered += frame.length;
  }

  /** Queues `frame` whatever the limit (for echoes, whose reader then pauses). */
  push(frame: Uint8Array): void {
    this.#enqueue(frame, false);
  }

  /**
   * Queues a copy of `bytes` as {@link push} does (the caller may reuse them at once). Small
   * copies are packed one after another into a pooled buffer that goes back to the pool once
   * written: an echo then costs no allocation, and echoes queued meanwhile leave in one write.
   */
  pushCopy(bytes: Uint8Array): void {
    if (this.#error !== undefined) return;
    const size = bytes.length;
    if (size > STAGE_SIZE) return this.push(bytes.slice());
    let stage = this.#stage;
    if (stage === undefined || this.#stageUsed + size > stage.length) {
      this.#closeStage();
      stage = this.#stage = takeStage(size);
      this.#stageUsed = 0;
      this.#frames.push(stage);
      this.#kinds.push(STAGED);
    }
    stage.set(bytes, this.#stageUsed);
    this.#stageUsed += size;
    this.#pending += size;
    if (!this.#writing) this.#drain();
  }

  #enqueue(frame: Uint8Array, offered: boolean): void {
    if (this.#error !== undefined) return;
    this.#closeStage(); // later copies go after this frame
    this.#frames.push(frame);
    this.#kinds.push(offered ? OFFERED : ECHO);
    this.#pending += frame.length;
    if (!this.#writing) this.#drain();
  }

  /** No more copies go into the open staging buffer: its entry becomes what it holds. */
  #closeStage(): void {
    if (this.#stage === undefined) return;
    this.#frames[this.#frames.length - 1] = this.#stage.subarray(0, this.#stageUsed);
    this.#stage = undefined;
  }

  /** Resolves once the queue is below its limit again (or has failed). */
  async hasRoom(): Promise<void> {
    while (this.full && this.#error === undefined) await this.#changed();
  }

  /** Resolves once everything queued has been written (or the queue has failed). */
  async flushed(): Promise<void> {
    while (this.#pending > 0 && this.#error === undefined) await this.#changed();
  }

  /** Drops what is queued and stops writing (the connection is going away). */
  discard(reason: unknown = new Error("discarded")): void {
    this.#error ??= reason;
    this.#frames = [];
    this.#kinds = [];
    this.#stage = undefined; // not given back to the pool: a write may still hold it
    this.#pending = 0;
    this.#offered = 0;
    this.#wake();
  }

  /**
   * Writes what is queued, one coalesced chunk at a time, until the queue is empty. Written as
   * callbacks on the write promise rather than an async loop: no async function per write.
   */
  #drain(): void {
    if (this.#frames.length === 0 || this.#error !== undefined) {
      this.#writing = false;
      return;
    }
    this.#writing = true;
    const chunk = this.#take();
    this.#chunk = chunk;
    this.#chunkOffered = this.#takenOffered;
    this.#chunkWritten = 0;
    this.#write(chunk);
  }

  #write(bytes: Uint8Array): void {
    try {
      this.#sink.write(bytes).then(this.#onWritten, this.#onFailed);
    } catch (error) {
      this.#onFailed(error);
    }
  }

  /** The chunk being written, how much of it is, and what it holds. */
  #chunk: Uint8Array | undefined;
  #chunkWritten = 0;
  /** The pooled buffer the chunk is a view of, to give back once written. */
  #chunkStage: ArrayBuffer | undefined;
  #chunkOffered = 0;

  readonly #onWritten = (count: number): void => {
    const chunk = this.#chunk!;
    this.#written += count;
    this.#chunkWritten += count;
    if (this.#chunkWritten < chunk.length) {
      if (this.#error === undefined) this.#write(chunk.subarray(this.#chunkWritten));
      else this.#writing = false;
      return;
    }
    this.#chunk = undefined;
    // Written (even if the queue was discarded meanwhile): the sink is done with it.
    if (this.#chunkStage !== undefined) giveBack(this.#chunkStage);
    this.#chunkStage = undefined;
    if (this.#error === undefined) {
      this.#pending -= chunk.length;
      this.#offered -= this.#chunkOffered;
    }
    this.#wake();
    this.#drain();
  };

  readonly #onFailed = (error: unknown): void => {
    this.#chunk = undefined;
    this.#writing = false;
    this.discard(error);
  };

  /**
   * Takes entries from the front, up to one write's worth, joined ({@link #takenOffered} says
   * how many of their bytes were offered). A single pooled buffer is written as it is and given
   * back afterwards; pooled buffers joined with others are copied and given back at once.
   */
  #take(): Uint8Array {
    this.#closeStage(); // what is taken is final: later copies start another buffer
    const frames = this.#frames;
    const kinds = this.#kinds;
    if (frames.length === 1) {
      const chunk = frames[0];
      this.#chunkStage = kinds[0] === STAGED ? chunk.buffer as ArrayBuffer : undefined;
      this.#takenOffered = kinds[0] === OFFERED ? chunk.length : 0;
      frames.length = 0;
      kinds.length = 0;
      return chunk;
    }
    let count = 0;
    let size = 0;
    let offered = 0;
    do {
      size += frames[count].length;
      if (kinds[count] === OFFERED) offered += frames[count].length;
      count++;
    } while (count < frames.length && size + frames[count].length <= MAX_COALESCED_WRITE);
    this.#takenOffered = offered;
    const taken = frames.splice(0, count);
    const takenKinds = kinds.splice(0, count);
    if (count === 1) {
      this.#chunkStage = takenKinds[0] === STAGED ? taken[0].buffer as ArrayBuffer : undefined;
      return taken[0];
    }
    const chunk = concatBytes(taken);
    for (let i = 0; i < count; i++) {
      if (takenKinds[i] === STAGED) giveBack(taken[i].buffer as ArrayBuffer);
    }
    this.#chunkStage = undefined;
    return chunk;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
