/**
 * A WebSocket client (path `/ws`) as a hub peer: each text message is one message of the
 * protocol, echoed back; pushed messages arrive as text messages. The rules are
 * {@link PeerCore}'s, as on TLS; this file maps them to WebSocket: a message over `--max-frame`
 * UTF-8 bytes closes with 1009, a binary one with 1003, a slow consumer with 1008, shutdown
 * with 1001. WebSocket text is valid UTF-8 by definition (Deno closes with 1007 otherwise).
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { WebSocketPeer } from "./ws_peer.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const settings = { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: true, drainMs: 5000, maxChannels: 100 };
 * Deno.serve({ hostname: "127.0.0.1", port: 9003 }, (request, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   new WebSocketPeer(socket, info.remoteAddr, settings);
 *   return response;
 * });
 * ```
 * @module
 */
import type { Permissions } from "../auth/permissions.ts";
import type { OutgoingMessage } from "../hub/message.ts";
import { type CloseKind, PeerCore, type PeerSettings } from "../hub/peer_core.ts";
import { decodeUtf8, encodeUtf8, utf8Length } from "../protocol/utf8.ts";
import { withinDeadline } from "../util/deadline.ts";
import { formatBytes } from "../util/logger.ts";
import { closeWebSocketQuietly, formatAddress } from "../util/net.ts";

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
  /** Policy violation: a slow consumer, or a client not authenticated (in time). */
  POLICY_VIOLATION: 1008,
  /** A message larger than `--max-frame`. */
  MESSAGE_TOO_BIG: 1009,
} as const;

/** How long a closing handshake may take before the peer is forgotten anyway. */
const CLOSE_WAIT_MS = 2000;

/** A WebSocket tells no "drained" event: how often draining looks at `bufferedAmount`. */
const DRAIN_POLL_MS = 10;

/**
 * A browser or `wss://` client, joined to the hub while its socket is open.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { WebSocketPeer } from "./ws_peer.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 65_536 });
 * const settings = { hub, maxFrame: 65_536, maxPending: 1e6, relay: false, drainMs: 5000, maxChannels: 100 };
 * Deno.serve({ hostname: "127.0.0.1", port: 9003 }, (request, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   const peer = new WebSocketPeer(socket, info.remoteAddr, settings);
 *   peer.closed.then(() => console.log(`client #${peer.id} left`));
 *   return response;
 * });
 * ```
 */
export class WebSocketPeer extends PeerCore {
  /** Resolves once the socket has closed and the peer has left the hub. */
  readonly closed: Promise<void>;
  readonly #socket: WebSocket;
  /** UTF-8 bytes handed to the socket so far (written = sent - buffered). */
  #sent = 0;
  /** Whether a first message arrived (it may be `HELLO tlspush/2`). */
  #spoken = false;
  /** v2 commands run one after the other, so replies keep their order. */
  #commands: Promise<void> = Promise.resolve();
  /** v1 with `--rate`: bytes of echoes waiting for the rate. */
  #backlog = 0;

  /**
   * Serves `socket` (fresh from `Deno.upgradeWebSocket`) until it closes; `v2` when the
   * `tlspush.v2` subprotocol was agreed.
   */
  constructor(
    socket: WebSocket,
    remoteAddr: Deno.Addr,
    settings: PeerSettings,
    v2 = false,
    permissions?: Permissions,
  ) {
    super(settings, "ws", formatAddress(remoteAddr));
    if (v2) this.startV2();
    if (permissions) this.admit(permissions);
    this.#socket = socket;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.onopen = () => this.join();
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onerror = () => {}; // followed by close, which logs
    socket.onclose = (event) => {
      this.finish(
        event.code === CloseCode.NORMAL || event.code === CloseCode.GOING_AWAY
          ? `peer closed the connection (close code ${event.code})`
          : `connection lost (close code ${event.code})`,
      );
      closed.resolve();
    };
  }

