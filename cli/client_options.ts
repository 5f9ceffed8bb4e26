/**
 * The client's command line: flags and help text, parsed into the client library's
 * {@link ClientConfig} (defaults in `client/config.ts`).
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./client_options.ts";
 * const config = parseClientArgs(["--send", "hello"]);
 * ```
 * @module
 */
import { CHANNEL_RULE, isValidChannel } from "../protocol/channel.ts";
import { UsageError } from "./errors.ts";
import { parseFlags, parseFraming, parseMaxFrame, parsePort, parseSeconds } from "./flags.ts";
import { CLIENT_DEFAULTS, type ClientConfig } from "../client/config.ts";

/**
 * Help text of the client.
 *
 * @example
 * ```ts
 * import { CLIENT_USAGE, parseClientArgs } from "./client_options.ts";
 * if (parseClientArgs(["--help"]) === null) console.log(CLIENT_USAGE);
 * ```
 */
export const CLIENT_USAGE = `Usage: tlspush-client [options]

Connects to a tlspush server over TLS. Each line typed on standard input is sent as one
message; every message received (echoes and broadcasts) is printed on its own line (in a
terminal after "< ", so that an echo differs from the line typed). At end of input the
client finishes receiving, then exits when the server closes.

Options:
  --url URL         the server as a URL instead of --hostname/--port: tls://HOST:PORT (the
                    default), tcp://HOST:PORT (--plain), or WebSocket: wss://HOST:PORT/ws
                    (the server's --ws-port, default 9003), ws://HOST:PORT/ws (--plain)
  --hostname H      server host name (default localhost)
  --port N          server port (default 9002)
  --ca FILE         CA certificate to trust (default certs/ca.pem when it exists,
                    else the system's trusted roots)
  --cert FILE --key FILE
                    present this client certificate and key (PEM), for a server started
                    with --client-ca; read again at every (re)connect
  --send TEXT       send TEXT instead of reading standard input (repeatable)
  --listen          send nothing; print every pushed message until the server closes
  --framing F       le32 (default), be32 or line: must match the server
  --max-frame BYTES largest message accepted (default 16777216)
  --plain           plain TCP without TLS (the server must use --plain too)
  --connect-timeout S
                    seconds to connect, TLS or WebSocket handshake included (default 10)
  --reconnect       when the connection fails or the server closes it early, retry with
                    exponential backoff and jitter (at most 15 s apart) and carry on;
                    never after a certificate error or a wrong port. With --channel it
                    resumes every channel after the last message it printed (a GAP,
                    messages no longer retained, is reported on stderr)
  --channel NAME    speak protocol v2 and subscribe to channel NAME (repeatable); print
                    each of its messages. Without --pub the client only listens
  --pub NAME        speak protocol v2 and publish each line typed (or each --send) on
                    channel NAME (the server needs --relay, or a token that allows it)
  --print-channel   print each message after its channel and a space: "metrics cpu 93%"
  --token TOKEN     present TOKEN (a JWT) with AUTH before subscribing: for a server with
                    --jwt-secret or --jwt-public-key (speaks protocol v2)
  --help            show this help

Messages go to stdout; status and errors go to stderr. Exit status: 0 when the input
ended and every message came back before the server closed (with --listen: when the
server closed; or after Ctrl-C), 1 when the server closed first or the connection failed,
2 for a bad flag or value.`;

/**
 * Parses the client's arguments; throws `UsageError` on bad input. Null means: help shown.
 *
 * @example
 * ```ts
 * import { parseClientArgs } from "./client_options.ts";
 * const config = parseClientArgs(["--url", "wss://localhost:9003/ws", "--send", "hi"]);
 * config?.webSocketUrl; // "wss://localhost:9003/ws"
 * config?.mode; // "send"
 * ```
 */
