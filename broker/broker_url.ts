/**
 * `--broker` URLs: `redis://[user:pass@]host:port[/db]`, `rediss://` (Redis over TLS) and
 * `nats://[user:pass@ | token@]host:port`, parsed once and checked, with a redacted form that is
 * the only one allowed in log lines and error messages.
 *
 * @example
 * ```ts
 * import { parseBrokerUrl, redact } from "./broker_url.ts";
 * const url = parseBrokerUrl("redis://app:s3cret@127.0.0.1:6379/2");
 * url.kind; // "redis"
 * url.database; // 2
 * redact(url); // "redis://app:***@127.0.0.1:6379/2"
 * ```
 * @module
 */
import { BrokerConfigError } from "./broker_errors.ts";

/**
 * Which broker a URL names.
 *
 * @example
 * ```ts
 * import type { BrokerKind } from "./broker_url.ts";
 * const kind: BrokerKind = "nats";
 * ```
 */
export type BrokerKind = "redis" | "nats";

/**
 * A parsed, checked broker URL.
 *
 * @example
 * ```ts
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const { kind, hostname, port, tls } = parseBrokerUrl("rediss://cache.example.com");
 * // "redis", "cache.example.com", 6379, true
 * ```
 */
export interface BrokerUrl {
  /** Redis or NATS. */
  readonly kind: BrokerKind;
  /** The scheme without the colon: `redis`, `rediss` or `nats`. */
  readonly scheme: "redis" | "rediss" | "nats";
  /** Host name or IP address (IPv6 without brackets). */
  readonly hostname: string;
  /** Port (6379 for Redis, 4222 for NATS when the URL has none). */
  readonly port: number;
  /** TLS to the broker (`rediss://`). */
  readonly tls: boolean;
  /** User name, when the URL has one. */
  readonly username?: string;
  /** Password, when the URL has one. */
  readonly password?: string;
  /** NATS token: the user part of `nats://TOKEN@host` when no password follows it. */
  readonly token?: string;
  /** Redis database number (`/db`), 0 by default. */
  readonly database: number;
}

const DEFAULT_PORTS = { redis: 6379, rediss: 6379, nats: 4222 } as const;

/**
 * Parses `text` into a `BrokerUrl`; throws `BrokerConfigError` (whose message never holds the
 * password) when it is not one.
 *
 * @example
 * ```ts
 * import { parseBrokerUrl } from "./broker_url.ts";
 * parseBrokerUrl("nats://127.0.0.1:4222").kind; // "nats"
 * try {
 *   parseBrokerUrl("http://127.0.0.1");
 * } catch (error) {
 *   console.error((error as Error).message); // --broker: unsupported scheme 'http:' ...
 * }
 * ```
 */
export function parseBrokerUrl(text: string): BrokerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BrokerConfigError(
      `--broker: not a URL: '${
        redactText(text)
      }' (e.g. redis://127.0.0.1:6379 or nats://127.0.0.1:4222)`,
    );
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "redis" && scheme !== "rediss" && scheme !== "nats") {
    throw new BrokerConfigError(
      `--broker: unsupported scheme '${url.protocol}' (use redis://, rediss:// or nats://)`,
    );
  }
  const shown = redactUrl(url);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!hostname) throw new BrokerConfigError(`--broker: no host in ${shown}`);
  if (url.search || url.hash) {
    throw new BrokerConfigError(`--broker: query and fragment are not supported in ${shown}`);
  }
  let database = 0;
  const path = url.pathname.replace(/^\//, "");
  if (path !== "") {
    if (scheme === "nats" || !/^\d{1,5}$/.test(path)) {
      throw new BrokerConfigError(
        `--broker: unexpected path '/${path}' in ${shown}` +
          (scheme === "nats" ? "" : " (a Redis URL may end in /DB, a database number)"),
      );
    }
    database = Number(path);
  }
  let username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  let token: string | undefined;
  if (scheme === "nats" && username !== undefined && password === undefined) {
    token = username;
    username = undefined;
  }
  return {
    kind: scheme === "nats" ? "nats" : "redis",
    scheme,
    hostname,
    port: url.port ? Number(url.port) : DEFAULT_PORTS[scheme],
    tls: scheme === "rediss",
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(token !== undefined ? { token } : {}),
    database,
  };
}

/**
 * The URL with its password (or NATS token) replaced by `***`: what log lines show.
 *
 * @example
 * ```ts
 * import { parseBrokerUrl, redact } from "./broker_url.ts";
 * redact(parseBrokerUrl("redis://:hunter2@127.0.0.1")); // "redis://:***@127.0.0.1:6379"
 * redact(parseBrokerUrl("nats://t0ken@127.0.0.1:4222")); // "nats://***@127.0.0.1:4222"
 * ```
 */
export function redact(url: BrokerUrl): string {
  const host = url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname;
  let auth = "";
  if (url.username !== undefined && url.password !== undefined) {
    auth = `${encodeURIComponent(url.username)}:***@`;
  } else if (url.username !== undefined) {
    auth = `${encodeURIComponent(url.username)}@`;
  } else if (url.password !== undefined) {
    auth = ":***@";
  } else if (url.token !== undefined) {
    auth = "***@";
  }
  const db = url.database ? `/${url.database}` : "";
  return `${url.scheme}://${auth}${host}:${url.port}${db}`;
}

/**
 * `text` with every secret of `url` (password, token, and their URL-encoded forms) replaced by
 * `***`: for messages that come from a client library and might quote them.
 *
 * @example
 * ```ts
 * import { parseBrokerUrl, scrubSecrets } from "./broker_url.ts";
 * const url = parseBrokerUrl("redis://app:s3cret@127.0.0.1:6379");
 * scrubSecrets("WRONGPASS for s3cret", url); // "WRONGPASS for ***"
 * ```
 */
export function scrubSecrets(text: string, url: BrokerUrl): string {
  let result = text;
  for (const secret of [url.password, url.token]) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      result = result.split(form).join("***");
    }
  }
  return result;
}

/** A URL object's text with the password (or lone user part of nats://) replaced. */
function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = "***";
  else if (copy.username && copy.protocol === "nats:") copy.username = "***";
  return copy.href;
}

/** Unparseable text: hide whatever sits between `//` and the last `@`. */
function redactText(text: string): string {
  return text.replace(/\/\/[^/]*@/, "//***@");
}
