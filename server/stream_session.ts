/**
 * One client on a TLS (or, with `--plain`, TCP) byte stream: handshake, then read frames and
 * echo them while the outbound queue writes (reads and writes overlap), until the peer leaves,
 * breaks the protocol, falls too far behind, or the server shuts down.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SERVER_DEFAULTS } from "./options.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { StreamSession } from "./stream_session.ts";
 * const hub = new Hub();
 * const config = { ...SERVER_DEFAULTS, hub, logger: new Logger(), reaper: new SocketReaper() };
 * for await (const conn of Deno.listen({ hostname: "127.0.0.1", port: 9002 })) {
 *   new StreamSession(conn, config).run(); // one session per client, served concurrently
 * }
 * ```
 * @module
 */
import { ProtocolError, UnframeableMessageError } from "../protocol/errors.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import { type ByteSource, readFrameBatches } from "../protocol/frame_reader.ts";
import type { Framing } from "../protocol/framing.ts";
import type { Hub } from "../hub/hub.ts";
import type { OutgoingMessage } from "../hub/message.ts";
import { OutboundQueue } from "../util/outbound_queue.ts";
import { newCounters, type Peer, type TrafficCounters } from "../hub/peer.ts";
import { describeError } from "../util/errors.ts";
import { withinDeadline } from "../util/deadline.ts";
import { closeQuietly, formatAddress } from "../util/net.ts";
import { closedLine, formatBytes, type Logger } from "../util/logger.ts";
import type { SocketReaper } from "../util/socket_reaper.ts";

/** What every session of one server shares. */
export interface SessionConfig {
  /** The hub the session joins once its handshake completes. */
  hub: Hub;
  /** The server log. */
  logger: Logger;
  /** Wire framing. */
  framing: Framing;
  /** Largest payload accepted. */
  maxFrame: number;
  /** Most bytes queued for a client before it counts as a slow consumer. */
  maxPending: number;
  /** Whether client messages also go to every other client. */
  relay: boolean;
  /** A peer that has not finished the TLS handshake within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** A client silent this many ms is closed (0: never). */
  idleTimeoutMs: number;
  /** Closes sockets Deno cannot close itself (unfinished handshakes). */
  reaper: SocketReaper;
  /** How long closing waits for queued messages to be written, in ms. */
  drainMs: number;
}

/**
 * A client connection served until it closes.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SERVER_DEFAULTS } from "./options.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { StreamSession } from "./stream_session.ts";
 * const shared = { hub: new Hub(), logger: new Logger(), reaper: new SocketReaper() };
 * const conn = await Deno.listen({ hostname: "127.0.0.1", port: 9002 }).accept();
 * const session = new StreamSession(conn, { ...SERVER_DEFAULTS, ...shared });
 * session.run(); // serves until the client leaves
 * await session.shutdown(1000); // the server is stopping: flush for at most 1 s, then close
 * ```
 */
export class StreamSession implements Peer {
  readonly id: number;
  readonly transport: "tls" | "tcp";
  readonly address: string;
  since: Date = new Date();
  readonly counters: TrafficCounters = newCounters();
  readonly #conn: Deno.Conn;
  readonly #config: SessionConfig;
  readonly #queue: OutboundQueue;
  /** Set once closing has begun: why. */
  #closeReason: string | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** True once the handshake completed and the hub knows this client. */
  #joined = false;

  /** Wraps an accepted connection; nothing happens until {@link run}. */
  constructor(conn: Deno.Conn | Deno.TlsConn, config: SessionConfig) {
    this.#conn = conn;
    this.#config = config;
    this.id = config.hub.nextId();
    this.transport = "handshake" in conn ? "tls" : "tcp";
    this.address = formatAddress(conn.remoteAddr);
    this.#queue = new OutboundQueue(conn, { maxPending: config.maxPending });
  }

  get queuedBytes(): number {
    return this.#queue.pending;
  }

