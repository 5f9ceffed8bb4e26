/**
 * A WebSocket client (path `/ws`) as a hub peer: each text message is one message of the
 * protocol, echoed back; broadcasts and relayed messages arrive as text messages. The same
 * limits hold as on TLS: `--max-frame` bytes of UTF-8 per message (larger: close 1009), text
 * only (binary: close 1003), and a client with more than `--max-pending` bytes unsent is cut off
 * as a slow consumer (close 1008). WebSocket text is valid UTF-8 by definition (Deno closes the
 * socket with 1007 otherwise).
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { WebSocketPeer } from "./ws_peer.ts";
 * const config = { hub: new Hub(), logger: new Logger(), maxFrame: 1 << 20, maxPending: 1 << 23 };
 * Deno.serve({ hostname: "127.0.0.1", port: 9003 }, (request, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   new WebSocketPeer(socket, info.remoteAddr, { ...config, relay: true });
 *   return response;
 * });
 * ```
 * @module
 */
import type { Hub } from "../hub/hub.ts";
import type { OutgoingMessage } from "../hub/message.ts";
import { newCounters, type Peer, type TrafficCounters } from "../hub/peer.ts";
import { encodeUtf8, utf8Length } from "../protocol/utf8.ts";
import { closedLine, formatBytes, type Logger } from "../util/logger.ts";
import { formatAddress } from "../util/net.ts";
import { withinDeadline } from "../util/deadline.ts";

/**
 * WebSocket close codes used here (RFC 6455, section 7.4.1).
 *
 * @example
 * ```ts
 * import { CloseCode } from "./ws_peer.ts";
 * const socket = new WebSocket("ws://127.0.0.1:9003/ws");
 * socket.onclose = (event) => {
 *   if (event.code === CloseCode.POLICY_VIOLATION) console.error("cut off as a slow consumer");
 * };
 * ```
 */
export const CloseCode = {
  /** Normal closure. */
  NORMAL: 1000,
  /** The server is going away (shutdown). */
  GOING_AWAY: 1001,
  /** A binary message: only text is accepted. */
  UNSUPPORTED_DATA: 1003,
  /** Policy violation: here, a slow consumer. */
  POLICY_VIOLATION: 1008,
  /** A message larger than `--max-frame`. */
  MESSAGE_TOO_BIG: 1009,
} as const;

/** What every WebSocket peer of one server shares. */
export interface WebSocketPeerConfig {
  /** The hub the peer joins once the socket opens. */
  hub: Hub;
  /** The server log. */
  logger: Logger;
  /** Largest message accepted, in UTF-8 bytes. */
  maxFrame: number;
  /** Most bytes unsent to a client before it counts as a slow consumer. */
  maxPending: number;
  /** Whether client messages also go to every other client. */
  relay: boolean;
}

/** How long a closing handshake may take before the peer is forgotten anyway. */
const CLOSE_WAIT_MS = 2000;

/**
 * A browser or `wss://` client, joined to the hub while its socket is open.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { WebSocketPeer } from "./ws_peer.ts";
 * const hub = new Hub();
 * const config = { hub, logger: new Logger(), maxFrame: 65_536, maxPending: 1e6, relay: false };
 * Deno.serve({ hostname: "127.0.0.1", port: 9003 }, (request, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   const peer = new WebSocketPeer(socket, info.remoteAddr, config);
 *   peer.closed.then(() => console.log(`client #${peer.id} left`));
 *   return response;
 * });
 * ```
 */
export class WebSocketPeer implements Peer {
  readonly id: number;
  readonly transport = "ws" as const;
  readonly address: string;
  since: Date = new Date();
  readonly counters: TrafficCounters = newCounters();
  /** Resolves once the socket has closed and the peer has left the hub. */
  readonly closed: Promise<void>;
  readonly #socket: WebSocket;
  readonly #config: WebSocketPeerConfig;
  /** Set once closing has begun: why. */
  #closeReason: string | undefined;
  #opened = false;

