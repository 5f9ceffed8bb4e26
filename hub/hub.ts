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
import { ChannelHistory, type ChannelHistoryOptions, type HistoryGap } from "./channel_history.ts";
import type { OutgoingMessage } from "./message.ts";
import { newCounters, type Peer, type TrafficCounters, type Transport } from "./peer.ts";
import { SequenceAllocator, SEQUENCES_PER_MS } from "./sequence.ts";

/** What the hub needs to know. */
export interface HubOptions {
  /** The server log. */
  logger: Logger;
  /** Largest payload any peer accepts, in bytes: larger messages are refused. */
  maxFrame: number;
  /** What each channel retains for replay (`--history`, `--history-age`). */
  history?: ChannelHistoryOptions;
}

/** What a new subscription starts with, to be sent in this order before anything live. */
export interface Subscription {
  /** The lowest number a new message of the channel can get (the `<next>` of `OK SUB`). */
  next: number;
  /** Messages asked for that are no longer retained. */
  gap?: HistoryGap;
  /** The retained messages asked for, oldest first. */
  replay: OutgoingMessage[];
}

/** One channel as the dashboard lists it. */
export interface ChannelStats {
  /** Its name. */
  channel: string;
  /** Peers subscribed (v1 clients count for `broadcast`). */
  subscribers: number;
  /** Messages retained for replay. */
  retained: number;
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
  /** Subscribers of each channel with any; v1 peers are subscribers of `broadcast`. */
  readonly #subscribers = new Map<string, Set<Peer>>();
  /** The channels of each subscribed peer. */
  readonly #channelsOf = new Map<Peer, Set<string>>();
  readonly #sequences = new SequenceAllocator();
  readonly #history: ChannelHistory<OutgoingMessage>;
  /** Called with every published message (the dashboard's rate per channel). */
  readonly #publishListeners = new Set<(message: OutgoingMessage) => void>();
  #lastId = 0;
  /** Traffic of all peers since the server started. */
  readonly totals: TrafficCounters = newCounters();

