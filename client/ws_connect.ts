/**
 * Opening a WebSocket to a tlspush server (`--url wss://HOST:PORT/ws`), with the server's
 * certificate verified against `--ca` through `Deno.createHttpClient`, a time limit, and
 * failures turned into named errors that say what was probably meant (the WebSocket port is
 * `--ws-port`, not the message port; `ws://` for a `--plain` server).
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./ws_connect.ts";
 * const socket = await connectWebSocket("wss://localhost:9003/ws", { caFile: "certs/ca.pem" });
 * socket.close();
 * ```
 * @module
 */
import { closeWebSocketQuietly } from "../util/net.ts";
import { type ClientError, ConnectError, ProtocolMismatchError } from "./errors.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS, readCa } from "./connect.ts";
import { handshakeFailure } from "./handshake_failure.ts";

/**
 * How to open the WebSocket.
 *
 * @example
 * ```ts
 * import { connectWebSocket, type WebSocketConnectOptions } from "./ws_connect.ts";
 * const options: WebSocketConnectOptions = { caFile: "certs/ca.pem", timeoutMs: 2000 };
 * const socket = await connectWebSocket("wss://localhost:9003/ws", options);
 * ```
 */
export interface WebSocketConnectOptions {
  /** CA file to trust; undefined: the system's trusted roots. */
  caFile?: string;
  /** Most ms the connection and the opening handshake may take (default 10 s). */
  timeoutMs?: number;
  /** Subprotocols to offer (protocol v2 offers `tlspush.v2`); none by default. */
  protocols?: string[];
}

/**
 * Opens `url`; throws a `ClientError` with advice on failure.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "./ws_connect.ts";
 * const socket = await connectWebSocket("wss://localhost:9003/ws", { caFile: "certs/ca.pem" });
 * socket.onmessage = (event) => console.log(event.data);
 * socket.send("hello");
 * ```
 */
export async function connectWebSocket(
  url: string,
  options: WebSocketConnectOptions = {},
): Promise<WebSocket> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const client = options.caFile === undefined
    ? undefined
    : Deno.createHttpClient({ caCerts: [await readCa(options.caFile)] });
  const socket = new WebSocket(url, { client, protocols: options.protocols });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await new Promise<string | undefined | "timeout">((resolve) => {
    socket.onopen = () => resolve(undefined);
    socket.onerror = (event) => resolve((event as ErrorEvent).message ?? "connection failed");
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  clearTimeout(timer);
  socket.onerror = null;
  if (outcome === undefined) return socket;
  closeWebSocketQuietly(socket, 1000, "giving up");
  client?.close();
  if (outcome === "timeout") {
    const target = new URL(url);
    throw new ConnectError(
      `no WebSocket handshake with ${where(target)} within ${timeoutMs / 1000} s: is it the ` +
        `server's WebSocket port (--ws-port, default 9003)? A --plain server takes ws://, ` +
        `not wss://`,
    );
  }
  throw webSocketFailure(outcome, url, options.caFile);
}

/**
 * The error for a WebSocket that failed to open with `message`. `WebSocket` reports a failure
 * as an event with a message string only (no type, no code), so its words are all there is
 * to tell the cases apart.
 *
 * @example
 * ```ts
 * import { webSocketFailure } from "./ws_connect.ts";
 * const error = webSocketFailure(
 *   "NetworkError: failed to connect to WebSocket: Didn't receive h2 alpn, aborting connection",
 *   "wss://localhost:9002/ws",
 * );
 * console.error(error.message); // "localhost:9002 does not serve HTTPS/WebSocket: ..."
 * ```
 */
export function webSocketFailure(message: string, url: string, caFile?: string): ClientError {
  const target = new URL(url);
  const at = where(target);
  const reason = message.replace(/^NetworkError: failed to connect to WebSocket: /, "");
  const cause = { cause: new Error(reason) };
  const tlsUrl = `tls://${target.host}`;
  if (/tcp connect error|Connection refused/i.test(reason)) {
    return new ConnectError(
      `cannot connect to ${at}: connection refused (is the server running? its WebSocket port ` +
        `is --ws-port, default 9003)`,
      cause,
    );
  }
  // TLS without HTTP: the message port, which offers no HTTP protocol (ALPN) to the client.
  if (/h2 alpn|NoApplicationProtocol|no.application.protocol/i.test(reason)) {
    return new ProtocolMismatchError(
      `${at} does not serve HTTPS/WebSocket (it is probably the server's message port, ` +
        `--port): the WebSocket port is --ws-port (default 9003), or use --url ${tlsUrl}`,
      cause,
    );
  }
  // A ws:// request answered with a TLS record.
  if (target.protocol === "ws:" && /invalid HTTP version/i.test(reason)) {
    return new ProtocolMismatchError(
      `${at} speaks TLS, not plain HTTP: use wss://${target.host}${target.pathname}` +
        ` (a ws:// URL is for a --plain server)`,
      cause,
    );
  }
  // A wss:// request answered without TLS: a --plain server.
  if (target.protocol === "wss:" && /InvalidContentType|corrupt message/i.test(reason)) {
    return new ProtocolMismatchError(
      `${at} answered without TLS: the server runs with --plain, use ` +
        `ws://${target.host}${target.pathname}`,
      cause,
    );
  }
  // Closed with no HTTP answer at all: most likely the --plain message port, which read the
  // request line as a frame length and hung up. (A busy server might too: worth a retry.)
  if (/connection closed before message completed/i.test(reason)) {
    return new ConnectError(
      `${at} closed the connection without an HTTP answer: is it the message port (--port)? ` +
        `The WebSocket port is --ws-port (default 9003)`,
      cause,
    );
  }
  // An HTTP error status (HTTP/1.1) or a refused stream (HTTP/2).
  const status = reason.match(/Invalid status code:? (\d{3})/)?.[1];
  if (status === "404" || (!status && /stream error/i.test(reason))) {
    return new ProtocolMismatchError(
      `${at} refused the WebSocket upgrade of ${target.pathname}` +
        `${status ? ` (HTTP ${status})` : ""}: tlspush serves WebSocket clients at /ws`,
      cause,
    );
  }
  if (status) {
    return new ConnectError(
      `${at} refused the WebSocket upgrade of ${target.pathname} (HTTP ${status})` +
        (status === "503" ? ": the server is full (--max-connections)" : ""),
      cause,
    );
  }
  return handshakeFailure(new Error(reason), {
    hostname: target.hostname,
    port: Number(target.port) || (target.protocol === "wss:" ? 443 : 80),
    caFile,
  });
}

/** `host:port` of a URL, with the scheme's default port filled in. */
function where(target: URL): string {
  return `${target.hostname}:${target.port || (target.protocol === "wss:" ? 443 : 80)}`;
}
