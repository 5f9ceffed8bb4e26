/**
 * The client's session over a byte stream (TLS, or TCP with `--plain`): frames of the
 * configured `--framing`. It sends from the input channel, prints every message received,
 * half-closes (TLS close_notify) when the input ends, and ends when the server closes: well
 * when every message sent came back, with a `ServerClosedError` when the server closed first.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { InputChannel } from "./input_channel.ts";
 * import { StreamSession } from "./stream_session.ts";
 * const session = new StreamSession({ ...CLIENT_DEFAULTS, hostname: "127.0.0.1" }, "certs/ca.pem");
 * console.error(await session.connect());
 * const ending = await session.serve({
 *   channel: new InputChannel(["hello"]),
 *   output: { messages: Deno.stdout, status: (line) => console.error(line) },
 *   interrupted: new AbortController().signal,
 * }); // "finished", once "hello" came back
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";
import { closeQuietly } from "../util/net.ts";
import { OutboundQueue } from "../util/outbound_queue.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { readFrameBatches } from "../protocol/frame_reader.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { ALPN_V2 } from "../protocol/negotiation.ts";
import { decodeUtf8 } from "../protocol/utf8.ts";
import { type ClientConfig, speaksV2 } from "./config.ts";
import { connectToServer } from "./connect.ts";
import type { Conversation } from "./conversation.ts";
import { ClientError, ConnectionLostError, ServerProtocolError } from "./errors.ts";
import { FirstBytes, recognize } from "./foreign_bytes.ts";
import { END_OF_INPUT, type InputChannel } from "./input_channel.ts";
import { MessagePrinter } from "./message_printer.ts";
import type { Ending, Session, SessionIo } from "./session.ts";
import { startConversation } from "./start_conversation.ts";

/** Most bytes queued for sending before taking more input waits. */
const SEND_QUEUE_LIMIT = 4 * 1024 * 1024;

/** What a server that refuses a frame does, for the error line. */
const REFUSAL = "it refuses a message larger than its --max-frame, or of another --framing, " +
  "and its log says which";

/**
 * One TLS or TCP connection.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { StreamSession } from "./stream_session.ts";
 * const session = new StreamSession({ ...CLIENT_DEFAULTS, plain: true, mode: "listen" });
 * console.error(await session.connect()); // "connected to localhost:9002 (plain TCP, ...)"
 * ```
 */
export class StreamSession implements Session {
  readonly #config: ClientConfig;
  readonly #caFile: string | undefined;
  readonly #where: string;
  #conn: Deno.Conn | undefined;
  #closed = false;
  /** ALPN chose `tlspush/2`: no HELLO needed. */
  #negotiatedV2 = false;

  /** A session with the server of `config`, trusting `caFile` (undefined: system roots). */
  constructor(config: ClientConfig, caFile?: string) {
    this.#config = config;
    this.#caFile = caFile;
    this.#where = `${config.hostname}:${config.port}`;
  }

  /** Connects and completes the TLS handshake. */
  async connect(): Promise<string> {
    const { hostname, port, plain, connectTimeoutMs, cert, key } = this.#config;
    const caFile = this.#caFile;
    const v2 = speaksV2(this.#config);
    this.#conn = await connectToServer({
      hostname,
      port,
      plain,
      caFile,
      timeoutMs: connectTimeoutMs,
      alpnProtocols: v2 ? [ALPN_V2] : undefined,
      certFile: cert,
      keyFile: key,
    });
    if (v2 && !plain) {
      const { alpnProtocol } = await (this.#conn as Deno.TlsConn).handshake();
      this.#negotiatedV2 = alpnProtocol === ALPN_V2;
    }
    const as = cert === undefined ? "" : `, as ${cert}`;
    return `connected to ${this.#where}` +
      (plain
        ? " (plain TCP, not encrypted)"
        : ` (TLS, trusting ${caFile ?? "system roots"}${as})`) +
      (v2 ? ", protocol v2" : "");
  }

