/**
 * Opening a verified TLS connection to a tlspush server, with failures turned into advice.
 *
 * It connects TCP first and turns Nagle off before starting TLS (`Deno.connectTls` cannot, and
 * pays ~40 ms on the first exchange), and completes the handshake before returning, so that an
 * untrusted or misnamed certificate is reported here rather than at the first read.
 * Verification is never disabled.
 *
 * @example
 * ```ts
 * import { connectToServer } from "./connect.ts";
 * const conn = await connectToServer({ hostname: "localhost", port: 9002, caFile: "certs/ca.pem" });
 * ```
 * @module
 */
import { describeError, TlspushError } from "../util/errors.ts";
import { closeQuietly } from "../util/net.ts";

/** Where and how to connect. */
export interface ConnectOptions {
  /** Server host name; the certificate must be valid for it. */
  hostname: string;
  /** Server port. */
  port: number;
  /** CA file to trust; undefined: the system's trusted roots. */
  caFile?: string;
  /** Skip TLS (the server runs with --plain). */
  plain?: boolean;
}

/**
 * The server's certificate was refused, or the CA to trust is unusable: a configuration problem,
 * never worth a retry.
 *
 * @example
 * ```ts
 * import { connectToServer, UntrustedServerError } from "./connect.ts";
 * try {
 *   await connectToServer({ hostname: "localhost", port: 9002, caFile: "certs/ca.pem" });
 * } catch (error) {
 *   if (error instanceof UntrustedServerError) console.error(error.message); // never retried
 * }
 * ```
 */
export class UntrustedServerError extends TlspushError {
  /** Creates the error with its advice. */
  constructor(message: string) {
    super(message);
    this.name = "UntrustedServerError";
  }
}

/**
 * The CA file a client trusts by default, when it exists.
 *
 * @example
 * ```ts
 * import { DEFAULT_CA_FILE, readCa } from "./connect.ts";
 * const pem = await readCa(DEFAULT_CA_FILE); // certs/ca.pem, written by the server
 * ```
 */
export const DEFAULT_CA_FILE = "certs/ca.pem";

/**
 * Picks the CA file: the given one, else `certs/ca.pem` when present, else none.
 *
 * @example
 * ```ts
 * import { resolveCaFile } from "./connect.ts";
 * await resolveCaFile("my-ca.pem"); // "my-ca.pem"
 * await resolveCaFile(undefined); // "certs/ca.pem" if it exists, else undefined (system roots)
 * ```
 */
export async function resolveCaFile(caFile: string | undefined): Promise<string | undefined> {
  if (caFile !== undefined) return caFile;
  try {
    await Deno.stat(DEFAULT_CA_FILE);
    return DEFAULT_CA_FILE;
  } catch {
    return undefined;
  }
}

/**
 * Connects and completes the TLS handshake; throws `TlspushError` with advice on failure.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "../protocol/framing.ts";
 * import { connectToServer } from "./connect.ts";
 * const conn = await connectToServer({ hostname: "127.0.0.1", port: 9002, plain: true });
 * await conn.write(encodeFrame("hello"));
 * conn.close();
 * ```
 */
export async function connectToServer(options: ConnectOptions): Promise<Deno.Conn> {
  const { hostname, port } = options;
  const where = `${hostname}:${port}`;
  const caCerts = options.caFile === undefined ? undefined : [await readCa(options.caFile)];
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port });
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      throw new TlspushError(
        `cannot connect to ${where}: connection refused (is the server running?)`,
      );
    }
    throw new TlspushError(`cannot connect to ${where}: ${describeError(error)}`);
  }
  tcp.setNoDelay(true);
  if (options.plain) return tcp;
  let tls: Deno.TlsConn;
  try {
    tls = await Deno.startTls(tcp, { hostname, caCerts });
  } catch (error) {
    closeQuietly(tcp); // startTls may have taken it over already
    throw new UntrustedServerError(
      `cannot use the CA file ${options.caFile}: ${describeError(error)}`,
    );
  }
  try {
    await tls.handshake();
  } catch (error) {
    closeQuietly(tls);
    throw handshakeFailure(error, options);
  }
  return tls;
}

/**
 * The error to throw for a failed handshake: its advice, as an {@link UntrustedServerError}
 * (never retried) when the certificate was refused.
 *
 * @example
 * ```ts
 * import { handshakeFailure, UntrustedServerError } from "./connect.ts";
 * const error = handshakeFailure(new Error("invalid peer certificate: UnknownIssuer"), {
 *   hostname: "localhost",
 *   port: 9002,
 * });
 * error instanceof UntrustedServerError; // true
 * ```
 */
export function handshakeFailure(error: unknown, options: ConnectOptions): TlspushError {
  const advice = handshakeAdvice(error, options);
  return CERTIFICATE_PROBLEM.test(describeError(error))
    ? new UntrustedServerError(advice)
    : new TlspushError(advice);
}

/** rustls's words for a certificate it will not accept. */
const CERTIFICATE_PROBLEM =
  /UnknownIssuer|BadSignature|UnknownCA|NotValidForName|not valid for name|Expired|NotValidYet|InvalidCertificate|certificate/i;

/**
 * One line saying why the handshake failed and what to do about it.
 *
 * @example
 * ```ts
 * import { handshakeAdvice } from "./connect.ts";
 * const options = { hostname: "127.0.0.1", port: 9002, caFile: "certs/ca.pem" };
 * handshakeAdvice(new Error("invalid peer certificate: UnknownIssuer"), options);
 * // "the certificate of 127.0.0.1:9002 is not signed by the CA in certs/ca.pem ..."
 * ```
 */
export function handshakeAdvice(error: unknown, options: ConnectOptions): string {
  const message = describeError(error);
  const where = `${options.hostname}:${options.port}`;
  if (/UnknownIssuer|BadSignature|UnknownCA|unknown ?issuer/i.test(message)) {
    const trusted = options.caFile ? `the CA in ${options.caFile}` : "the system's trusted roots";
    return `the certificate of ${where} is not signed by ${trusted} (UnknownIssuer): ` +
      `pass --ca with the server's CA file, e.g. --ca certs/ca.pem (the server prints its path)`;
  }
  if (/NotValidForName|not valid for name/i.test(message)) {
    return `the certificate of ${where} is not valid for the name '${options.hostname}' ` +
      `(NotValidForName): connect with a name it was issued for (e.g. --hostname localhost), ` +
      `or start the server with --san ${options.hostname}`;
  }
  if (/Expired|NotValidYet/i.test(message)) {
    return `the certificate of ${where} has expired or is not yet valid: check both clocks, ` +
      `restart the server to issue a fresh certificate`;
  }
  if (/InvalidContentType|CorruptMessage|received corrupt message/i.test(message)) {
    return `TLS handshake with ${where} failed: the server does not speak TLS ` +
      `(is it running with --plain?): ${message}`;
  }
  return `TLS handshake with ${where} failed: ${message}`;
}

/**
 * Reads a CA file (PEM); throws `TlspushError` saying what is wrong with it.
 *
 * @example
 * ```ts
 * import { readCa } from "./connect.ts";
 * const caCerts = [await readCa("certs/ca.pem")];
 * const conn = await Deno.connectTls({ hostname: "localhost", port: 9002, caCerts });
 * ```
 */
export async function readCa(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    throw new UntrustedServerError(`cannot read CA file ${path}: ${describeError(error)}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UntrustedServerError(`CA file ${path} holds no PEM certificate`);
  }
  return pem;
}