export function parseClientArgs(args: string[]): ClientConfig | null {
  const values = parseFlags(args, {
    hostname: { type: "string" },
    port: { type: "string" },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    send: { type: "string", multiple: true },
    listen: { type: "boolean" },
    framing: { type: "string" },
    "max-frame": { type: "string" },
    plain: { type: "boolean" },
    "connect-timeout": { type: "string" },
    reconnect: { type: "boolean" },
    url: { type: "string" },
    channel: { type: "string", multiple: true },
    pub: { type: "string" },
    "print-channel": { type: "boolean" },
    token: { type: "string" },
    help: { type: "boolean" },
  });
  if (values.help) return null;
  if (values.send && values.listen) throw new UsageError("--send and --listen exclude each other");
  if (values.pub !== undefined && values.listen) {
    throw new UsageError("--pub and --listen exclude each other: --listen sends nothing");
  }
  if (values.hostname === "") throw new UsageError("--hostname must not be empty");
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (values.cert !== undefined && values.plain) {
    throw new UsageError("--cert needs TLS: drop --plain");
  }
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
  const d = CLIENT_DEFAULTS;
  const framing = values.framing === undefined ? d.framing : parseFraming(values.framing);
  if (framing === "line" && values.send?.some((message) => message.includes("\n"))) {
    throw new UsageError("--framing line cannot carry a --send message with a newline in it");
  }
  const channels = [...new Set(values.channel ?? [])];
  for (const name of [...channels, ...(values.pub === undefined ? [] : [values.pub])]) {
    if (!isValidChannel(name)) {
      throw new UsageError(`invalid channel '${name}': ${CHANNEL_RULE}`);
    }
  }
  if (values.send && channels.length > 0 && values.pub === undefined) {
    throw new UsageError("--send with --channel needs --pub NAME: the channel to publish on");
  }
  if (values.token !== undefined && channels.length === 0 && values.pub === undefined) {
    throw new UsageError("--token needs --channel or --pub: a v1 client cannot authenticate");
  }
  if (values["print-channel"] && channels.length === 0) {
    throw new UsageError("--print-channel needs --channel");
  }
  // Subscribed and publishing nowhere: there is nothing to send, so listen.
  const listen = values.listen || (channels.length > 0 && values.pub === undefined);
  return {
    ...d,
    hostname: values.hostname ?? d.hostname,
    port: values.port === undefined ? d.port : parsePort(values.port),
    ca: values.ca,
    cert: values.cert,
    key: values.key,
    mode: values.send ? "send" : listen ? "listen" : "interactive",
    messages: values.send ?? [],
    channels,
    ...(values.pub === undefined ? {} : { publishTo: values.pub }),
    printChannel: values["print-channel"] ?? d.printChannel,
    ...(values.token === undefined ? {} : { token: parseToken(values.token) }),
    framing,
    maxFrame: values["max-frame"] === undefined ? d.maxFrame : parseMaxFrame(values["max-frame"]),
    plain: values.plain ?? d.plain,
    connectTimeoutMs: values["connect-timeout"] === undefined
      ? d.connectTimeoutMs
      : parseTimeout(values["connect-timeout"], "--connect-timeout"),
    reconnect: values.reconnect ?? d.reconnect,
    ...target,
  };
}

/** A token is one field of an `AUTH` command: no spaces or line breaks. */
function parseToken(token: string): string {
  if (!/^[\x21-\x7e]{1,8192}$/.test(token)) {
    throw new UsageError("--token must be 1 to 8192 printable characters without spaces");
  }
  return token;
}

/** A time limit in seconds, returned in ms: 0 would give up before trying, so it is refused. */
function parseTimeout(value: string, flag: string): number {
  const ms = parseSeconds(value, flag);
  if (ms === 0) throw new UsageError(`${flag} must be more than 0 seconds, got ${value}`);
  return ms;
}

/** The parts of the options a `--url` sets. */
type Target = Pick<ClientConfig, "hostname" | "port" | "plain" | "webSocketUrl">;

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
