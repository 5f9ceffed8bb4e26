/**
 * The hub: every client whose handshake has completed, over any transport, and publishing to
 * them. Every source publishes through {@link Hub.publish} — the operator's standard input, the
 * dashboard, relayed client messages — which checks the message, fans it out (encoded once per
 * framing), counts, logs once and says what happened. It knows no socket and no transport.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import { OutgoingMessage } from "./message.ts";
 * import { Logger } from "../util/logger.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const result = await hub.publish(new OutgoingMessage("hello", { kind: "stdin" }));
 * result.delivered; // 0: nobody connected yet
 * ```
 * @module
 */
import { BROADCAST_CHANNEL } from "../protocol/channel.ts";
import { formatBytes, type Logger, plural } from "../util/logger.ts";
import type { OutgoingMessage } from "./message.ts";
import { newCounters, type Peer, type TrafficCounters, type Transport } from "./peer.ts";

/** What the hub needs to know. */
export interface HubOptions {
  /** The server log. */
  logger: Logger;
  /** Largest payload any peer accepts, in bytes: larger messages are refused. */
  maxFrame: number;
}

/** Why a message was not published: too large for `--max-frame`, or no broker to carry it. */
export interface PublishRefusal {
  /** `too-large` or `unavailable` (the `ERR` codes of protocol v2). */
  code: "too-large" | "unavailable";
  /** One line for the user. */
  reason: string;
}

/** What became of one published message. */
export interface PublishResult {
  /** Set when it was refused: nothing was sent. */
  refused?: PublishRefusal;
  /** Its sequence number in its channel, once published. */
  seq?: number;
  /** Peers it was offered to (every peer but its sender). */
  offered: number;
  /** Peers it was queued for. */
  delivered: number;
  /** Peers whose connection cannot carry it (a newline under `--framing line`). */
  skipped: number;
  /** Peers cut off as slow consumers instead of taking it. */
  cutOff: number;
}

/**
 * The set of connected peers, publishing to them, and the server-wide traffic counters.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import { OutgoingMessage } from "./message.ts";
 * import { Logger } from "../util/logger.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * await hub.publish(new OutgoingMessage("server restarting in 5 minutes", { kind: "stdin" }));
 * for (const peer of hub.peers()) console.log(peer.id, peer.counters.messagesOut);
 * ```
 */
export class Hub {
  readonly #peers = new Set<Peer>();
  readonly #perTransport = new Map<Transport, number>();
  readonly #options: HubOptions;
  #lastId = 0;
  /** Traffic of all peers since the server started. */
  readonly totals: TrafficCounters = newCounters();

  /** An empty hub. */
  constructor(options: HubOptions) {
    this.#options = options;
  }

  /** Largest payload accepted, in bytes. */
  get maxFrame(): number {
    return this.#options.maxFrame;
  }

  /** The server log, shared by every peer. */
  get logger(): Logger {
    return this.#options.logger;
  }

  /** A fresh peer number. */
  nextId(): number {
    return ++this.#lastId;
  }

  /** Number of connected peers. */
  get size(): number {
    return this.#peers.size;
  }

  /** The connected peers. */
  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /**
   * Number of connected peers of one transport.
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import { Logger } from "../util/logger.ts";
   * new Hub({ logger: new Logger(), maxFrame: 1024 }).count("ws"); // 0
   * ```
   */
  count(transport: Transport): number {
    return this.#perTransport.get(transport) ?? 0;
  }

  /** Adds a peer whose handshake completed. */
  add(peer: Peer): void {
    if (this.#peers.has(peer)) return;
    this.#peers.add(peer);
    this.#perTransport.set(peer.transport, this.count(peer.transport) + 1);
  }

  /** Removes a peer that is closing. */
  remove(peer: Peer): void {
    if (!this.#peers.delete(peer)) return;
    this.#perTransport.set(peer.transport, this.count(peer.transport) - 1);
  }

  /**
   * Counts messages a peer sent, in its counters and the server totals alike.
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import { newCounters, type Peer } from "./peer.ts";
   * import { Logger } from "../util/logger.ts";
   * const hub = new Hub({ logger: new Logger(), maxFrame: 1024 });
   * const peer = { counters: newCounters() } as Peer;
   * hub.countIn(peer, 2, 10); // peer.counters.messagesIn === 2, hub.totals.bytesIn === 10
   * ```
   */
  countIn(peer: Peer, messages: number, bytes: number): void {
    peer.counters.messagesIn += messages;
    peer.counters.bytesIn += bytes;
    this.totals.messagesIn += messages;
    this.totals.bytesIn += bytes;
  }

  /** Counts messages sent to a peer, in its counters and the server totals alike. */
  countOut(peer: Peer, messages: number, bytes: number): void {
    peer.counters.messagesOut += messages;
    peer.counters.bytesOut += bytes;
    this.totals.messagesOut += messages;
    this.totals.bytesOut += bytes;
  }

  /**
   * Publishes one message to every peer but its sender. An operator's message (not a relayed
   * one, which would flood the log) is logged once, with what became of it.
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import { OutgoingMessage } from "./message.ts";
   * import { Logger } from "../util/logger.ts";
   * const hub = new Hub({ logger: new Logger(), maxFrame: 4 });
   * const result = await hub.publish(new OutgoingMessage("too long", { kind: "dashboard" }));
   * result.refused?.reason; // "8 B is more than the maximum of 4 B (--max-frame)"
   * ```
   */
  publish(message: OutgoingMessage): Promise<PublishResult> {
    const { logger, maxFrame } = this.#options;
    const size = message.payload.length;
    const logged = message.source.kind !== "relay";
    if (size > maxFrame) {
      const reason = `${formatBytes(size)} is more than the maximum of ${
        formatBytes(maxFrame)
      } (--max-frame)`;
      if (logged) logger.error(`${message.source.kind} message not sent: ${reason}`);
      const refused = { code: "too-large", reason } as const;
      return Promise.resolve({ refused, offered: 0, delivered: 0, skipped: 0, cutOff: 0 });
    }
    const result = this.#fanOut(message);
    if (logged) {
      logger.info(`broadcast ${formatBytes(size)} to ${plural(result.delivered, "client")}`);
      if (result.skipped > 0) {
        logger.error(
          `broadcast skipped for ${plural(result.skipped, "client")}: ` +
            `--framing line cannot carry a newline`,
        );
      }
    }
    return Promise.resolve(result);
  }

  #fanOut(message: OutgoingMessage): PublishResult {
    const sender = message.source.kind === "relay" ? message.source.peer : undefined;
    const result: PublishResult = { offered: 0, delivered: 0, skipped: 0, cutOff: 0 };
    // Every peer so far speaks v1, whose clients receive the broadcast channel only.
    if (message.channel !== BROADCAST_CHANNEL) return result;
    // A copy: a slow consumer removes itself while we iterate.
    for (const peer of [...this.#peers]) {
      if (peer === sender) continue;
      result.offered++;
      const delivery = peer.deliver(message);
      if (delivery === "sent") result.delivered++;
      else if (delivery === "skipped") result.skipped++;
      else if (delivery === "cut-off") result.cutOff++;
    }
    return result;
  }
}
