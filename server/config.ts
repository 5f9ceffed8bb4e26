/**
 * Everything the server needs to start, and the defaults of every option. The command line
 * (`cli/server_options.ts`) fills it from flags; tests build it directly.
 *
 * @example
 * ```ts
 * import { SERVER_DEFAULTS, type ServerOptions } from "./config.ts";
 * const options: ServerOptions = { ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0 };
 * ```
 * @module
 */
import { CLOCK_SKEW_MS } from "../auth/jwt_verifier.ts";
import { DEFAULT_MAX_FRAME, type Framing } from "../protocol/framing.ts";
import { EVERY_ADDRESS } from "../util/bind.ts";

/** Everything the server needs to start. */
export interface ServerOptions {
  /** Address to bind (default `::`: every IPv6 and IPv4 address, or `0.0.0.0` without IPv6). */
  hostname: string;
  /** Port (default 9002; 0 picks a free one). */
  port: number;
  /** Directory of the local CA and generated certificate. */
  certsDir: string;
  /** User-supplied certificate file (PEM), with {@link key}. */
  cert?: string;
  /** User-supplied private key file (PEM), with {@link cert}. */
  key?: string;
  /** Extra subjectAltNames for the generated certificate. */
  sans: string[];
  /** CA file (PEM) whose client certificates the TLS port requires (`--client-ca`). */
  clientCa?: string;
  /** Validity of the generated leaf in ms (no flag: tests of renewal make it short). */
  leafLifetimeMs?: number;
  /** Largest payload accepted, in bytes. */
  maxFrame: number;
  /** Wire framing. */
  framing: Framing;
  /** Most bytes queued for one client before it is cut off as a slow consumer. */
  maxPending: number;
  /** Also push each client message to every other client. */
  relay: boolean;
  /** TCP without TLS. */
  plain: boolean;
  /** Log a line per received message. */
  verbose: boolean;
  /** How long shutdown waits for queues to drain, in ms. */
  drainMs: number;
  /** How often the traffic summary is logged while there is traffic, in ms (no flag). */
  trafficReportMs: number;
  /** Most simultaneous connections (0: no limit). */
  maxConnections: number;
  /** A peer that has not finished the TLS handshake within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** A client silent this many ms is closed (0: never). */
  idleTimeoutMs: number;
  /** An HTTP request (body and answer) under way longer than this many ms is cut off. */
  requestTimeoutMs: number;
  /** An HTTP connection idle between requests this many ms is closed (not a WebSocket). */
  keepAliveTimeoutMs: number;
  /** Whether the HTTPS/WebSocket endpoint (browser client, dashboard, `/ws`) runs. */
  ws: boolean;
  /** Port of the HTTPS/WebSocket endpoint (default 9003; 0 picks a free one). */
  wsPort: number;
  /** Token of `/admin` and `/metrics` (`--admin-token` or `TLSPUSH_ADMIN_TOKEN`); else generated. */
  adminToken?: string;
  /** Messages each channel retains for replay (`--history`). */
  history: number;
  /** Age limit of retained messages in ms (`--history-age`; 0: none). */
  historyAgeMs: number;
  /** Most channels one v2 connection may subscribe to (`--max-channels`). */
  maxChannels: number;
  /** The broker every instance of a cluster shares (`--broker redis://...` or `nats://...`). */
  broker?: string;
  /** Separates deployments on one broker (`--broker-prefix`). */
  brokerPrefix: string;
  /** Token of the publish API (`--publish-token` or `TLSPUSH_PUBLISH_TOKEN`); none: API off. */
  publishToken?: string;
  /** HS256 secret clients' tokens are signed with (`--jwt-secret` or `TLSPUSH_JWT_SECRET`). */
  jwtSecret?: string;
  /** PEM public key (ES256 or RS256) clients' tokens are signed for (`--jwt-public-key`). */
  jwtPublicKey?: string;
  /** Tolerance for a token's `exp` and `nbf`, in ms (no flag). */
  jwtClockSkewMs: number;
  /** Permissions of client-certificate identities (`--acl`, JSON). */
  acl?: string;
  /** With authentication on, a client not authenticated within this many ms is closed. */
  authTimeoutMs: number;
  /** Messages a second per connection (`--rate`; 0: no limit). */
  rate: number;
  /** Messages a connection may send at once after a quiet while (`--rate-burst`; 0: `rate`). */
  rateBurst: number;
  /** New connections a second per source address, both ports (`--connect-rate`; 0: no limit). */
  connectRate: number;
}

/**
 * Defaults of every option.
 *
 * @example
 * ```ts
 * import { startServer } from "./start_server.ts";
 * import { SERVER_DEFAULTS } from "./config.ts";
 * const server = await startServer({ ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0 });
 * ```
 */
export const SERVER_DEFAULTS: ServerOptions = {
  hostname: EVERY_ADDRESS,
  port: 9002,
  certsDir: "certs",
  sans: [],
  maxFrame: DEFAULT_MAX_FRAME,
  framing: "le32",
  maxPending: 8 * 1024 * 1024,
  relay: false,
  plain: false,
  verbose: false,
  drainMs: 5000,
  trafficReportMs: 10_000,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 0,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
  ws: true,
  wsPort: 9003,
  history: 100,
  historyAgeMs: 3600_000,
  maxChannels: 1000,
  brokerPrefix: "tlspush",
  jwtClockSkewMs: CLOCK_SKEW_MS,
  authTimeoutMs: 10_000,
  rate: 0,
  rateBurst: 0,
  connectRate: 0,
};