  get queuedBytes(): number {
    return this.#socket.readyState === WebSocket.OPEN ? this.#socket.bufferedAmount : 0;
  }

  /** A WebSocket cannot tell echoes from pushed messages in `bufferedAmount`: it counts both. */
  protected get pushedBytes(): number {
    return this.queuedBytes;
  }

  protected get writtenBytes(): number {
    return this.#sent - this.queuedBytes;
  }

  protected send(message: OutgoingMessage): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return; // its close event is on its way
    this.#socket.send(this.protocol === 2 ? message.msgText : message.text);
    this.#sent += message.payload.length;
  }

  protected reply(payload: Uint8Array): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(decodeUtf8(payload));
    this.#sent += payload.length;
  }

  protected async flushed(): Promise<void> {
    while (this.queuedBytes > 0) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  protected async disconnect(kind: CloseKind, _clean: boolean): Promise<void> {
    const [code, reason] = this.#closeFrame(kind);
    closeWebSocketQuietly(this.#socket, code, reason);
    // A client that has stopped reading may never answer; Deno's keep-alive pings drop it then.
    await withinDeadline(this.closed, CLOSE_WAIT_MS);
  }

  protected override closeNote(kind: CloseKind): string {
    return kind === "peer-closed" || kind === "lost"
      ? ""
      : ` (close code ${this.#closeFrame(kind)[0]})`;
  }

  #closeFrame(kind: CloseKind): [number, string] {
    switch (kind) {
      case "shutdown":
        return [CloseCode.GOING_AWAY, "server shutting down"];
      case "too-large":
        return [CloseCode.MESSAGE_TOO_BIG, `message larger than ${this.settings.maxFrame} bytes`];
      case "unsupported":
        return [CloseCode.UNSUPPORTED_DATA, "only text messages are accepted"];
      case "slow-consumer":
        return [CloseCode.POLICY_VIOLATION, "slow consumer"];
      case "unauthenticated":
        return [CloseCode.POLICY_VIOLATION, "not authenticated"];
      default:
        return [CloseCode.NORMAL, ""];
    }
  }

  #receive(data: unknown): void {
    if (this.closing) return;
    if (typeof data !== "string") {
      this.abort("unsupported", this.reportProtocolError("binary WebSocket message"));
      return;
    }
    const { maxFrame, maxPending, relay } = this.settings;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short texts need no encoding to be measured.
    const v2 = this.protocol === 2 || !this.#spoken;
    const payload = data.length * 3 > maxFrame || relay || v2 ? encodeUtf8(data) : undefined;
    const bytes = payload?.length ?? utf8Length(data);
    if (!this.fits(bytes)) return;
    if (!this.#spoken) {
      this.#spoken = true;
      this.negotiate(payload!);
      if (this.closing) return; // refused (authentication is on and it speaks v1)
    }
    this.received(1, bytes, () => [payload ?? encodeUtf8(data)]);
    if (this.protocol === 2) {
      this.#commands = this.#commands.then(() => this.command(payload!));
      return;
    }
    const waitMs = this.throttle(1);
    if (waitMs === 0 && this.#backlog === 0) return this.#echo(data, bytes);
    // --rate: a WebSocket cannot stop being read, so echoes wait instead, within --max-pending.
    this.#backlog += bytes;
    if (this.#backlog > maxPending) {
      this.abort("slow-consumer", `over --rate with ${formatBytes(this.#backlog)} waiting`);
      return;
    }
    this.#commands = this.#commands
      .then(() => new Promise((resolve) => setTimeout(resolve, waitMs)))
      .then(() => {
        this.#backlog -= bytes;
        if (!this.closing) this.#echo(data, bytes);
      });
  }

  #echo(data: string, bytes: number): void {
    if (!this.admits(bytes)) return;
    this.#socket.send(data);
    this.#sent += bytes;
    this.echoed(1, bytes);
  }
}
