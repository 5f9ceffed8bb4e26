/**
 * The client's session: send messages (from stdin lines or `--send`), print every message
 * received, half-close when there is nothing more to send, and finish when the server closes.
 * With `--reconnect`, a lost connection is retried with backoff and sending resumes with the
 * next unsent message; a certificate failure is never retried.
 *
 * @example
 * ```ts
 * import { runClient } from "./run_client.ts";
 * import { parseClientArgs } from "./options.ts";
 * await runClient(parseClientArgs(["--send", "hi"])!);
 * ```
 * @module
 */
import { describeError, TlspushError } from "../util/errors.ts";
import { readLines } from "../util/lines.ts";
import { OutboundQueue } from "../util/outbound_queue.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { readFrameBatches } from "../protocol/frame_reader.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { decodeUtf8, encodeUtf8 } from "../protocol/utf8.ts";
import { type ByteSink, closeQuietly, writeAll } from "../util/net.ts";
import { backoffDelay } from "./backoff.ts";
import { connectToServer, resolveCaFile, UntrustedServerError } from "./connect.ts";
import { END_OF_INPUT, InputChannel } from "./input_channel.ts";
import type { ClientOptions } from "./options.ts";
import { connectWebSocket, serveWebSocket } from "./ws_session.ts";

/** Where the client's output goes (stdout for messages, stderr for status). */
export interface ClientOutput {
  /** Receives printed messages, newline-terminated. */
  messages: ByteSink;
  /** Receives one status line. */
  status(line: string): void;
}

const STANDARD_OUTPUT: ClientOutput = {
  messages: Deno.stdout,
  status: (line) => console.error(line),
};

/** Most bytes queued for sending before taking more input waits. */
const SEND_QUEUE_LIMIT = 4 * 1024 * 1024;

/** How one connection (TLS, TCP or WebSocket) ended. */
export type Ending = "finished" | "closed by server" | "interrupted";

/**
 * Runs the client to its end; resolves when the server has closed the connection.
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./options.ts";
 * import { runClient } from "./run_client.ts";
 * const options = parseClientArgs(["--hostname", "127.0.0.1", "--plain", "--send", "hi"])!;
 * const status = (line: string) => console.error(`[client] ${line}`);
 * await runClient(options, Deno.stdin.readable, { messages: Deno.stdout, status });
 * ```
 */
export async function runClient(
  options: ClientOptions,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  output: ClientOutput = STANDARD_OUTPUT,
): Promise<void> {
  const caFile = options.plain ? undefined : await resolveCaFile(options.ca);
  const where = `${options.hostname}:${options.port}`;
  const channel = options.mode === "listen"
    ? undefined
    : new InputChannel(options.mode === "send" ? options.messages : readLines(input));
  const interrupt = new AbortController();
  const onInterrupt = () => {
    output.status("interrupted: closing");
    interrupt.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    for (let attempt = 0;; attempt++) {
      let why: string;
      try {
        let ending: Ending;
        if (options.webSocketUrl) {
          const socket = await connectWebSocket(options.webSocketUrl, caFile);
          attempt = 0;
          output.status(
            `connected to ${options.webSocketUrl}` +
              (options.plain
                ? " (WebSocket, not encrypted)"
                : ` (WebSocket over TLS, trusting ${caFile ?? "system roots"})`),
          );
          ending = await serveWebSocket(socket, channel, output.messages, interrupt.signal);
        } else {
          const conn = await connectToServer({ ...options, caFile });
          attempt = 0;
          output.status(
            `connected to ${where}` +
              (options.plain
                ? " (plain TCP, not encrypted)"
                : ` (TLS, trusting ${caFile ?? "system roots"})`),
          );
          ending = await serveConnection(conn, channel, options, output, interrupt.signal);
        }
        if (ending !== "closed by server" || !options.reconnect) return;
        why = "the server closed the connection";
      } catch (error) {
        if (!options.reconnect || error instanceof UntrustedServerError) throw error;
        why = describeError(error);
      }
      const delay = backoffDelay(attempt);
      output.status(
        `${why}; reconnecting in ${(delay / 1000).toFixed(2)} s (attempt ${attempt + 1})`,
      );
      if (!(await sleep(delay, interrupt.signal))) return;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** Sends and receives on one connection until it ends. */
async function serveConnection(
  conn: Deno.Conn,
  channel: InputChannel | undefined,
  options: ClientOptions,
  output: ClientOutput,
  interrupted: AbortSignal,
): Promise<Ending> {
  const closed = new AbortController();
  const onInterrupt = () => conn.closeWrite().catch(() => {}).finally(() => closeQuietly(conn));
  interrupted.addEventListener("abort", onInterrupt, { once: true });
  let inputEnded = false;
  const sending = channel
    ? sendFromChannel(conn, channel, options, closed.signal).then((ended) => inputEnded = ended)
    : Promise.resolve();
  try {
    await printIncoming(conn, options, output);
    closed.abort(); // the server has closed: stop waiting for input on this connection
    if (interrupted.aborted) return "interrupted";
    await sending.catch(() => {});
    return inputEnded ? "finished" : "closed by server";
  } finally {
    closed.abort();
    interrupted.removeEventListener("abort", onInterrupt);
    closeQuietly(conn);
    sending.catch((error) => output.status(`sending stopped: ${describeError(error)}`));
  }
}

/** Sends messages from `channel` until input ends (then half-closes: true) or `stop` aborts. */
async function sendFromChannel(
  conn: Deno.Conn,
  channel: InputChannel,
  options: ClientOptions,
  stop: AbortSignal,
): Promise<boolean> {
  const queue = new OutboundQueue(conn, { maxPending: SEND_QUEUE_LIMIT });
  while (true) {
    const message = await channel.take(stop);
    if (message === undefined) return false;
    if (message === END_OF_INPUT) break;
    queue.push(encodeFrame(message, options.framing));
    if (queue.full) await queue.hasRoom();
    if (queue.error !== undefined) throw queue.error;
  }
  await queue.flushed();
  if (queue.error !== undefined) throw queue.error;
  // Half-close (TLS close_notify): the server echoes what is left, then closes.
  await conn.closeWrite();
  return true;
}

/** Prints every message until the server ends the stream; throws `TlspushError` if it breaks. */
async function printIncoming(
  conn: Deno.Conn,
  options: ClientOptions,
  output: ClientOutput,
): Promise<void> {
  try {
    const frames = readFrameBatches(conn, { framing: options.framing, maxFrame: options.maxFrame });
    for await (const { payloads } of frames) {
      let text = "";
      for (const payload of payloads) text += decodeUtf8(payload) + "\n";
      await writeAll(output.messages, encodeUtf8(text));
    }
  } catch (error) {
    if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
      return; // we closed it (Ctrl-C)
    }
    if (error instanceof ProtocolError) {
      throw new TlspushError(`the server broke the protocol: ${error.message}`);
    }
    const reason = /close_notify/.test(describeError(error))
      ? "the server went away without closing the connection (no TLS close_notify)"
      : describeError(error);
    throw new TlspushError(`connection to ${options.hostname}:${options.port} lost: ${reason}`);
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
