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
  /** For each queued frame, whether it came through {@link offer} (counts against the limit). */
  #offeredFlags: boolean[] = [];
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

  #enqueue(frame: Uint8Array, offered: boolean): void {
    if (this.#error !== undefined) return;
    this.#frames.push(frame);
    this.#offeredFlags.push(offered);
    this.#pending += frame.length;
    if (!this.#writing) this.#drain();
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
    this.#offeredFlags = [];
    this.#pending = 0;
    this.#offered = 0;
    this.#wake();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#frames.length > 0 && this.#error === undefined) {
        const { chunk, offered } = this.#takeCoalesced();
        let written = 0;
        while (written < chunk.length) {
          const count = await this.#sink.write(written === 0 ? chunk : chunk.subarray(written));
          written += count;
          this.#written += count;
        }
        this.#pending -= chunk.length;
        this.#offered -= offered;
        this.#wake();
      }
    } catch (error) {
      this.discard(error);
    } finally {
      this.#writing = false;
    }
  }

  /** Takes frames from the front, up to one write's worth, joined; with their offered bytes. */
  #takeCoalesced(): { chunk: Uint8Array; offered: number } {
    const frames = this.#frames;
    const flags = this.#offeredFlags;
    let count = 0;
    let size = 0;
    let offered = 0;
    do {
      size += frames[count].length;
      if (flags[count]) offered += frames[count].length;
      count++;
    } while (count < frames.length && size + frames[count].length <= MAX_COALESCED_WRITE);
    if (count === frames.length) {
      this.#frames = [];
      this.#offeredFlags = [];
      return { chunk: concatBytes(frames), offered };
    }
    flags.splice(0, count);
    return { chunk: concatBytes(frames.splice(0, count)), offered };
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
