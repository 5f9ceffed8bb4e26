/**
 * Who is subscribed to what: the subscribers of each channel, the channels of each peer, and
 * the subscriptions still replaying history, whose live messages wait until the replay has been
 * sent (so a replay is followed by live messages with no gap and no duplicate, even when the
 * history comes from a broker and takes a round trip).
 *
 * @example
 * ```ts
 * import { Subscriptions } from "./subscriptions.ts";
 * import type { Peer } from "./peer.ts";
 * declare const peer: Peer;
 * const subscriptions = new Subscriptions();
 * subscriptions.join(peer, "metrics");
 * subscriptions.subscribers("metrics").size; // 1
 * ```
 * @module
 */
import type { OutgoingMessage } from "./message.ts";
import type { Peer } from "./peer.ts";

const NOBODY: ReadonlySet<Peer> = new Set();

/**
 * The subscription table of one hub.
 *
 * @example
 * ```ts
 * import { Subscriptions } from "./subscriptions.ts";
 * import type { Peer } from "./peer.ts";
 * declare const peer: Peer;
 * const subscriptions = new Subscriptions();
 * subscriptions.join(peer, "news");
 * subscriptions.hold(peer, "news"); // live messages of news for this peer now wait
 * const waiting = subscriptions.release(peer, "news"); // ...and are handed back here
 * ```
 */
export class Subscriptions {
  readonly #subscribers = new Map<string, Set<Peer>>();
  readonly #channelsOf = new Map<Peer, Set<string>>();
  /** Live messages held back per peer and channel while its replay is being sent. */
  readonly #held = new Map<Peer, Map<string, OutgoingMessage[]>>();

  /** The subscribers of `channel` (empty when none). */
  subscribers(channel: string): ReadonlySet<Peer> {
    return this.#subscribers.get(channel) ?? NOBODY;
  }

  /** Channels with subscribers. */
  channelNames(): IterableIterator<string> {
    return this.#subscribers.keys();
  }

  /** Whether `peer` is subscribed to `channel`. */
  has(peer: Peer, channel: string): boolean {
    return this.#channelsOf.get(peer)?.has(channel) ?? false;
  }

  /** The channels `peer` is subscribed to (a copy). */
  channelsOf(peer: Peer): string[] {
    return [...(this.#channelsOf.get(peer) ?? [])];
  }

  /** Number of channels `peer` is subscribed to. */
  count(peer: Peer): number {
    return this.#channelsOf.get(peer)?.size ?? 0;
  }

  /** Subscribes `peer` to `channel`. */
  join(peer: Peer, channel: string): void {
    let subscribers = this.#subscribers.get(channel);
    if (!subscribers) this.#subscribers.set(channel, subscribers = new Set());
    subscribers.add(peer);
    let channels = this.#channelsOf.get(peer);
    if (!channels) this.#channelsOf.set(peer, channels = new Set());
    channels.add(channel);
  }

  /** Ends one subscription (and any replay hold on it). */
  leave(peer: Peer, channel: string): void {
    const subscribers = this.#subscribers.get(channel);
    subscribers?.delete(peer);
    if (subscribers?.size === 0) this.#subscribers.delete(channel);
    const channels = this.#channelsOf.get(peer);
    channels?.delete(channel);
    if (channels?.size === 0) this.#channelsOf.delete(peer);
    this.release(peer, channel);
  }

  /** Ends every subscription of `peer`. */
  leaveAll(peer: Peer): void {
    for (const channel of this.#channelsOf.get(peer) ?? []) this.leave(peer, channel);
  }

  /** From now on, live messages of `channel` for `peer` wait until {@link release}. */
  hold(peer: Peer, channel: string): void {
    let held = this.#held.get(peer);
    if (!held) this.#held.set(peer, held = new Map());
    held.set(channel, []);
  }

  /** Ends a hold; returns what waited, oldest first. */
  release(peer: Peer, channel: string): OutgoingMessage[] {
    const held = this.#held.get(peer);
    const waiting = held?.get(channel) ?? [];
    held?.delete(channel);
    if (held?.size === 0) this.#held.delete(peer);
    return waiting;
  }

  /** Holds `message` back for `peer` if its subscription is replaying; true when held. */
  heldBack(peer: Peer, message: OutgoingMessage): boolean {
    if (this.#held.size === 0) return false;
    const waiting = this.#held.get(peer)?.get(message.channel);
    waiting?.push(message);
    return waiting !== undefined;
  }
}
