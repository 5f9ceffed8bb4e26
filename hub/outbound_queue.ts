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

/** Where queued bytes go: `Deno.Conn` is one. */
export interface ByteSink {
  /** Writes some of `bytes`; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options of an {@link OutboundQueue}. */
export interface OutboundQueueOptions {
  /** Most bytes that may wait; beyond it {@link OutboundQueue.offer} refuses. */
  maxPending: number;
}

/** Largest buffer built by joining queued frames for one write. */
const MAX_COALESCED_WRITE = 256 * 1024;

/** Bounded FIFO of frames drained by one writer loop. */
export class OutboundQueue {
  readonly #sink: ByteSink;
  readonly #maxPending: number;
  #frames: Uint8Array[] = [];
  #pending = 0;
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

  /** The write error that stopped this queue, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** True when a reader should pause until {@link hasRoom} resolves. */
  get full(): boolean {
    return this.#pending >= this.#maxPending;
  }

  /**
   * Queues `frame` unless that would pass the limit (a lone frame into an empty queue is always
   * taken, so a message larger than the limit can still go). False means: slow consumer.
   */
  offer(frame: Uint8Array): boolean {
    if (this.#pending > 0 && this.#pending + frame.length > this.#maxPending) return false;
    this.push(frame);
    return true;
  }

  /** Queues `frame` whatever the limit (for echoes, whose reader then pauses). */
  push(frame: Uint8Array): void {
    if (this.#error !== undefined) return;
    this.#frames.push(frame);
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
    this.#pending = 0;
    this.#wake();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#frames.length > 0 && this.#error === undefined) {
        const chunk = this.#takeCoalesced();
        let written = 0;
        while (written < chunk.length) {
          written += await this.#sink.write(written === 0 ? chunk : chunk.subarray(written));
        }
        this.#pending -= chunk.length;
        this.#wake();
      }
    } catch (error) {
      this.discard(error);
    } finally {
      this.#writing = false;
    }
  }

  #takeCoalesced(): Uint8Array {
    const frames = this.#frames;
    let count = 1;
    let size = frames[0].length;
    while (count < frames.length && size + frames[count].length <= MAX_COALESCED_WRITE) {
      size += frames[count].length;
      count++;
    }
    if (count === frames.length) {
      this.#frames = [];
      return concatBytes(frames);
    }
    return concatBytes(frames.splice(0, count));
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
