/**
 * The client's command line: flags, defaults, help text.
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./options.ts";
 * const options = parseClientArgs(["--send", "hello"]);
 * ```
 * @module
 */
import { UsageError } from "../cli/errors.ts";
import { parseFlags, parseFraming, parseMaxFrame, parsePort } from "../cli/flags.ts";
import { DEFAULT_MAX_FRAME, type Framing } from "../protocol/framing.ts";

/** How the client behaves once connected. */
export type ClientMode = "interactive" | "send" | "listen";

/** Everything the client needs. */
export interface ClientOptions {
  /** Server host name (default `localhost`; the certificate must be valid for it). */
  hostname: string;
  /** Server port (default 9002). */
  port: number;
  /** CA file to trust; undefined: `certs/ca.pem` if it exists, else the system roots. */
  ca?: string;
  /** Stdin lines (interactive), `--send` messages, or `--listen`. */
  mode: ClientMode;
  /** Messages of `--send`. */
  messages: string[];
  /** Wire framing (must match the server's). */
  framing: Framing;
  /** Largest message accepted from the server. */
  maxFrame: number;
  /** TCP without TLS (the server must run with --plain). */
  plain: boolean;
  /** Retry a lost connection with backoff (never after a certificate failure). */
  reconnect: boolean;
  /** `wss://` (or, with `--plain` servers, `ws://`) URL: talk WebSocket instead of TLS frames. */
  webSocketUrl?: string;
}

/**
 * Help text of the client.
 *
 * @example
 * ```ts
 * import { CLIENT_USAGE, parseClientArgs } from "./options.ts";
 * if (parseClientArgs(["--help"]) === null) console.log(CLIENT_USAGE);
 * ```
 */
export const CLIENT_USAGE = `Usage: tlspush-client [options]

Connects to a tlspush server over TLS. Each line typed on standard input is sent as one
message; every message received (echoes and broadcasts) is printed on its own line.
At end of input the client finishes receiving, then exits when the server closes.

Options:
  --url URL         the server as a URL instead of --hostname/--port: tls://HOST:PORT (the
                    default), tcp://HOST:PORT (--plain), or WebSocket: wss://HOST:PORT/ws
                    (the server's --ws-port, default 9003), ws://HOST:PORT/ws (--plain)
  --hostname H      server host name (default localhost)
  --port N          server port (default 9002)
  --ca FILE         CA certificate to trust (default certs/ca.pem when it exists,
                    else the system's trusted roots)
  --send TEXT       send TEXT instead of reading standard input (repeatable)
  --listen          send nothing; print every pushed message until the server closes
  --framing F       le32 (default), be32 or line: must match the server
  --max-frame BYTES largest message accepted (default 16777216)
  --plain           plain TCP without TLS (the server must use --plain too)
  --reconnect       when the connection is lost, retry with exponential backoff and
                    jitter (at most 15 s apart) and carry on; never after a certificate error
  --help            show this help

Messages go to stdout; status and errors go to stderr.`;

/**
 * Parses the client's arguments; throws `UsageError` on bad input. Null means: help shown.
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./options.ts";
 * const options = parseClientArgs(["--url", "wss://localhost:9003/ws", "--send", "hi"]);
 * options?.webSocketUrl; // "wss://localhost:9003/ws"
 * options?.mode; // "send"
 * ```
 */
export function parseClientArgs(args: string[]): ClientOptions | null {
  const values = parseFlags(args, {
    hostname: { type: "string" },
    port: { type: "string" },
    ca: { type: "string" },
    send: { type: "string", multiple: true },
    listen: { type: "boolean" },
    framing: { type: "string" },
    "max-frame": { type: "string" },
    plain: { type: "boolean" },
    reconnect: { type: "boolean" },
    url: { type: "string" },
    help: { type: "boolean" },
  });
  if (values.help) return null;
  if (values.send && values.listen) throw new UsageError("--send and --listen exclude each other");
  if (values.hostname === "") throw new UsageError("--hostname must not be empty");
  const target = values.url === undefined ? undefined : parseTarget(values.url);
  if (target) {
    for (const flag of ["hostname", "port", "plain"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(`--url and --${flag} exclude each other`);
      }
    }
    if (target.webSocketUrl && values.framing !== undefined) {
      throw new UsageError("--framing does not apply to a WebSocket (ws:// or wss://) --url");
    }
  }
  return {
    hostname: values.hostname ?? "localhost",
    port: values.port === undefined ? 9002 : parsePort(values.port),
    ca: values.ca,
    mode: values.send ? "send" : values.listen ? "listen" : "interactive",
    messages: values.send ?? [],
    framing: values.framing === undefined ? "le32" : parseFraming(values.framing),
    maxFrame: values["max-frame"] === undefined
      ? DEFAULT_MAX_FRAME
      : parseMaxFrame(values["max-frame"]),
    plain: values.plain ?? false,
    reconnect: values.reconnect ?? false,
    ...target,
  };
}

/** The parts of the options a `--url` sets. */
type Target = Pick<ClientOptions, "hostname" | "port" | "plain" | "webSocketUrl">;

/** Default ports of the URL schemes (wss and ws follow the web's defaults). */
const SCHEME_PORTS: Record<string, number> = { "tls:": 9002, "tcp:": 9002, "wss:": 443, "ws:": 80 };

/** Parses `--url`: tls://, tcp://, wss:// or ws://, with a host and an optional port. */
function parseTarget(value: string): Target {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url must be a URL such as wss://localhost:9003/ws, got '${value}'`);
  }
  if (!(url.protocol in SCHEME_PORTS)) {
    throw new UsageError(
      `--url must start with tls://, tcp://, wss:// or ws://, got '${url.protocol}//'`,
    );
  }
  if (url.hostname === "") throw new UsageError(`--url needs a host name, got '${value}'`);
  const webSocket = url.protocol === "wss:" || url.protocol === "ws:";
  if (!webSocket && url.pathname !== "" && url.pathname !== "/") {
    throw new UsageError(`a ${url.protocol}// --url has no path, got '${value}'`);
  }
  // new URL keeps brackets around IPv6 hosts; connecting wants the bare address.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    hostname,
    port: url.port === "" ? SCHEME_PORTS[url.protocol] : Number(url.port),
    plain: url.protocol === "tcp:" || url.protocol === "ws:",
    webSocketUrl: webSocket ? url.href : undefined,
  };
}
