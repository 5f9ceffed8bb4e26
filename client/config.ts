/**
 * Everything the client library needs, and its defaults. The command line
 * (`cli/client_options.ts`) fills it from flags; tests and other programs build it directly.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS, type ClientConfig } from "./config.ts";
 * const config: ClientConfig = { ...CLIENT_DEFAULTS, mode: "send", messages: ["hi"] };
 * ```
 * @module
 */
import { DEFAULT_MAX_FRAME, type Framing } from "../protocol/framing.ts";

/**
 * How the client behaves once connected: send stdin lines, send `messages`, or only listen.
 *
 * @example
 * ```ts
 * import type { ClientMode } from "./config.ts";
 * const mode: ClientMode = "listen"; // send nothing, print what the server pushes
 * ```
 */
export type ClientMode = "interactive" | "send" | "listen";

/**
 * Everything the client needs.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS, type ClientConfig } from "./config.ts";
 * const overWebSocket: ClientConfig = {
 *   ...CLIENT_DEFAULTS,
 *   port: 9003,
 *   webSocketUrl: "wss://localhost:9003/ws",
 * };
 * ```
 */
export interface ClientConfig {
  /** Server host name (the certificate must be valid for it). */
  hostname: string;
  /** Server port. */
  port: number;
  /** CA file to trust; undefined: `certs/ca.pem` if it exists, else the system roots. */
  ca?: string;
  /** Client certificate file (PEM) to present, with {@link key} (`--cert`). */
  cert?: string;
  /** Its private key file (PEM), with {@link cert} (`--key`). */
  key?: string;
  /** Stdin lines (interactive), {@link messages}, or listen only. */
  mode: ClientMode;
  /** The messages to send in `send` mode. */
  messages: string[];
  /** Wire framing (must match the server's). */
  framing: Framing;
  /** Largest message accepted from the server, in bytes. */
  maxFrame: number;
  /** TCP without TLS (the server must run with --plain). */
  plain: boolean;
  /** Retry a lost connection with backoff (never a certificate failure or a wrong port). */
  reconnect: boolean;
  /** `wss://` (or, for `--plain` servers, `ws://`) URL: talk WebSocket instead of frames. */
  webSocketUrl?: string;
  /** How long connecting (TCP, TLS handshake, WebSocket upgrade) may take, in ms. */
  connectTimeoutMs: number;
  /** Show each received message after `< `, so it differs from a typed line (a terminal). */
  markReceived: boolean;
  /** Channels to subscribe to (protocol v2); none and no {@link publishTo}: protocol v1. */
  channels: string[];
  /** The channel messages are published on (protocol v2 `PUB`); undefined: none. */
  publishTo?: string;
  /** Print each message after its channel and a space (when several are subscribed). */
  printChannel: boolean;
  /** A token to present with `AUTH` (protocol v2) when the server requires authentication. */
  token?: string;
}

/**
 * Whether `config` speaks protocol v2 (channels): it subscribes to or publishes on one.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS, speaksV2 } from "./config.ts";
 * speaksV2(CLIENT_DEFAULTS); // false: v1, echo and broadcasts
 * speaksV2({ ...CLIENT_DEFAULTS, channels: ["metrics"] }); // true
 * ```
 */
export function speaksV2(config: ClientConfig): boolean {
  return config.channels.length > 0 || config.publishTo !== undefined ||
    config.token !== undefined;
}

/**
 * The defaults: interactive, `localhost:9002`, le32 framing, 16 MiB frames, 10 s to connect.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * CLIENT_DEFAULTS.port; // 9002
 * ```
 */
export const CLIENT_DEFAULTS: ClientConfig = {
  hostname: "localhost",
  port: 9002,
  mode: "interactive",
  messages: [],
  framing: "le32",
  maxFrame: DEFAULT_MAX_FRAME,
  plain: false,
  reconnect: false,
  connectTimeoutMs: 10_000,
  markReceived: false,
  channels: [],
  printChannel: false,
};
