/**
 * What the reconnect loop asks of one connection, whatever carries it (a TLS or TCP byte
 * stream, a WebSocket): connect, then serve that connection (send from the input channel,
 * print what arrives) and report how it ended.
 *
 * How a connection may end:
 * - `finished`: the input had ended and every message sent had been echoed when the server
 *   closed in an orderly way (TLS close_notify, end of a `--plain` stream, WebSocket close
 *   1000, 1001 or 1005);
 * - `server closed`: the server closed in an orderly way a connection that only listened;
 * - `interrupted`: the user pressed Ctrl-C;
 * - anything else is thrown as a `ClientError`: a server that closed before the client was
 *   done (`ServerClosedError`), a broken connection, a server speaking another protocol.
 *
 * @example
 * ```ts
 * import type { Session, SessionIo } from "./session.ts";
 * async function once(session: Session, io: SessionIo): Promise<void> {
 *   io.output.status(await session.connect());
 *   const ending = await session.serve(io);
 *   io.output.status(`ended: ${ending}`);
 * }
 * ```
 * @module
 */
import type { ByteSink } from "../util/net.ts";
import type { ChannelFeed } from "./channel_feed.ts";
import type { InputChannel } from "./input_channel.ts";

/**
 * How one connection ended, when it ended well (see the module documentation).
 *
 * @example
 * ```ts
 * import type { Ending } from "./session.ts";
 * const ending: Ending = "finished"; // every message echoed, then the server closed
 * ```
 */
export type Ending = "finished" | "server closed" | "interrupted";

/**
 * Where the client's output goes: messages to one sink, status lines to another.
 *
 * @example
 * ```ts
 * import type { ClientOutput } from "./session.ts";
 * const output: ClientOutput = { messages: Deno.stdout, status: (line) => console.error(line) };
 * ```
 */
export interface ClientOutput {
  /** Receives printed messages, newline-terminated. */
  messages: ByteSink;
  /** Receives one status line. */
  status(line: string): void;
}

/**
 * What serving a connection works with.
 *
 * @example
 * ```ts
 * import { InputChannel } from "./input_channel.ts";
 * import type { SessionIo } from "./session.ts";
 * const io: SessionIo = {
 *   channel: new InputChannel(["hello"]),
 *   output: { messages: Deno.stdout, status: (line) => console.error(line) },
 *   interrupted: new AbortController().signal,
 * };
 * ```
 */
export interface SessionIo {
  /** The messages to send; undefined: listen only. */
  channel: InputChannel | undefined;
  /** Where messages and status go. */
  output: ClientOutput;
  /** Aborts when the user interrupts (Ctrl-C): close now. */
  interrupted: AbortSignal;
  /** Protocol v2: the subscribed channels and where each resumes; undefined: protocol v1. */
  feed?: ChannelFeed;
}

/**
 * One connection to the server.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { InputChannel } from "./input_channel.ts";
 * import type { Session } from "./session.ts";
 * import { StreamSession } from "./stream_session.ts";
 * const session: Session = new StreamSession({ ...CLIENT_DEFAULTS, plain: true });
 * console.error(await session.connect()); // "connected to localhost:9002 (plain TCP, ...)"
 * await session.serve({
 *   channel: new InputChannel(["hi"]),
 *   output: { messages: Deno.stdout, status: (line) => console.error(line) },
 *   interrupted: new AbortController().signal,
 * }); // "finished"
 * ```
 */
export interface Session {
  /** Opens the connection; resolves to the status line that says where and how. */
  connect(): Promise<string>;
  /** Serves the open connection to its end; throws a `ClientError` when it ended badly. */
  serve(io: SessionIo): Promise<Ending>;
  /** Closes the connection at once, if it is open (a connect that was given up on). */
  close(): void;
}
