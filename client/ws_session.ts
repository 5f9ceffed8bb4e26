/**
 * The client over WebSocket (`--url wss://HOST:PORT/ws`): the same behaviour as over TLS, with
 * a WebSocket in place of the byte stream. Each message is one text message; at end of input the
 * client starts the closing handshake, which reaches the server after every message sent, so
 * the echoes still arrive before the close completes (the half-close of the TLS client).
 * The server's certificate is verified against `--ca` through `Deno.createHttpClient`.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./ws_session.ts";
 * const socket = await connectWebSocket("wss://localhost:9003/ws", "certs/ca.pem");
 * socket.close();
 * ```
 * @module
 */
import { TlspushError } from "../util/errors.ts";
import { encodeUtf8 } from "../protocol/utf8.ts";
import { type ByteSink, writeAll } from "../util/net.ts";
import { handshakeFailure, readCa } from "./connect.ts";
import { END_OF_INPUT, type InputChannel } from "./input_channel.ts";
import type { Ending } from "./run_client.ts";

/** Most bytes waiting in the socket before taking more input waits. */
const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;

/** Close codes after which the server meant to stop (not an error). */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);

/**
 * Opens `url`, trusting the CA in `caFile` (else the system roots); throws advice on failure.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./ws_session.ts";
 * const socket = await connectWebSocket("wss://localhost:9003/ws", "certs/ca.pem");
 * socket.onmessage = (event) => console.log(event.data);
 * socket.send("hello");
 * ```
 */
export async function connectWebSocket(url: string, caFile?: string): Promise<WebSocket> {
  const target = new URL(url);
  const where = `${target.hostname}:${target.port || (target.protocol === "wss:" ? 443 : 80)}`;
  const client = caFile === undefined
    ? undefined
    : Deno.createHttpClient({ caCerts: [await readCa(caFile)] });
  const socket = new WebSocket(url, client ? { client } : {});
  const outcome = await new Promise<string | undefined>((resolve) => {
    socket.onopen = () => resolve(undefined);
    socket.onerror = (event) => resolve((event as ErrorEvent).message ?? "connection failed");
  });
  if (outcome === undefined) return socket;
  client?.close();
  const reason = outcome.replace(/^NetworkError: failed to connect to WebSocket: /, "");
  if (/tcp connect error|Connection refused/i.test(reason)) {
    throw new TlspushError(
      `cannot connect to ${where}: connection refused (is the server running? ` +
        `its WebSocket port is --ws-port, default 9003)`,
    );
  }
  // An HTTP error status (HTTP/1.1) or a refused stream (HTTP/2): no WebSocket at that path.
  const status = reason.match(/Invalid status code:? (\d{3})/)?.[1];
  if (status || /stream error/i.test(reason)) {
    throw new TlspushError(
      `${where} refused the WebSocket upgrade of ${target.pathname}` +
        `${status ? ` (HTTP ${status})` : ""}: tlspush serves WebSocket clients at /ws`,
    );
  }
  throw handshakeFailure(new Error(reason), {
    hostname: target.hostname,
    port: Number(target.port) || 443,
    caFile,
  });
}

/**
 * Sends messages from `channel` (none: listen only) and prints every message received until the
 * connection closes. At end of input it closes normally and resolves once the server has
 * answered (every echo printed). Throws `TlspushError` when the server closes with an error code
 * or the connection breaks.
 *
 * @example
 * ```ts
 * import { InputChannel } from "./input_channel.ts";
 * import { connectWebSocket, serveWebSocket } from "./ws_session.ts";
 * const socket = await connectWebSocket("ws://127.0.0.1:9003/ws");
 * const channel = new InputChannel(["hello"]);
 * const interrupted = new AbortController().signal;
 * await serveWebSocket(socket, channel, Deno.stdout, interrupted); // "finished" after the echo
 * ```
 */
export async function serveWebSocket(
  socket: WebSocket,
  channel: InputChannel | undefined,
  messages: ByteSink,
  interrupted: AbortSignal,
): Promise<Ending> {
  let printing = Promise.resolve();
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") return; // tlspush sends text only
    const bytes = encodeUtf8(event.data + "\n");
    printing = printing.then(() => writeAll(messages, bytes));
  };
  const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
  const stop = new AbortController();
  const onInterrupt = () => closeQuietly(socket, 1000, "interrupted");
  interrupted.addEventListener("abort", onInterrupt, { once: true });
  let inputEnded = false;
  const sending = channel
    ? sendFromChannel(socket, channel, stop.signal).then((ended) => {
      inputEnded = ended;
      if (ended) closeQuietly(socket, 1000, "end of input");
    })
    : Promise.resolve();
  try {
    const close = await closed;
    stop.abort();
    await printing;
    await sending.catch(() => {});
    if (interrupted.aborted) return "interrupted";
    if (CLEAN_CLOSE_CODES.has(close.code)) return inputEnded ? "finished" : "closed by server";
    const why = close.reason ? `${close.reason} ` : "";
    if (close.code === 1006 || close.code === 0) {
      // No close frame: the server vanished (Deno reports 0 or 1006).
      throw new TlspushError(`connection to ${new URL(socket.url).host} lost (no close frame)`);
    }
    throw new TlspushError(`the server closed the connection: ${why}(close code ${close.code})`);
  } finally {
    interrupted.removeEventListener("abort", onInterrupt);
  }
}

/** Sends until input ends (true) or `stop` aborts (false), pausing while the socket is full. */
async function sendFromChannel(
  socket: WebSocket,
  channel: InputChannel,
  stop: AbortSignal,
): Promise<boolean> {
  while (true) {
    const message = await channel.take(stop);
    if (message === undefined) return false;
    if (message === END_OF_INPUT) return true;
    if (socket.readyState !== WebSocket.OPEN) return false;
    socket.send(message);
    while (socket.bufferedAmount > SEND_BUFFER_LIMIT && !stop.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState <= WebSocket.OPEN) socket.close(code, reason);
  } catch {
    // closing already
  }
}
