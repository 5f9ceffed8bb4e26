/**
 * The client's session over WebSocket (`--url wss://HOST:PORT/ws`): the same behaviour as
 * over TLS, with one text message per message. At end of input the client starts the closing
 * handshake, which reaches the server after every message sent, so the echoes still arrive
 * before the close completes (the half-close of the TLS client). A server that closes with an
 * error code (1003, 1008, 1009), or cleanly before every message came back, ends it with a
 * `ServerClosedError`.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { InputChannel } from "./input_channel.ts";
 * import { WebSocketSession } from "./ws_session.ts";
 * const url = "wss://localhost:9003/ws";
 * const session = new WebSocketSession({ ...CLIENT_DEFAULTS, webSocketUrl: url }, "certs/ca.pem");
 * console.error(await session.connect());
 * await session.serve({
 *   channel: new InputChannel(["hello"]),
 *   output: { messages: Deno.stdout, status: (line) => console.error(line) },
 *   interrupted: new AbortController().signal,
 * }); // "finished" after the echo
 * ```
 * @module
 */
import { WS_SUBPROTOCOL_V2 } from "../protocol/negotiation.ts";
import { closeWebSocketQuietly } from "../util/net.ts";
import { type ClientConfig, speaksV2 } from "./config.ts";
import type { Conversation } from "./conversation.ts";
import { ConnectionLostError, ServerClosedError } from "./errors.ts";
import { END_OF_INPUT, type InputChannel } from "./input_channel.ts";
import { MessagePrinter } from "./message_printer.ts";
import type { Ending, Session, SessionIo } from "./session.ts";
import { startConversation } from "./start_conversation.ts";
import { connectWebSocket } from "./ws_connect.ts";

/** Most bytes waiting in the socket before taking more input waits. */
const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;

/** Close codes of an orderly close: normal, going away (shutdown), none given. */
const ORDERLY_CLOSE_CODES = new Set([1000, 1001, 1005]);

/** What a server that refuses a message does over WebSocket, for the error line. */
const REFUSAL = "it refuses a message larger than its --max-frame, and its log says so";

/**
 * One WebSocket connection.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { WebSocketSession } from "./ws_session.ts";
 * const url = "ws://127.0.0.1:9003/ws";
 * const session = new WebSocketSession({ ...CLIENT_DEFAULTS, webSocketUrl: url, plain: true });
 * console.error(await session.connect()); // "connected to ws://127.0.0.1:9003/ws (WebSocket, ...)"
 * ```
 */
export class WebSocketSession implements Session {
  readonly #config: ClientConfig;
  readonly #url: string;
  readonly #caFile: string | undefined;
  #socket: WebSocket | undefined;
  #closed = false;
  /** The server chose the `tlspush.v2` subprotocol: no HELLO needed. */
  #negotiatedV2 = false;

  /** A session with `config.webSocketUrl`, trusting `caFile` (undefined: system roots). */
  constructor(config: ClientConfig, caFile?: string) {
    if (config.webSocketUrl === undefined) throw new TypeError("no webSocketUrl to connect to");
    this.#config = config;
    this.#url = config.webSocketUrl;
    this.#caFile = caFile;
  }

  /** Opens the WebSocket. */
  async connect(): Promise<string> {
    const caFile = this.#caFile;
    const v2 = speaksV2(this.#config);
    this.#socket = await connectWebSocket(this.#url, {
      caFile,
      timeoutMs: this.#config.connectTimeoutMs,
      protocols: v2 ? [WS_SUBPROTOCOL_V2] : undefined,
    });
    this.#negotiatedV2 = this.#socket.protocol === WS_SUBPROTOCOL_V2;
    if (this.#closed) this.close(); // given up on while connecting
    return `connected to ${this.#url}` +
      (this.#config.plain
        ? " (WebSocket, not encrypted)"
        : ` (WebSocket over TLS, trusting ${caFile ?? "system roots"})`) +
      (v2 ? ", protocol v2" : "");
  }

  /** Starts closing the socket at once. */
  close(): void {
    this.#closed = true;
    if (this.#socket) closeWebSocketQuietly(this.#socket, 1000, "closing");
  }

  /** Sends and receives until the socket closes. */
  async serve(io: SessionIo): Promise<Ending> {
    const socket = this.#socket;
    if (socket === undefined) throw new TypeError("WebSocketSession.serve() before connect()");
    const conversation = startConversation(this.#config, {
      feed: io.feed,
      negotiated: this.#negotiatedV2,
      status: io.output.status,
    });
    const printer = new MessagePrinter(io.output.messages, { marked: this.#config.markReceived });
    let failure: unknown;
    socket.onmessage = (event) => {
      if (typeof event.data !== "string" || failure !== undefined) return; // text only
      try {
        const text = conversation.incoming(event.data);
        if (text !== undefined) printer.print([text]).catch(() => {}); // flushed() throws it
      } catch (error) {
        failure = error; // a server that does not speak v2: thrown once closed
        closeWebSocketQuietly(socket, 1000, "protocol mismatch");
      }
    };
    for (const frame of conversation.opening()) socket.send(frame);
    const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
    const stop = new AbortController();
    const onInterrupt = () => closeWebSocketQuietly(socket, 1000, "interrupted");
    io.interrupted.addEventListener("abort", onInterrupt, { once: true });
    const sending = io.channel
      ? this.#send(socket, io.channel, conversation, stop.signal).catch(() => {}) // the close says why
      : Promise.resolve();
    try {
      const close = await closed;
      stop.abort();
      await printer.flushed();
      await sending;
      if (io.interrupted.aborted) return "interrupted";
      if (failure !== undefined) throw failure;
      const host = new URL(this.#url).host;
      if (close.code === 1006 || close.code === 0) {
        // No close frame: the server vanished (Deno reports 0 or 1006).
        throw new ConnectionLostError(`connection to ${host} lost (no close frame)`);
      }
      const why = close.reason ? `${close.reason} ` : "";
      if (!ORDERLY_CLOSE_CODES.has(close.code)) {
        throw new ServerClosedError(
          `the server closed the connection: ${why}(close code ${close.code})`,
          { unechoed: conversation.unechoed, closeCode: close.code },
        );
      }
      if (!io.channel) return "server closed";
      const early = conversation.closedEarly(
        this.#config.mode,
        `${REFUSAL} (${why}close code ${close.code})`,
        close.code,
      );
      if (early) throw early;
      return "finished";
    } finally {
      stop.abort();
      io.interrupted.removeEventListener("abort", onInterrupt);
      closeWebSocketQuietly(socket, 1000, "done");
    }
  }

  /**
   * Sends until input ends, then, once everything sent is answered (v2), starts closing; or
   * stops when `stop` aborts. Waits while the socket is full.
   */
  async #send(
    socket: WebSocket,
    channel: InputChannel,
    conversation: Conversation,
    stop: AbortSignal,
  ): Promise<void> {
    while (true) {
      const message = await channel.take(stop);
      if (message === undefined) return;
      if (message === END_OF_INPUT) break;
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(conversation.outgoing(message));
      while (socket.bufferedAmount > SEND_BUFFER_LIMIT && !stop.aborted) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    if (!(await conversation.settled(stop))) return;
    conversation.endInput();
    closeWebSocketQuietly(socket, 1000, "end of input");
  }
}