  /** Serves the connection to its end; never throws. */
  async run(): Promise<void> {
    const { hub, logger } = this.#config;
    if (!(await this.#handshake())) return;
    this.#joined = true;
    this.since = new Date();
    hub.add(this);
    logger.info(`client #${this.id} connected from ${this.address} (${hub.size} connected)`);
    let reason: string;
    try {
      await this.#serve();
      reason = "peer closed the connection";
    } catch (error) {
      reason = error instanceof ProtocolError
        ? `protocol error: ${error.message}`
        : `connection lost: ${describeError(error)}`;
      if (error instanceof ProtocolError) {
        logger.error(`client #${this.id} ${this.address}: ${reason}`);
      }
    }
    // The peer ended (or broke the protocol): it gets what is queued as long as it keeps reading.
    await this.#close(reason, this.#config.drainMs, true);
    logger.info(closedLine(this, this.#closeReason!, hub.size));
  }

  deliver(message: OutgoingMessage): void {
    if (this.#closeReason !== undefined) return;
    let frame: Uint8Array;
    try {
      frame = message.frame(this.#config.framing);
    } catch (error) {
      if (!(error instanceof UnframeableMessageError)) throw error;
      message.skipped++; // counted, and logged once per broadcast, not once per client
      return;
    }
    if (!this.#queue.offer(frame)) {
      this.#abort(
        `slow consumer: ${formatBytes(this.#queue.pending)} already queued ` +
          `(limit ${formatBytes(this.#config.maxPending)})`,
      );
      return;
    }
    this.#config.hub.countOut(this, 1, message.payload.length);
  }

  async shutdown(drainMs: number): Promise<void> {
    if (this.#joined) return await this.#close("server shutting down", drainMs);
    // Still in its handshake: nothing to flush, and only the reaper really closes it.
    if (this.#closeReason !== undefined) return;
    this.#closeReason = "server shutting down";
    await this.#config.reaper.reap(this.#conn);
  }

  async #handshake(): Promise<boolean> {
    if (!("handshake" in this.#conn)) return true;
    const { logger, handshakeTimeoutMs, reaper } = this.#config;
    const handshake = (this.#conn as Deno.TlsConn).handshake();
    try {
      if (await withinDeadline(handshake, handshakeTimeoutMs)) {
        await handshake; // settled: rethrows its failure
        return true;
      }
    } catch (error) {
      if (this.#closeReason === undefined) {
        logger.info(`TLS handshake with ${this.address} failed: ${describeError(error)}`);
      }
      closeQuietly(this.#conn);
      return false;
    }
    if (this.#closeReason !== undefined) return false;
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
    const { hub, logger, framing, maxFrame, relay, idleTimeoutMs } = this.#config;
    const source = idleTimeoutMs > 0 ? this.#watchIdle(idleTimeoutMs) : this.#conn;
    const decoder = new FrameDecoder({ framing, maxFrame });
    try {
      for await (const { payloads } of readFrameBatches(source, {}, decoder)) {
        let bytes = 0;
        for (const payload of payloads) bytes += payload.length;
        hub.countIn(this, payloads.length, bytes);
        // Echo every frame of this read in one write: the wire bytes are already the frames.
        this.#queue.push(decoder.takeWire());
        hub.countOut(this, payloads.length, bytes);
        if (logger.verbose) {
          for (const payload of payloads) {
            logger.info(`client #${this.id} ${this.address}: message of ${payload.length} bytes`);
          }
        }
        if (relay) { for (const payload of payloads) hub.relay(this, payload.slice()); }
        // A client that does not read its echoes stops being read: TCP backpressure.
        if (this.#queue.full) await this.#queue.hasRoom();
        if (this.#closeReason !== undefined) return;
      }
    } catch (error) {
      if (this.#closeReason === undefined) throw error; // else: we closed it, the read was cut
    }
  }

  /** Reads through a clock: a client that sends nothing for `idleMs` is closed. */
  #watchIdle(idleMs: number): ByteSource {
    let lastRead = Date.now();
    const check = () => {
      const silent = Date.now() - lastRead;
      if (silent >= idleMs) this.#abort(`idle for ${idleMs / 1000} s`);
      else this.#idleTimer = setTimeout(check, idleMs - silent);
    };
    this.#idleTimer = setTimeout(check, idleMs);
    return {
      read: async (buffer) => {
        const count = await this.#conn.read(buffer);
        lastRead = Date.now();
        return count;
      },
    };
  }

  /** Records why the connection closes and leaves the hub; false if closing had begun. */
  #beginClosing(reason: string): boolean {
    if (this.#closeReason !== undefined) return false;
    this.#closeReason = reason;
    clearTimeout(this.#idleTimer);
    this.#config.hub.remove(this);
    return true;
  }

  /** Closes at once, dropping what is queued. */
  #abort(reason: string): void {
    if (!this.#beginClosing(reason)) return;
    this.#queue.discard();
    closeQuietly(this.#conn);
  }

  /**
   * Writes what is queued, sends close_notify, closes. The flush gets at most `drainMs` in all,
   * or, `whileProgressing`, as long as each `drainMs` sees some bytes written.
   */
  async #close(reason: string, drainMs: number, whileProgressing = false): Promise<void> {
    if (!this.#beginClosing(reason)) return;
    let written: number;
    do {
      written = this.#queue.written;
      await withinDeadline(this.#queue.flushed(), drainMs);
    } while (whileProgressing && this.#queue.pending > 0 && this.#queue.written > written);
    if (this.#queue.pending === 0 && this.#queue.error === undefined) {
      try {
        await this.#conn.closeWrite();
      } catch {
        // the peer is already gone: nothing to tell it
      }
    }
    this.#queue.discard();
    closeQuietly(this.#conn);
  }
}
