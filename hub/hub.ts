/**
 * The hub: every client whose handshake has completed, over any transport, the channels they
 * subscribe to, and publishing to them. Every source publishes through {@link Hub.publish} —
 * the operator's standard input, the dashboard, the publish API, relayed v1 messages, v2 `PUB` —
 * which checks the message, gives it its sequence number, keeps it for replay, fans it out
 * (encoded once per form and framing), logs an operator's message once and says what happened.
 * With a cluster (a broker), publishing goes through the broker and messages are delivered
 * when it hands them back, on every instance in one order. It knows no socket and no transport.
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
import { newSecurityCounters, type SecurityCounters } from "./security_counters.ts";
import { MAX_SEQUENCE } from "../protocol/sequence_number.ts";
import { withinDeadline } from "../util/deadline.ts";
import { describeError } from "../util/errors.ts";
import { formatBytes, type Logger, plural } from "../util/logger.ts";
import { ChannelHistory, type ChannelHistoryOptions, type HistoryGap } from "./channel_history.ts";
import { type Cluster, type ClusterMessage, ClusterRefusedError } from "./cluster.ts";
import { OutgoingMessage } from "./message.ts";
import { OwnPublishes } from "./own_publishes.ts";
import { newCounters, type Peer, type TrafficCounters, type Transport } from "./peer.ts";
import type { PublishRefusal, PublishResult } from "./publish_result.ts";
import { SequenceAllocator, SEQUENCES_PER_MS } from "./sequence.ts";
import { Subscriptions } from "./subscriptions.ts";

export type { PublishRefusal, PublishResult } from "./publish_result.ts";

/** What the hub needs to know. */
export interface HubOptions {
  /** The server log. */
  logger: Logger;
  /** Largest payload any peer accepts, in bytes: larger messages are refused. */
  maxFrame: number;
  /** What each channel retains for replay (`--history`, `--history-age`). */
  history?: ChannelHistoryOptions;
  /** A broker to publish through, and this instance's id in it (the origin of its messages). */
  cluster?: { cluster: Cluster; instanceId: string };
}

/** What a new subscription starts with, to be sent in this order before anything live. */
export interface Subscription {
  /** The lowest number a new message of the channel can get (the `<next>` of `OK SUB`). */
  next: number;
  /** Messages asked for that are no longer retained. */
  gap?: HistoryGap;
  /** The retained messages asked for, oldest first. */
  replay: OutgoingMessage[];
  /** Call once the replay has been sent: the live messages held meanwhile follow, then all. */
  live(): void;
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

/** How long a publisher waits for the broker to hand its message back before answering. */
const ARRIVAL_WAIT_MS = 5000;

/** Messages asked of the broker's history per round trip while replaying. */
const HISTORY_PAGE = 500;

const NOTHING_SENT = { offered: 0, delivered: 0, skipped: 0, cutOff: 0 } as const;

/**
 * The set of connected peers, their channels, publishing to them, and the traffic counters.
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
  readonly #subscriptions = new Subscriptions();
  readonly #sequences = new SequenceAllocator();
  /** Local mode: the history. With a cluster: what this instance received (used while down). */
  readonly #history: ChannelHistory<OutgoingMessage>;
  readonly #own = new OwnPublishes();
  /** Called with every published message (the dashboard's rate per channel). */
  readonly #publishListeners = new Set<(message: OutgoingMessage) => void>();
  #lastId = 0;
  /** Traffic of all peers since the server started. */
  readonly totals: TrafficCounters = newCounters();
  /** What authentication and the limits refused since the server started (`/metrics`). */
  readonly security: SecurityCounters = newSecurityCounters();

  /** An empty hub. */
  constructor(options: HubOptions) {
    this.#options = options;
    // What an earlier run published is not here: a client resuming from before now is told so
    // with a GAP, never left to believe it missed nothing.
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
    if (peer.protocol === 1) this.#subscriptions.join(peer, BROADCAST_CHANNEL);
  }