  /** Serves `socket` (fresh from `Deno.upgradeWebSocket`) until it closes. */
  constructor(socket: WebSocket, remoteAddr: Deno.Addr, config: WebSocketPeerConfig) {
    this.#socket = socket;
    this.#config = config;
    this.id = config.hub.nextId();
    this.address = formatAddress(remoteAddr);
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.onopen = () => this.#open();
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onerror = () => {}; // followed by close, which logs
    socket.onclose = (event) => {
      this.#left(event.code);
      closed.resolve();
    };
  }

  get queuedBytes(): number {
    return this.#socket.readyState === WebSocket.OPEN ? this.#socket.bufferedAmount : 0;
  }

  deliver(message: OutgoingMessage): void {
    if (this.#closeReason !== undefined || this.#socket.readyState !== WebSocket.OPEN) return;
    if (!this.#hasRoomFor(message.payload.length)) return;
    this.#socket.send(message.text);
    this.#config.hub.countOut(this, 1, message.payload.length);
  }

  async shutdown(drainMs: number): Promise<void> {
    if (this.#closeReason === undefined) {
      const deadline = Date.now() + drainMs;
      while (this.queuedBytes > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      this.#close(CloseCode.GOING_AWAY, "server shutting down");
    }
    await withinDeadline(this.closed, CLOSE_WAIT_MS);
  }

  #open(): void {
    const { hub, logger } = this.#config;
    this.since = new Date();
    this.#opened = true;
    hub.add(this);
    logger.info(
      `client #${this.id} connected from ${this.address} over WebSocket (${hub.size} connected)`,
    );
  }

  #receive(data: unknown): void {
    if (this.#closeReason !== undefined) return;
    const { hub, logger, maxFrame, relay } = this.#config;
    if (typeof data !== "string") {
      logger.error(`client #${this.id} ${this.address}: protocol error: binary WebSocket message`);
      this.#close(CloseCode.UNSUPPORTED_DATA, "only text messages are accepted");
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short texts need no encoding to be measured.
    const payload = data.length * 3 > maxFrame || relay ? encodeUtf8(data) : undefined;
    const bytes = payload?.length ?? utf8Length(data);
    if (bytes > maxFrame) {
      logger.error(
        `client #${this.id} ${this.address}: protocol error: message of ${bytes} bytes is ` +
          `larger than the maximum of ${maxFrame}`,
      );
      this.#close(CloseCode.MESSAGE_TOO_BIG, `message larger than ${maxFrame} bytes`);
      return;
    }
    hub.countIn(this, 1, bytes);
    if (logger.verbose) {
      logger.info(`client #${this.id} ${this.address}: message of ${bytes} bytes`);
    }
    if (this.#hasRoomFor(bytes)) {
      this.#socket.send(data);
      hub.countOut(this, 1, bytes);
    }
    if (relay && payload) hub.relay(this, payload);
  }

  /**
   * A WebSocket cannot stop reading to push back as TCP does, so the rule is the one of the
   * outbound queue: a message into an empty buffer always goes, beyond `maxPending` the client
   * is cut off.
   */
  #hasRoomFor(bytes: number): boolean {
    const pending = this.#socket.bufferedAmount;
    if (pending === 0 || pending + bytes <= this.#config.maxPending) return true;
    this.#close(
      CloseCode.POLICY_VIOLATION,
      "slow consumer",
      `slow consumer: ${formatBytes(pending)} already queued ` +
        `(limit ${formatBytes(this.#config.maxPending)})`,
    );
    return false;
  }

  /**
   * Leaves the hub, starts the closing handshake with `code` and logs why at once (a client
   * that has stopped reading may never complete the handshake; Deno's keep-alive pings then
   * drop it).
   */
  #close(code: number, reason: string, logReason = reason): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = `${logReason} (close code ${code})`;
    this.#config.hub.remove(this);
    try {
      this.#socket.close(code, reason);
    } catch {
      // closed already
    }
    if (this.#opened) this.#logClosed();
  }

  /** The socket has closed: log it, unless this side began the close (logged then). */
  #left(code: number): void {
    this.#config.hub.remove(this);
    if (!this.#opened || this.#closeReason !== undefined) return;
    this.#closeReason = code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY
      ? `peer closed the connection (close code ${code})`
      : `connection lost (close code ${code})`;
    this.#logClosed();
  }

  #logClosed(): void {
    const { hub, logger } = this.#config;
    logger.info(closedLine(this, this.#closeReason!, hub.size));
  }
}
