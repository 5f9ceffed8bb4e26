/**
 * The hub: every client whose handshake has completed, over any transport, and the fan-out of
 * operator broadcasts (and, in relay mode, of client messages) to them.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * const hub = new Hub();
 * hub.broadcast("hello"); // 0: nobody connected yet
 * ```
 * @module
 */
import { OutgoingMessage } from "./message.ts";
import { newCounters, type Peer, type TrafficCounters } from "./peer.ts";

/**
 * The set of connected peers and the server-wide traffic counters.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * const hub = new Hub();
 * hub.broadcast("server restarting in 5 minutes"); // how many peers it was offered to
 * for (const peer of hub.peers()) console.log(peer.id, peer.counters.messagesOut);
 * ```
 */
export class Hub {
  readonly #peers = new Set<Peer>();
  readonly #perTransport = new Map<Peer["transport"], number>();
  #lastId = 0;
  /** Traffic of all peers since the server started. */
  readonly totals: TrafficCounters = newCounters();

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
   * new Hub().count("ws"); // 0
   * ```
   */
  count(transport: Peer["transport"]): number {
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
   * const hub = new Hub();
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
   * Sends one message to every peer (encoded once); returns how many it was offered to
   * (`message.skipped` of them could not carry it).
   */
  broadcast(message: string | Uint8Array | OutgoingMessage): number {
    return this.#fanOut(
      message instanceof OutgoingMessage ? message : new OutgoingMessage(message),
    );
  }

  /** Sends a client's message to every other peer (relay mode). */
  relay(from: Peer, payload: Uint8Array): number {
    return this.#fanOut(new OutgoingMessage(payload), from);
  }

  #fanOut(message: OutgoingMessage, except?: Peer): number {
    let count = 0;
    // A copy: a slow consumer removes itself while we iterate.
    for (const peer of [...this.#peers]) {
      if (peer === except) continue;
      peer.deliver(message);
      count++;
    }
    return count;
  }
}
