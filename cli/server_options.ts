/**
 * The server's command line: flags and help text, parsed into the composition root's
 * {@link ServerOptions} (defaults in `server/config.ts`).
 *
 * @example
 * ```ts
 * import { parseServerArgs } from "./server_options.ts";
 * const options = parseServerArgs(["--port", "0"]);
 * ```
 * @module
 */
import { UsageError } from "./errors.ts";
import { parseFlags, parseFraming, parseMaxFrame, parsePort, parseSeconds } from "./flags.ts";
import { parseBrokerUrl } from "../broker/broker_url.ts";
import { SERVER_DEFAULTS, type ServerOptions } from "../server/config.ts";
import { describeError } from "../util/errors.ts";
import { MIN_SECRET_BYTES } from "../auth/jwt_verifier.ts";
import { parseInteger } from "./flags.ts";

/**
 * Help text of the server.
 *
 * @example
 * ```ts
 * import { parseServerArgs, SERVER_USAGE } from "./server_options.ts";
 * if (parseServerArgs(["--help"]) === null) console.log(SERVER_USAGE);
 * ```
 */
export const SERVER_USAGE = `Usage: tlspush-server [options]

A TLS message server: clients send length-prefixed UTF-8 messages and get them echoed;
every line typed on standard input is pushed to all connected clients.

Options:
  --hostname H           address to listen on (default ::, every IPv6 and IPv4 address;
                         0.0.0.0 where there is no IPv6)
  --port N               port (default 9002; 0 picks a free port)
  --certs-dir DIR        local CA and generated certificate (default certs)
  --cert FILE --key FILE serve this certificate and key (PEM) instead of a generated one
  --san NAME             extra host name or IP for the generated certificate (repeatable)
  --client-ca FILE       require TLS clients to present a certificate signed by this CA
                         (PEM); each is known by its subject CN (the web port does not ask)
  --max-frame BYTES      largest message accepted (default 16777216)
  --framing F            le32 (default), be32 or line
  --max-pending BYTES    bytes queued for one client before it is cut off (default 8388608)
  --relay                also send each client's message to every other client
  --plain                plain TCP without TLS (insecure: for tests and trusted networks)
  --drain-timeout S      seconds to flush a client's queue at shutdown, or without progress
                         once it has half-closed (default 5; 0: close without waiting)
  --max-connections N    refuse connections beyond N at once (default 10000; 0: no limit)
  --handshake-timeout S  drop a peer that has not completed TLS within S seconds (default 10);
                         on the --ws-port: TLS and a complete request head
  --idle-timeout S       close a client silent for S seconds (default 0: never)
  --request-timeout S    --ws-port: cut off a request whose body and answer take longer than
                         S seconds (default 30)
  --keepalive-timeout S  --ws-port: close an HTTP connection idle for S seconds between
                         requests (default 30; WebSocket clients stay: they answer pings)
  --history N            messages each channel keeps for replay to v2 clients (default 100)
  --history-age S        ...and for at most S seconds (default 3600; 0: no age limit)
  --max-channels N       channels one v2 connection may subscribe to (default 1000)
  --broker URL           serve one audience from many instances through a broker:
                         redis://[user:pass@]host:port[/db], rediss://..., nats://host:port
                         (NATS with JetStream: nats-server -js)
  --broker-prefix P      separates deployments on one broker (default tlspush)
  --verbose              log a line per received message
  --ws-port N            HTTPS + WebSocket port: browser client at /, dashboard at /admin,
                         WebSocket clients at /ws (default 9003; 0 picks a free port)
  --no-ws                no HTTPS/WebSocket endpoint
  --admin-token TOKEN    token of /admin and /metrics (16+ characters of A-Z a-z 0-9 . _ ~ -;
                         default: TLSPUSH_ADMIN_TOKEN, else a new one printed at startup)
  --publish-token TOKEN  token of POST /api/publish on the --ws-port (same rules; default:
                         TLSPUSH_PUBLISH_TOKEN, else the publish API is off)
  --jwt-secret SECRET    clients must authenticate with a JWT signed HS256 with SECRET (32+
                         bytes; better: TLSPUSH_JWT_SECRET, which ps does not show)
  --jwt-public-key FILE  ...or signed ES256 / RS256 for this PEM public key
  --acl FILE             JSON: client-certificate identity -> {"subs": [...], "pubs": [...]};
                         turns authentication on; reloaded on SIGHUP
  --auth-timeout S       with authentication on, close a client that has not authenticated
                         within S seconds (default 10)
  --rate N               messages a second one connection may send (default 0: no limit);
                         v2 gets ERR rate-limited beyond it, v1 is read more slowly
  --rate-burst N         ...of which N at once after a quiet while (default: N of --rate)
  --connect-rate N       new connections a second from one address, both ports (default 0:
                         no limit)
  --help                 show this help

Generated files: DIR/ca.pem is the CA clients trust (tlspush-client --ca DIR/ca.pem).`;