  /** Closes the connection at once. */
  close(): void {
    this.#closed = true;
    if (this.#conn) closeQuietly(this.#conn);
  }

  /** Sends and receives until the connection ends. */
  async serve(io: SessionIo): Promise<Ending> {
    const conn = this.#conn;
    if (conn === undefined) throw new TypeError("StreamSession.serve() before connect()");
    const conversation = startConversation(this.#config, {
      feed: io.feed,
      negotiated: this.#negotiatedV2,
      status: io.output.status,
    });
    const queue = new OutboundQueue(conn, { maxPending: SEND_QUEUE_LIMIT });
    for (const frame of conversation.opening()) {
      queue.push(encodeFrame(frame, this.#config.framing));
    }
    const printer = new MessagePrinter(io.output.messages, { marked: this.#config.markReceived });
    const connectionEnded = new AbortController();
    const onInterrupt = () => conn.closeWrite().catch(() => {}).finally(() => closeQuietly(conn));
    io.interrupted.addEventListener("abort", onInterrupt, { once: true });
    let sendFailure: unknown;
    const sending = io.channel
      ? this.#send(queue, conn, io.channel, conversation, connectionEnded.signal).catch((error) => {
        sendFailure = error;
        closeQuietly(conn); // stops the reading below
      })
      : Promise.resolve();
    try {
      const ended = await this.#receive(conn, conversation, printer);
      connectionEnded.abort(); // stop waiting for input on this connection
      await sending;
      if (io.interrupted.aborted) return "interrupted";
      // A write that fails after the server closed is a consequence; one that fails first is
      // the reason.
      if (ended === "closed here" && sendFailure !== undefined) {
        throw new ConnectionLostError(
          `sending to ${this.#where} failed: ${describeError(sendFailure)}`,
          { cause: sendFailure },
        );
      }
      if (!io.channel) return "server closed";
      const early = conversation.closedEarly(this.#config.mode, REFUSAL);
      if (early) throw early;
      return "finished";
    } finally {
      connectionEnded.abort();
      io.interrupted.removeEventListener("abort", onInterrupt);
      closeQuietly(conn);
    }
  }

  /**
   * Sends from `channel` until input ends, then, once everything sent is answered (v2),
   * half-closes; or stops when `stop` aborts.
   */
  async #send(
    queue: OutboundQueue,
    conn: Deno.Conn,
    channel: InputChannel,
    conversation: Conversation,
    stop: AbortSignal,
  ): Promise<void> {
    while (true) {
      const message = await channel.take(stop);
      if (message === undefined) return;
      if (message === END_OF_INPUT) break;
      queue.push(encodeFrame(conversation.outgoing(message), this.#config.framing));
      if (queue.full) await queue.hasRoom();
      if (queue.error !== undefined) throw queue.error;
    }
    await queue.flushed();
    if (queue.error !== undefined) throw queue.error;
    if (!(await conversation.settled(stop))) return;
    conversation.endInput();
    // Half-close (TLS close_notify): the server echoes what is left, then closes.
    await conn.closeWrite();
  }

  /**
   * Prints every message until the server ends the stream ("end") or this side closed it
   * ("closed here"); throws a `ClientError` when the stream breaks or is not tlspush frames.
   */
  async #receive(
    conn: Deno.Conn,
    conversation: Conversation,
    printer: MessagePrinter,
  ): Promise<"end" | "closed here"> {
    const { framing, maxFrame, plain } = this.#config;
    const source = new FirstBytes(conn, { where: this.#where, plain });
    let printing = false;
    try {
      for await (const { payloads } of readFrameBatches(source, { framing, maxFrame })) {
        const printed: string[] = [];
        for (const payload of payloads) {
          const text = conversation.incoming(decodeUtf8(payload));
          if (text !== undefined) printed.push(text);
        }
        if (printed.length === 0) continue;
        printing = true;
        await printer.print(printed);
        printing = false;
      }
      return "end";
    } catch (error) {
      if (printing || error instanceof ClientError) throw error; // stdout failed; or foreign bytes
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return "closed here"; // Ctrl-C, or a failed write
      }
      if (error instanceof ProtocolError) {
        // A --plain client gets a TLS server's alert: 7 bytes that are not a whole frame.
        if (plain && recognize(source.bytes) === "tls") throw source.mismatch("tls");
        throw new ServerProtocolError(
          `the server broke the protocol: ${error.message} (does it use another --framing? ` +
            `this client uses ${framing})`,
          { cause: error },
        );
      }
      const reason = error instanceof Deno.errors.UnexpectedEof
        ? "the server went away without closing the connection (no TLS close_notify)"
        : describeError(error);
      throw new ConnectionLostError(`connection to ${this.#where} lost: ${reason}`, {
        cause: error,
      });
    }
  }
}
