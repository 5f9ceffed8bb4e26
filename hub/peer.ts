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

/** How a client is connected: TLS, plain TCP (`--plain`) or WebSocket. */
export type Transport = "tls" | "tcp" | "ws";

/**
 * Every transport, in the order stats list them.
 *
 * @example
 * ```ts
 * import { TRANSPORTS } from "./peer.ts";
 * for (const transport of TRANSPORTS) console.log(transport); // tls, tcp, ws
 * ```
 */
export const TRANSPORTS: readonly Transport[] = ["tls", "tcp", "ws"];

/**
 * What became of one message offered to one peer: queued, skipped (this connection cannot carry
 * it: a newline under line framing), refused because the peer was cut off as a slow consumer,
 * or dropped because the peer is already closing.
 */
export type Delivery = "sent" | "skipped" | "cut-off" | "closing";

/** A client connection the hub can push to. */
export interface Peer {
  /** Server-wide number, for logs. */
  readonly id: number;
  /** How it is connected. */
  readonly transport: Transport;
  /** The protocol it speaks: 1 (echo; receives `broadcast`) or 2 (channels, commands). */
  readonly protocol: 1 | 2;
  /** Remote address as `host:port`. */
  readonly address: string;
  /**
   * Who the client is, when its transport proved it: the subject CN (else the first
   * subjectAltName) of the client certificate it presented under `--client-ca`.
   */
  readonly identity: string | undefined;
  /** When its handshake completed. */
  readonly since: Date;
  /** What it has sent and received. */
  readonly counters: TrafficCounters;
  /** Bytes waiting to be written to it. */
  readonly queuedBytes: number;
  /** Queues a message; a peer that cannot take it cuts itself off as a slow consumer. */
  deliver(message: OutgoingMessage): Delivery;
  /** Flushes what is queued (for at most `drainMs`), then closes cleanly. */
  shutdown(drainMs: number): Promise<void>;
}