/**
 * Parses the server's arguments; throws `UsageError` on bad input. Null means: help shown.
 *
 * @example
 * ```ts
 * import { parseServerArgs } from "./server_options.ts";
 * const options = parseServerArgs(["--port", "9443", "--framing", "be32", "--relay"]);
 * options?.framing; // "be32"
 * parseServerArgs(["--help"]); // null: print SERVER_USAGE
 * ```
 */
export function parseServerArgs(args: string[]): ServerOptions | null {
  const values = parseFlags(args, {
    hostname: { type: "string" },
    port: { type: "string" },
    "certs-dir": { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    san: { type: "string", multiple: true },
    "client-ca": { type: "string" },
    "max-frame": { type: "string" },
    framing: { type: "string" },
    "max-pending": { type: "string" },
    relay: { type: "boolean" },
    plain: { type: "boolean" },
    "drain-timeout": { type: "string" },
    "max-connections": { type: "string" },
    "handshake-timeout": { type: "string" },
    "idle-timeout": { type: "string" },
    "request-timeout": { type: "string" },
    "keepalive-timeout": { type: "string" },
    verbose: { type: "boolean" },
    history: { type: "string" },
    "history-age": { type: "string" },
    "max-channels": { type: "string" },
    broker: { type: "string" },
    "broker-prefix": { type: "string" },
    "ws-port": { type: "string" },
    "no-ws": { type: "boolean" },
    "admin-token": { type: "string" },
    "publish-token": { type: "string" },
    "jwt-secret": { type: "string" },
    "jwt-public-key": { type: "string" },
    acl: { type: "string" },
    "auth-timeout": { type: "string" },
    rate: { type: "string" },
    "rate-burst": { type: "string" },
    "connect-rate": { type: "string" },
    help: { type: "boolean" },
  });
  if (values.help) return null;
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (values["client-ca"] !== undefined && values.plain) {
    throw new UsageError("--client-ca needs TLS: drop --plain");
  }
  if (values.hostname === "") throw new UsageError("--hostname must not be empty");
  const d = SERVER_DEFAULTS;
  const adminToken = parseToken(values["admin-token"], "--admin-token") ??
    parseToken(readEnv(ADMIN_TOKEN_ENV), ADMIN_TOKEN_ENV);
  const publishToken = parseToken(values["publish-token"], "--publish-token") ??
    parseToken(readEnv(PUBLISH_TOKEN_ENV), PUBLISH_TOKEN_ENV);
  if (publishToken !== undefined && publishToken === adminToken) {
    throw new UsageError(
      "the publish token must differ from the admin token: they guard different things",
    );
  }
  const jwtSecret = parseJwtSecret(values["jwt-secret"], "--jwt-secret") ??
    parseJwtSecret(readEnv(JWT_SECRET_ENV), JWT_SECRET_ENV);
  if (jwtSecret !== undefined && values["jwt-public-key"] !== undefined) {
    throw new UsageError(
      "--jwt-secret (or TLSPUSH_JWT_SECRET) and --jwt-public-key exclude each other: one key",
    );
  }
  if (values["jwt-public-key"] === "" || values.acl === "") {
    throw new UsageError(`--${values.acl === "" ? "acl" : "jwt-public-key"} needs a file`);
  }
  const rate = values.rate === undefined
    ? d.rate
    : parseInteger(values.rate, "--rate", 0, 1_000_000_000);
  if (values["rate-burst"] !== undefined && rate === 0) {
    throw new UsageError("--rate-burst needs --rate");
  }
  return {
    jwtSecret,
    jwtPublicKey: values["jwt-public-key"],
    jwtClockSkewMs: d.jwtClockSkewMs,
    acl: values.acl,
    authTimeoutMs: positiveSeconds(values["auth-timeout"], "--auth-timeout", d.authTimeoutMs),
    rate,
    rateBurst: values["rate-burst"] === undefined
      ? d.rateBurst
      : parseInteger(values["rate-burst"], "--rate-burst", 1, 1_000_000_000),
    connectRate: values["connect-rate"] === undefined
      ? d.connectRate
      : parseInteger(values["connect-rate"], "--connect-rate", 0, 1_000_000),
    hostname: values.hostname ?? d.hostname,
    port: values.port === undefined ? d.port : parsePort(values.port),
    certsDir: values["certs-dir"] ?? d.certsDir,
    cert: values.cert,
    key: values.key,
    sans: (values.san ?? []).map(parseSubjectAltName),
    clientCa: values["client-ca"],
    maxFrame: values["max-frame"] === undefined ? d.maxFrame : parseMaxFrame(values["max-frame"]),
    framing: values.framing === undefined ? d.framing : parseFraming(values.framing),
    maxPending: values["max-pending"] === undefined
      ? d.maxPending
      : parseInteger(values["max-pending"], "--max-pending", 1, Number.MAX_SAFE_INTEGER),
    relay: values.relay ?? false,
    plain: values.plain ?? false,
    verbose: values.verbose ?? false,
    drainMs: values["drain-timeout"] === undefined
      ? d.drainMs
      : parseSeconds(values["drain-timeout"], "--drain-timeout"),
    trafficReportMs: d.trafficReportMs,
    maxConnections: values["max-connections"] === undefined
      ? d.maxConnections
      : parseInteger(values["max-connections"], "--max-connections", 0, 10_000_000),
    handshakeTimeoutMs: positiveSeconds(
      values["handshake-timeout"],
      "--handshake-timeout",
      d.handshakeTimeoutMs,
    ),
    idleTimeoutMs: values["idle-timeout"] === undefined
      ? d.idleTimeoutMs
      : parseSeconds(values["idle-timeout"], "--idle-timeout"),
    requestTimeoutMs: positiveSeconds(
      values["request-timeout"],
      "--request-timeout",
      d.requestTimeoutMs,
    ),
    keepAliveTimeoutMs: positiveSeconds(
      values["keepalive-timeout"],
      "--keepalive-timeout",
      d.keepAliveTimeoutMs,
    ),
    ws: !(values["no-ws"] ?? false),
    wsPort: values["ws-port"] === undefined ? d.wsPort : parsePort(values["ws-port"], "--ws-port"),
    adminToken,
    publishToken,
    history: values.history === undefined
      ? d.history
      : parseInteger(values.history, "--history", 0, 1_000_000),
    historyAgeMs: values["history-age"] === undefined
      ? d.historyAgeMs
      : parseSeconds(values["history-age"], "--history-age"),
    broker: values.broker === undefined ? undefined : parseBroker(values.broker),
    brokerPrefix: values["broker-prefix"] === undefined
      ? d.brokerPrefix
      : parseBrokerPrefix(values["broker-prefix"]),
    maxChannels: values["max-channels"] === undefined
      ? d.maxChannels
      : parseInteger(values["max-channels"], "--max-channels", 1, 1_000_000),
  };
}

/**
 * The environment variable that may hold the admin token.
 *
 * @example
 * ```ts
 * import { ADMIN_TOKEN_ENV } from "./server_options.ts";
 * Deno.env.get(ADMIN_TOKEN_ENV); // the token when set (needs --allow-env=TLSPUSH_ADMIN_TOKEN)
 * ```
 */
export const ADMIN_TOKEN_ENV = "TLSPUSH_ADMIN_TOKEN";

/** The environment variable that may hold the publish token. */
const PUBLISH_TOKEN_ENV = "TLSPUSH_PUBLISH_TOKEN";

/** The environment variable that may hold the JWT secret. */
const JWT_SECRET_ENV = "TLSPUSH_JWT_SECRET";

/** An HS256 secret: at least as long as the hash (RFC 7518, section 3.2). */
function parseJwtSecret(value: string | undefined, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (new TextEncoder().encode(value).length < MIN_SECRET_BYTES) {
    throw new UsageError(
      `${source} must be at least ${MIN_SECRET_BYTES} bytes, e.g. $(openssl rand -hex 32) ` +
        "(the secret is not shown)",
    );
  }
  return value;
}

/** A token: long enough to resist guessing, and safe in a URL and a cookie. */
function parseToken(value: string | undefined, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9._~-]{16,}$/.test(value)) {
    throw new UsageError(
      `${source} must be at least 16 characters of A-Z a-z 0-9 . _ ~ - (the token is not shown)`,
    );
  }
  return value;
}

