/**
 * One client on a TLS (or, with `--plain`, TCP) byte stream: handshake, then read frames and
 * echo them while the outbound queue writes (reads and writes overlap), until the peer leaves,
 * breaks the protocol, falls too far behind, or the server shuts down. The rules every peer
 * follows are {@link PeerCore}'s; this file is only how a byte stream sends, queues and closes.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { StreamPeer } from "./stream_peer.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const settings = { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: false, drainMs: 5000, maxChannels: 100 };
 * const stream = { framing: "le32", handshakeTimeoutMs: 10_000, idleTimeoutMs: 0 } as const;
 * const options = { ...stream, reaper: new SocketReaper() };
 * for await (const conn of Deno.listen({ hostname: "127.0.0.1", port: 9002 })) {
 *   new StreamPeer(conn, settings, options).run(); // one peer per client, served concurrently
 * }
 * ```
 * @module
 */
import { ProtocolError, UnframeableMessageError } from "../protocol/errors.ts";
import { type FrameBatch, FrameDecoder } from "../protocol/frame_decoder.ts";
import { encodeFrame, type Framing } from "../protocol/framing.ts";
import { ALPN_V2 } from "../protocol/negotiation.ts";
import type { OutgoingMessage } from "../hub/message.ts";
import { type CloseKind, PeerCore, type PeerSettings } from "../hub/peer_core.ts";
import { describeError } from "../util/errors.ts";
import { withinDeadline } from "../util/deadline.ts";
import { closeQuietly, formatAddress } from "../util/net.ts";
import { OutboundQueue, STAGE_SIZE } from "../util/outbound_queue.ts";
import type { SocketReaper } from "../util/socket_reaper.ts";
import { identityOf } from "./node_tls_listener.ts";

/** A `--rate` pause looks at whether the connection is closing this often. */
const PAUSE_STEP_MS = 200;

/** What a byte-stream peer needs beyond the settings every peer shares. */
export interface StreamPeerOptions {
  /** Wire framing. */
  framing: Framing;
  /** A peer that has not finished the TLS handshake within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** A client silent this many ms is closed (0: never). */
  idleTimeoutMs: number;
  /** Closes sockets Deno cannot close itself (unfinished handshakes). */
  reaper: SocketReaper;
}

/**
 * A client connection served until it closes.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { StreamPeer } from "./stream_peer.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const settings = { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: false, drainMs: 5000, maxChannels: 100 };
 * const options = {
 *   framing: "le32", handshakeTimeoutMs: 10_000, idleTimeoutMs: 0, reaper: new SocketReaper(),
 * } as const;
 * const conn = await Deno.listen({ hostname: "127.0.0.1", port: 9002 }).accept();
 * const peer = new StreamPeer(conn, settings, options);
 * peer.run(); // serves until the client leaves
 * await peer.shutdown(1000); // the server is stopping: flush for at most 1 s, then close
 * ```
 */
export class StreamPeer extends PeerCore {
  readonly #conn: Deno.Conn;
  readonly #options: StreamPeerOptions;
  readonly #queue: OutboundQueue;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last read returned (kept only with an idle timeout). */
  #lastRead = 0;

  /** Wraps an accepted connection; nothing happens until {@link run}. */
  constructor(conn: Deno.Conn | Deno.TlsConn, settings: PeerSettings, options: StreamPeerOptions) {
    super(
      settings,
      "handshake" in conn ? "tls" : "tcp",
      formatAddress(conn.remoteAddr),
      identityOf(conn),
    );
    this.#conn = conn;
    this.#options = options;
    this.#queue = new OutboundQueue(conn, { maxPending: settings.maxPending });
  }

  get queuedBytes(): number {
    return this.#queue.pending;
  }

  protected get pushedBytes(): number {
    return this.#queue.offered;
  }

  protected get writtenBytes(): number {
    return this.#queue.written;
  }

  protected override carries(message: OutgoingMessage): boolean {
    if (!super.carries(message)) return false;
    try {
      this.#frameOf(message); // encoded once per framing, then cached
      return true;
    } catch (error) {
      if (error instanceof UnframeableMessageError) return false;
      throw error;
    }
  }

  protected send(message: OutgoingMessage): void {
    this.#queue.offer(this.#frameOf(message));
  }

  protected reply(payload: Uint8Array): void {
    try {
      this.#queue.push(encodeFrame(payload, this.#options.framing));
    } catch (error) {
      if (!(error instanceof UnframeableMessageError)) throw error; // a newline under line framing
    }
  }

