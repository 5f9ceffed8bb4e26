/**
 * The TLS/TCP side of the server: one accept loop per listener, each connection served by a
 * {@link StreamPeer} once it has a slot of the server's connection budget. The listener can be
 * replaced while running (the new one accepts before the old one closes), and shutdown stops
 * accepting, then drains and closes every connection.
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "../hub/connection_budget.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { openListener } from "./listener.ts";
 * import { StreamServer } from "./stream_server.ts";
 * const logger = new Logger();
 * const hub = new Hub({ logger, maxFrame: 1 << 20 });
 * const server = new StreamServer(openListener({ hostname: "127.0.0.1", port: 0 }), {
 *   settings: { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: false, drainMs: 5000, maxChannels: 100 },
 *   framing: "le32", handshakeTimeoutMs: 10_000, idleTimeoutMs: 0,
 *   reaper: new SocketReaper(), budget: new ConnectionBudget(10_000, logger),
 * });
 * await server.shutdown(1000);
 * ```
 * @module
 */
import type { ConnectRate } from "../hub/connect_rate.ts";
import type { ConnectionBudget } from "../hub/connection_budget.ts";
import type { PeerSettings } from "../hub/peer_core.ts";
import { describeError } from "../util/errors.ts";
import { closeQuietly, formatAddress } from "../util/net.ts";
import { reusePortAvailable } from "../util/reuseport_steering.ts";
import type { ListenerCertificate, StreamListener } from "./listener.ts";
import { StreamPeer, type StreamPeerOptions } from "./stream_peer.ts";

/** Everything the stream side needs. */
export interface StreamServerOptions extends StreamPeerOptions {
  /** What every peer shares. */
  settings: PeerSettings;
  /** The server-wide connection budget (`--max-connections`). */
  budget: ConnectionBudget;
  /** `--connect-rate`: new connections per source address, shared with the WebSocket port. */
  connectRate?: ConnectRate;
}

/** How long to wait before accepting again after accept itself failed (e.g. out of fds). */
const ACCEPT_RETRY_MS = 100;
/**
 * How long a replaced listener keeps accepting what already waits in its queue before it
 * closes (closing resets those connections); new ones go to its successor meanwhile.
 */
const HAND_OVER_MS = 50;

/**
 * Accepts and serves TLS/TCP clients.
 *
 * @example
 * ```ts
 * import type { StreamServer } from "./stream_server.ts";
 * function port(server: StreamServer): number {
 *   return server.address.port;
 * }
 * ```
 */
export class StreamServer {
  readonly #options: StreamServerOptions;
  readonly #peers = new Map<StreamPeer, Promise<void>>();
  readonly #loops = new Set<Promise<void>>();
  #listener: StreamListener;
  readonly #retiring = new Set<StreamListener>();
  #stopping = false;

  /** Starts accepting from `listener`. */
  constructor(listener: StreamListener, options: StreamServerOptions) {
    this.#options = options;
    this.#listener = listener;
    this.#accept(listener);
  }

  /** The address of the current listener. */
  get address(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections open now, handshaking or not. */
  get connections(): number {
    return this.#peers.size;
  }

  /**
   * Accepts from `next` from now on and closes the current listener once it has accepted what
   * was already waiting for it; open connections stay.
   */
  replaceListener(next: StreamListener): Promise<void> {
    const previous = this.#listener;
    this.#listener = next;
    this.#accept(next);
    this.#retiring.add(previous);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.#retiring.delete(previous);
        closeQuietly(previous);
        resolve();
      }, HAND_OVER_MS)
    );
  }

  /**
   * Serves `tls` to new connections: in place when the listener can, else through a new
   * listener from `reopen` (the same port) that takes over from the current one.
   */
  async useCertificate(
    tls: ListenerCertificate,
    reopen: (tls: ListenerCertificate) => StreamListener | Promise<StreamListener>,
  ): Promise<void> {
    if (this.#stopping) return;
    if (this.#listener.useCertificate) return this.#listener.useCertificate(tls);
    if (reusePortAvailable()) return await this.replaceListener(await reopen(tls));
    // No shared port here: close, then bind again (connections are refused for a moment).
    const previous = this.#listener;
    closeQuietly(previous);
    this.#listener = await rebind(() => reopen(tls));
    this.#accept(this.#listener);
  }

  /** Stops accepting, flushes every client's queue (for at most `drainMs`), closes everything. */
  async shutdown(drainMs: number): Promise<void> {
    this.#stopping = true;
    closeQuietly(this.#listener);
    for (const listener of this.#retiring) closeQuietly(listener);
    await Promise.all(this.#loops);
    await Promise.all([...this.#peers.keys()].map((peer) => peer.shutdown(drainMs)));
    await Promise.all(this.#peers.values());
  }

  #accept(listener: StreamListener): void {
    const loop = this.#acceptLoop(listener).finally(() => this.#loops.delete(loop));
    this.#loops.add(loop);
  }

  async #acceptLoop(listener: StreamListener): Promise<void> {
    const { budget, connectRate, settings, reaper } = this.#options;
    while (!this.#stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#stopping || error instanceof Deno.errors.BadResource) return;
        settings.hub.logger.error(`accept failed: ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      const admitted = connectRate?.admits((conn.remoteAddr as Deno.NetAddr).hostname) ?? true;
      const slot = admitted ? budget.take(formatAddress(conn.remoteAddr)) : undefined;
      if (!slot) {
        // Before its handshake a TLS socket is only closed for real by the reaper.
        if ("handshake" in conn) reaper.reap(conn);
        else closeQuietly(conn);
        continue;
      }
      const peer = new StreamPeer(conn, settings, this.#options);
      this.#peers.set(
        peer,
        peer.run().finally(() => {
          this.#peers.delete(peer);
          slot.release();
        }),
      );
    }
  }
}

/** Binds again a port just closed: the kernel may take a moment to let it go. */
async function rebind(
  open: () => StreamListener | Promise<StreamListener>,
): Promise<StreamListener> {
  for (let attempt = 0;; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