  /** An empty hub. */
  constructor(options: HubOptions) {
    this.#options = options;
    // What an earlier run of this server published is gone: a client resuming from before now
    // is told so with a GAP, never left to believe it missed nothing.
    const startedAt = Math.floor(Date.now() * SEQUENCES_PER_MS);
    this.#history = new ChannelHistory({ assumeDroppedBelow: startedAt, ...options.history });
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

  /** Adds a peer whose handshake completed; a v1 peer receives `broadcast` from now on. */
  add(peer: Peer): void {
    if (this.#peers.has(peer)) return;
    this.#peers.add(peer);
    this.#perTransport.set(peer.transport, this.count(peer.transport) + 1);
    if (peer.protocol === 1) this.#join(peer, BROADCAST_CHANNEL);
  }

  /** Removes a peer that is closing, with its subscriptions. */
  remove(peer: Peer): void {
    if (!this.#peers.delete(peer)) return;
    this.#perTransport.set(peer.transport, this.count(peer.transport) - 1);
    for (const channel of this.#channelsOf.get(peer) ?? []) this.#leave(peer, channel);
  }

  /**
   * Subscribes a peer to `channel`; with `from`, also hands back the retained messages numbered
   * `>= from` (and the gap before them, if some are gone). Everything happens in one step, so
   * the replay is followed by the live messages with no gap and no duplicate.
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import type { Peer } from "./peer.ts";
   * import { Logger } from "../util/logger.ts";
   * declare const peer: Peer; // a connected v2 peer
   * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
   * const { next, gap, replay } = hub.subscribe(peer, "metrics", 0);
   * // send OK SUB metrics <next>, then GAP if any, then every replayed MSG
   * ```
   */
  subscribe(peer: Peer, channel: string, from?: number): Subscription {
    const next = this.#sequences.next(channel);
    this.#join(peer, channel);
    if (from === undefined) return { next, replay: [] };
    const { gap, messages } = this.#history.replayFrom(channel, from, next);
    return { next, gap, replay: messages.map((retained) => retained.value) };
  }

  /** Ends a subscription; false when there was none. */
  unsubscribe(peer: Peer, channel: string): boolean {
    if (!this.#channelsOf.get(peer)?.has(channel)) return false;
    this.#leave(peer, channel);
    return true;
  }

  /** Whether `peer` is subscribed to `channel`. */
  isSubscribed(peer: Peer, channel: string): boolean {
    return this.#channelsOf.get(peer)?.has(channel) ?? false;
  }

  /** Number of channels `peer` is subscribed to. */
  channelCount(peer: Peer): number {
    return this.#channelsOf.get(peer)?.size ?? 0;
  }

  /** Every channel with subscribers or retained messages, busiest first. */
  channels(): ChannelStats[] {
    const names = new Set([...this.#subscribers.keys(), ...this.#history.channelNames()]);
    return [...names].map((channel) => ({
      channel,
      subscribers: this.#subscribers.get(channel)?.size ?? 0,
      retained: this.#history.retainedCount(channel),
    })).sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel));
  }

  /**
   * How long the process should wait before exiting so that a restarted server cannot give out
   * a sequence number again (0 unless a channel just ran ahead of the clock).
   */
  msUntilRestartSafe(): number {
    return this.#sequences.msUntilRestartSafe();
  }

  /**
   * Calls `listener` with every message published from now on, once it has been fanned out;
   * returns the function that stops it. For counters kept elsewhere (the dashboard's rates).
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import { Logger } from "../util/logger.ts";
   * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
   * const stop = hub.onPublish((message) => console.log(message.channel, message.seq));
   * stop();
   * ```
   */
  onPublish(listener: (message: OutgoingMessage) => void): () => void {
    this.#publishListeners.add(listener);
    return () => this.#publishListeners.delete(listener);
  }

  /** Drops retained messages past the age limit (call it now and then). */
  expireHistory(): void {
    this.#history.expire();
  }

  #join(peer: Peer, channel: string): void {
    let subscribers = this.#subscribers.get(channel);
    if (!subscribers) this.#subscribers.set(channel, subscribers = new Set());
    subscribers.add(peer);
    let channels = this.#channelsOf.get(peer);
    if (!channels) this.#channelsOf.set(peer, channels = new Set());
    channels.add(channel);
  }

  #leave(peer: Peer, channel: string): void {
    const subscribers = this.#subscribers.get(channel);
    subscribers?.delete(peer);
    if (subscribers?.size === 0) this.#subscribers.delete(channel);
    const channels = this.#channelsOf.get(peer);
    channels?.delete(channel);
    if (channels?.size === 0) this.#channelsOf.delete(peer);
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
    // Operators' messages are logged; clients' (relayed, PUB) would flood the log.
    const logged = message.source.kind !== "relay" && message.source.kind !== "client";
    if (size > maxFrame) {
      const reason = `${formatBytes(size)} is more than the maximum of ${
        formatBytes(maxFrame)
      } (--max-frame)`;
      if (logged) logger.error(`${message.source.kind} message not sent: ${reason}`);
      const refused = { code: "too-large", reason } as const;
      return Promise.resolve({ refused, offered: 0, delivered: 0, skipped: 0, cutOff: 0 });
    }
    message.seq = this.#sequences.allocate(message.channel);
    this.#history.append(message.channel, message.seq, message, 2 * size);
    const result = this.#fanOut(message);
    result.seq = message.seq;
    for (const listener of this.#publishListeners) listener(message);
    if (logged) {
      // Named by its channel unless it is a broadcast (what every v1 client gets).
      const what = message.channel === BROADCAST_CHANNEL
        ? `broadcast ${formatBytes(size)}`
        : `published ${formatBytes(size)} on ${message.channel}`;
      logger.info(`${what} to ${plural(result.delivered, "client")}`);
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
    // A slow consumer leaves the set while we iterate: deleting the current entry is safe.
    for (const peer of this.#subscribers.get(message.channel) ?? []) {
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
