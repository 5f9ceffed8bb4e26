/**
 * The server's command line: flags, defaults, help text.
 *
 * @example
 * ```ts
 * import { parseServerArgs } from "./options.ts";
 * const options = parseServerArgs(["--port", "0"]);
 * ```
 * @module
 */
import { UsageError } from "../cli/errors.ts";
import { parseFlags, parseFraming, parseMaxFrame, parsePort, parseSeconds } from "../cli/flags.ts";
import { DEFAULT_MAX_FRAME, type Framing } from "../protocol/framing.ts";
import { parseInteger } from "../cli/flags.ts";

/** Everything the server needs to start. */
export interface ServerOptions {
  /** Address to bind (default `0.0.0.0`). */
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
}

/** Defaults of every option. */
export const SERVER_DEFAULTS: ServerOptions = {
  hostname: "0.0.0.0",
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
};

/** Help text of the server. */
export const SERVER_USAGE = `Usage: tlspush-server [options]

A TLS message server: clients send length-prefixed UTF-8 messages and get them echoed;
every line typed on standard input is pushed to all connected clients.

Options:
  --hostname H           address to listen on (default 0.0.0.0)
  --port N               port (default 9002; 0 picks a free port)
  --certs-dir DIR        local CA and generated certificate (default certs)
  --cert FILE --key FILE serve this certificate and key (PEM) instead of a generated one
  --san NAME             extra host name or IP for the generated certificate (repeatable)
  --max-frame BYTES      largest message accepted (default 16777216)
  --framing F            le32 (default), be32 or line
  --max-pending BYTES    bytes queued for one client before it is cut off (default 8388608)
  --relay                also send each client's message to every other client
  --plain                plain TCP without TLS (insecure: for tests and trusted networks)
  --drain-timeout S      on shutdown, seconds to flush queued messages (default 5)
  --verbose              log a line per received message
  --help                 show this help

Generated files: DIR/ca.pem is the CA clients trust (tlspush-client --ca DIR/ca.pem).`;

/** Parses the server's arguments; throws `UsageError` on bad input. Null means: help shown. */
export function parseServerArgs(args: string[]): ServerOptions | null {
  const values = parseFlags(args, {
    hostname: { type: "string" },
    port: { type: "string" },
    "certs-dir": { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    san: { type: "string", multiple: true },
    "max-frame": { type: "string" },
    framing: { type: "string" },
    "max-pending": { type: "string" },
    relay: { type: "boolean" },
    plain: { type: "boolean" },
    "drain-timeout": { type: "string" },
    verbose: { type: "boolean" },
    help: { type: "boolean" },
  });
  if (values.help) return null;
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  if (values.hostname === "") throw new UsageError("--hostname must not be empty");
  const d = SERVER_DEFAULTS;
  return {
    hostname: values.hostname ?? d.hostname,
    port: values.port === undefined ? d.port : parsePort(values.port),
    certsDir: values["certs-dir"] ?? d.certsDir,
    cert: values.cert,
    key: values.key,
    sans: values.san ?? [],
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
  };
}