  #frameOf(message: OutgoingMessage): Uint8Array {
    const { framing } = this.#options;
    return this.protocol === 2 ? message.msgFrame(framing) : message.frame(framing);
  }

  protected flushed(): Promise<void> {
    return this.#queue.flushed();
  }

  protected async disconnect(_kind: CloseKind, clean: boolean): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (!this.joined && this.transport === "tls") {
      // Still in its handshake: only the reaper closes such a socket for real.
      await this.#options.reaper.reap(this.#conn);
      return;
    }
    if (clean && this.#queue.error === undefined) {
      try {
        await this.#conn.closeWrite(); // TLS close_notify
      } catch {
        // the peer is already gone: nothing to tell it
      }
    }
    this.#queue.discard();
    closeQuietly(this.#conn);
  }

  /** Serves the connection to its end; never throws. */
  async run(): Promise<void> {
    if (!(await this.#handshake())) return;
    this.join();
    let reason: string;
    try {
      await this.#serve();
      reason = "peer closed the connection";
    } catch (error) {
      reason = error instanceof ProtocolError
        ? this.reportProtocolError(error.message)
        : this.lost(error);
    }
    // The peer ended (or broke the protocol): it gets what is queued as long as it keeps reading.
    await this.finish(reason);
  }

  async #handshake(): Promise<boolean> {
    if (!("handshake" in this.#conn)) return true;
    const { handshakeTimeoutMs, reaper } = this.#options;
    const { logger } = this.settings.hub;
    const handshake = (this.#conn as Deno.TlsConn).handshake();
    try {
      if (await withinDeadline(handshake, handshakeTimeoutMs)) {
        const { alpnProtocol } = await handshake; // settled: rethrows its failure
        if (alpnProtocol === ALPN_V2) this.startV2();
        return true;
      }
    } catch (error) {
      if (!this.closing) {
        logger.info(`TLS handshake with ${this.address} failed: ${describeError(error)}`);
      }
      closeQuietly(this.#conn);
      return false;
    }
    if (this.closing) return false;
    handshake.catch(() => {}); // it fails once the socket is shut down
    const closed = await reaper.reap(this.#conn);
    const outcome = closed
      ? "dropped"
      : `abandoned: ${reaper.unavailableReason ?? "its socket was not found"}`;
    logger.info(
      `TLS handshake with ${this.address} not completed within ${handshakeTimeoutMs / 1000} s: ` +
        outcome,
    );
    return false;
  }

  async #serve(): Promise<void> {
    const { framing, idleTimeoutMs } = this.#options;
    const conn = this.#conn;
    const decoder = new FrameDecoder({ framing, maxFrame: this.settings.maxFrame });
    const { relay, hub: { logger } } = this.settings;
    const watchIdle = idleTimeoutMs > 0;
    if (watchIdle) this.#watchIdle(idleTimeoutMs);
    let first = true;
    let batch: FrameBatch | undefined;
    const payloadsOfBatch = () => batch!.payloads; // one closure, not one per read
    try {
      // The read loop is written out rather than a `for await` over readFrameBatches: an async
      // generator costs several promise hops and allocations per read, which is most of the
      // JavaScript a small batch costs.
      for (;;) {
        const count = await conn.read(decoder.readTarget());
        if (count === null) {
          decoder.finish(); // throws if the stream ended inside a frame
          return;
        }
        if (watchIdle) this.#lastRead = Date.now();
        // Only v2, the first frame (HELLO?), --verbose and --relay look at the payloads: a v1 echo
        // needs their number, size and wire bytes alone, so no view per frame is made for it.
        const views = first || this.protocol === 2 || relay || logger.verbose;
        batch = decoder.commit(count, views);
        const { frames, bytes, payloads } = batch;
        if (frames > 0) {
          if (first) {
            first = false;
            this.negotiate(payloads[0]);
            if (this.closing) return; // refused (authentication is on and it speaks v1)
          }
          this.received(frames, bytes, payloadsOfBatch);
          if (this.protocol === 2) {
            for (const payload of payloads) await this.command(payload);
          } else {
            // Echo every frame of this read in one write: the wire bytes are already the frames.
            // A small batch is copied into a pooled buffer; a large one keeps its own.
            if (batch.wire.length <= STAGE_SIZE) this.#queue.pushCopy(batch.wire);
            else this.#queue.push(decoder.takeWire());
            this.echoed(frames, bytes);
            // --rate: over it, stop reading for a while (TCP backpressure slows the client).
            const waitMs = this.throttle(frames);
            if (waitMs > 0) await this.#pause(waitMs);
          }
          // A client that does not read its echoes stops being read: TCP backpressure.
          if (this.#queue.full) await this.#queue.hasRoom();
          if (this.closing) return;
        }
        if (batch.error) throw batch.error;
      }
    } catch (error) {
      if (!this.closing) throw error; // else: we closed it, the read was cut
    }
  }

  /** Waits `ms`, in short steps so that a close (shutdown) is not held up by a long pause. */
  async #pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0 && !this.closing; left = until - Date.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, PAUSE_STEP_MS)));
    }
  }

  /**
   * A client that sends nothing for `idleMs` is closed. One timer per connection, set again only
   * when it fires (reads just note the time), so reading costs no timer work.
   */
  #watchIdle(idleMs: number): void {
    this.#lastRead = Date.now();
    const check = () => {
      const silent = Date.now() - this.#lastRead;
      if (silent >= idleMs) this.abort("idle", `idle for ${idleMs / 1000} s`);
      else this.#idleTimer = setTimeout(check, idleMs - silent);
    };
    this.#idleTimer = setTimeout(check, idleMs);
  }
}