/** A variable of the environment, or undefined when it is unset or not permitted (no prompt). */
function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** A broker URL: checked here so that a typo is a usage error (exit 2), not a runtime one. */
function parseBroker(url: string): string {
  try {
    parseBrokerUrl(url);
  } catch (error) {
    throw new UsageError(`--broker: ${describeError(error)}`);
  }
  return url;
}

function parseBrokerPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
    throw new UsageError(`--broker-prefix must be 1 to 64 of A-Z a-z 0-9 _ -, got '${prefix}'`);
  }
  return prefix;
}

/**
 * Seconds that must be more than zero (a zero handshake timeout would drop everyone), in ms;
 * `fallback` when the flag is not given.
 */
function positiveSeconds(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseSeconds(value, flag);
  if (ms <= 0) throw new UsageError(`${flag} must be more than 0 seconds`);
  return ms;
}

/** A host name or IP address for the certificate; anything else is a usage error. */
function parseSubjectAltName(name: string): string {
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (ipv4) {
    if (ipv4.slice(1).every((part) => Number(part) <= 255)) return name;
  } else if (name.includes(":")) {
    if (/^[0-9a-fA-F:.]+$/.test(name) && name.split("::").length <= 2) return name;
  } else if (
    name.length <= 253 &&
    name.split(".").every((label) =>
      /^(\*|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$/.test(label)
    )
  ) {
    return name;
  }
  throw new UsageError(`--san must be a host name or an IP address, got '${name}'`);
}
