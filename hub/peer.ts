/**
 * What the hub knows of a connected client, whatever its transport.
 *
 * @example
 * ```ts
 * import type { Peer } from "./peer.ts";
 * function describe(peer: Peer): string {
 *   return `#${peer.id} ${peer.transport} ${peer.address}`;
 * }
 * ```
 * @module
 */
import type { OutgoingMessage } from "./message.ts";

/** Message and byte counters, of one peer or of the whole server. */
export interface TrafficCounters {
  /** Messages received. */
  messagesIn: number;
  /** Payload bytes received. */
  bytesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Payload bytes sent. */
  bytesOut: number;
}

/**
 * Counters all at zero.
 *
 * @example
 * ```ts
 * import { newCounters } from "./peer.ts";
 * const counters = newCounters(); // { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 }
 * counters.messagesIn++;
 * ```
 */
export function newCounters(): TrafficCounters {
  return { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };
}

/** A client connection the hub can push to. */
export interface Peer {
  /** Server-wide number, for logs. */
  readonly id: number;
  /** How it is connected. */
  readonly transport: "tls" | "tcp" | "ws";
  /** Remote address as `host:port`. */
  readonly address: string;
  /** When its handshake completed. */
  readonly since: Date;
  /** What it has sent and received. */
  readonly counters: TrafficCounters;
  /** Bytes waiting to be written to it. */
  readonly queuedBytes: number;
  /** Queues a message; a peer that cannot take it disconnects itself as a slow consumer. */
  deliver(message: OutgoingMessage): void;
  /** Flushes what is queued (for at most `drainMs`), then closes cleanly. */
  shutdown(drainMs: number): Promise<void>;
}