  /** Removes a peer that is closing, with its subscriptions. */
  remove(peer: Peer): void {
    if (!this.#peers.delete(peer)) return;
    this.#perTransport.set(peer.transport, this.count(peer.transport) - 1);
    this.#subscriptions.leaveAll(peer);
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
   * Subscribes a peer to `channel`; with `from`, also hands back the retained messages numbered
   * `>= from` (and the gap before them, if some are gone). Live messages of the channel wait
   * for this peer until {@link Subscription.live} is called, so the replay is followed by them
   * with no gap and no duplicate.
   *
   * @example
   * ```ts
   * import { Hub } from "./hub.ts";
   * import type { Peer } from "./peer.ts";
   * import { Logger } from "../util/logger.ts";
   * declare const peer: Peer; // a connected v2 peer
   * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
   * const { next, gap, replay, live } = await hub.subscribe(peer, "metrics", 0);
   * // send OK SUB metrics <next>, then GAP if any, then every replayed MSG; then:
   * live();
   * ```
   */
  async subscribe(peer: Peer, channel: string, from?: number): Promise<Subscription> {
    this.#subscriptions.join(peer, channel);
    this.#subscriptions.hold(peer, channel);
    const cluster = this.#options.cluster?.cluster;
    let start: Omit<Subscription, "live">;
    try {
      start = cluster?.up
        ? await this.#clusterStart(cluster, channel, from)
        : this.#localStart(channel, from);
    } catch (error) {
      this.logger.error(`history of ${channel} from the broker failed: ${describeError(error)}`);
      start = this.#localStart(channel, from);
    }
    const last = start.replay.at(-1)?.seq ?? -1;
    const live = () => {
      if (!this.#subscriptions.has(peer, channel)) return;
      for (const message of this.#subscriptions.release(peer, channel)) {
        if (message.seq! > last) peer.deliver(message);
      }
    };
    return { ...start, live };
  }

  /** Ends a subscription; false when there was none. */
  unsubscribe(peer: Peer, channel: string): boolean {
    if (!this.#subscriptions.has(peer, channel)) return false;
    this.#subscriptions.leave(peer, channel);
    return true;
  }

  /** Whether `peer` is subscribed to `channel`. */
  isSubscribed(peer: Peer, channel: string): boolean {
    return this.#subscriptions.has(peer, channel);
  }

  /** The channels `peer` is subscribed to. */
  channelsOf(peer: Peer): string[] {
    return this.#subscriptions.channelsOf(peer);
  }

  /** Number of channels `peer` is subscribed to. */
  channelCount(peer: Peer): number {
    return this.#subscriptions.count(peer);
  }

  /** Every channel with subscribers or retained messages, busiest first. */
  channels(): ChannelStats[] {
    const names = new Set([...this.#subscriptions.channelNames(), ...this.#history.channelNames()]);
    return [...names].map((channel) => ({
      channel,
      subscribers: this.#subscriptions.subscribers(channel).size,
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
   * Calls `listener` with every message delivered from now on, once it has been fanned out;
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

  /**
   * Publishes one message to the subscribers of its channel (but a relayed message's sender).
   * An operator's message (not a client's, which would flood the log) is logged once, with what
   * became of it. With a cluster it resolves once the broker handed it back and it was
   * delivered here; a broker that cannot take it refuses it (`unavailable`), nothing is lost
   * silently and no instance delivers it alone.
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
    const { maxFrame, cluster } = this.#options;
    const size = message.payload.length;
    if (size > maxFrame) {
      const reason = `${formatBytes(size)} is more than the maximum of ${
        formatBytes(maxFrame)
      } (--max-frame)`;
      return Promise.resolve(this.#refused(message, { code: "too-large", reason }));
    }
    if (cluster) return this.#publishThrough(cluster.cluster, message);
    message.seq = this.#sequences.allocate(message.channel);
    return Promise.resolve(this.#deliver(message));
  }

  /**
   * A message the broker delivered (from any instance, this one included): delivered to the
   * subscribers here, and to the publisher waiting for it when it is ours.
   */
  receive(delivered: ClusterMessage): void {
    const ours = delivered.origin === this.#options.cluster?.instanceId
      ? this.#own.claim(delivered.channel, delivered.payload)
      : undefined;
    const message = ours?.message ??
      new OutgoingMessage(delivered.payload, { kind: "broker" }, delivered.channel);
    message.seq = delivered.seq;
    const result = this.#deliver(message);
    ours?.arrived(result);
  }

  async #publishThrough(cluster: Cluster, message: OutgoingMessage): Promise<PublishResult> {
    if (!cluster.up) {
      return this.#refused(message, { code: "unavailable", reason: "the broker is unavailable" });
    }
    const own = this.#own.add(message);
    try {
      const seq = await cluster.publish(message.channel, message.payload);
      if (await withinDeadline(own.delivered, ARRIVAL_WAIT_MS)) return await own.delivered;
      this.#own.drop(own); // published, but not back yet: answer with what is known
      return { seq, ...NOTHING_SENT };
    } catch (error) {
      this.#own.drop(own);
      const code = error instanceof ClusterRefusedError && error.code === "too-large"
        ? "too-large"
        : "unavailable";
      return this.#refused(message, { code, reason: describeError(error) });
    }
  }

  /** Numbers, keeps and fans out a message whose seq is set; logs an operator's. */
  #deliver(message: OutgoingMessage): PublishResult {
    const size = message.payload.length;
    try {
      this.#history.append(message.channel, message.seq!, message, 2 * size);
    } catch (error) {
      this.logger.error(`not kept for replay: ${describeError(error)}`);
    }
    const result: PublishResult = { seq: message.seq, ...NOTHING_SENT };
    const sender = message.source.kind === "relay" ? message.source.peer : undefined;
    // A slow consumer leaves the set while we iterate: deleting the current entry is safe.
    for (const peer of this.#subscriptions.subscribers(message.channel)) {
      if (peer === sender || this.#subscriptions.heldBack(peer, message)) continue;
      result.offered++;
      const delivery = peer.deliver(message);
      if (delivery === "sent") result.delivered++;
      else if (delivery === "skipped") result.skipped++;
      else if (delivery === "cut-off") result.cutOff++;
    }
    for (const listener of this.#publishListeners) listener(message);
    if (isOperators(message)) {
      const what = message.channel === BROADCAST_CHANNEL
        ? `broadcast ${formatBytes(size)}`
        : `published ${formatBytes(size)} on ${message.channel}`;
      this.logger.info(`${what} to ${plural(result.delivered, "client")}`);
      if (result.skipped > 0) {
        this.logger.error(
          `broadcast skipped for ${plural(result.skipped, "client")}: ` +
            `--framing line cannot carry a newline`,
        );
      }
    }
    return result;
  }

  #refused(message: OutgoingMessage, refused: PublishRefusal): PublishResult {
    if (isOperators(message)) {
      this.logger.error(`${message.source.kind} message not sent: ${refused.reason}`);
    }
    return { refused, ...NOTHING_SENT };
  }

  #localStart(channel: string, from?: number): Omit<Subscription, "live"> {
    const next = this.#options.cluster
      ? this.#lastSeen(channel) + 1 // the broker's numbers: no clock of ours can promise more
      : this.#sequences.next(channel);
    if (from === undefined) return { next, replay: [] };
    const { gap, messages } = this.#history.replayFrom(channel, from, next);
    return { next, gap, replay: messages.map((retained) => retained.value) };
  }

  #lastSeen(channel: string): number {
    const { messages } = this.#history.replayFrom(channel, 0, MAX_SEQUENCE);
    return messages.at(-1)?.seq ?? -1;
  }

  async #clusterStart(
    cluster: Cluster,
    channel: string,
    from?: number,
  ): Promise<Omit<Subscription, "live">> {
    if (from === undefined) {
      return { next: (await cluster.history(channel, MAX_SEQUENCE, 1)).next, replay: [] };
    }
    const replay: OutgoingMessage[] = [];
    let page = await cluster.history(channel, from, HISTORY_PAGE);
    let gap: HistoryGap | undefined = page.gap ?? undefined;
    if (!gap && from < page.since) {
      // The broker lost its data below `since`: what was there cannot be known.
      gap = { from, to: page.messages[0]?.seq ?? page.next };
    }
    while (true) {
      for (const { seq, payload } of page.messages) {
        const message = new OutgoingMessage(payload, { kind: "broker" }, channel);
        message.seq = seq;
        replay.push(message);
      }
      if (!page.more || page.messages.length === 0) break;
      page = await cluster.history(channel, page.messages.at(-1)!.seq + 1, HISTORY_PAGE);
    }
    return { next: page.next, gap, replay };
  }
}

/** An operator's message (stdin, dashboard, API): logged, unlike clients' and foreign ones. */
function isOperators(message: OutgoingMessage): boolean {
  const { kind } = message.source;
  return kind === "stdin" || kind === "dashboard" || kind === "api";
}
