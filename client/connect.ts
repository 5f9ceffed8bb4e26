/**
 * Opening a verified TLS connection (or, with `plain`, a TCP one) to a tlspush server, with
 * failures turned into named errors with advice.
 *
 * It connects TCP first and turns Nagle off before starting TLS (`Deno.connectTls` cannot, and
 * pays ~40 ms on the first exchange), and completes the handshake before returning, so that an
 * untrusted or misnamed certificate is reported here rather than at the first read. The whole
 * of it has a time limit: a `--plain` server takes a TLS ClientHello for the start of a frame
 * and waits for the rest, so without one the client would wait for ever. Verification is never
 * disabled.
 *
 * @example
 * ```ts
 * import { connectToServer } from "./connect.ts";
 * const conn = await connectToServer({ hostname: "localhost", port: 9002, caFile: "certs/ca.pem" });
 * ```
 * @module
 */
import tls from "node:tls";
import { describeError } from "../util/errors.ts";
import { closeQuietly } from "../util/net.ts";
import { NodeSocketConn } from "../util/node_socket_conn.ts";
import { ConnectError, UntrustedServerError } from "./errors.ts";
import { handshakeFailure } from "./handshake_failure.ts";

/**
 * Where and how to connect.
 *
 * @example
 * ```ts
 * import { connectToServer, type ConnectOptions } from "./connect.ts";
 * const options: ConnectOptions = { hostname: "localhost", port: 9002, timeoutMs: 2000 };
 * const conn = await connectToServer(options);
 * ```
 */
export interface ConnectOptions {
  /** Server host name; the certificate must be valid for it. */
  hostname: string;
  /** Server port. */
  port: number;
  /** CA file to trust; undefined: the system's trusted roots. */
  caFile?: string;
  /** Skip TLS (the server runs with --plain). */
  plain?: boolean;
  /** Most ms connecting and the TLS handshake may take together (default 10 s). */
  timeoutMs?: number;
  /** ALPN protocol ids to offer (protocol v2 offers `tlspush/2`); none by default. */
  alpnProtocols?: string[];
  /** Client certificate file (PEM) to present, with {@link keyFile}; read at every connect. */
  certFile?: string;
  /** Its private key file (PEM). */
  keyFile?: string;
}

/**
 * How long connecting may take by default, in ms.
 *
 * @example
 * ```ts
 * import { connectToServer, DEFAULT_CONNECT_TIMEOUT_MS } from "./connect.ts";
 * const options = { hostname: "localhost", port: 9002, timeoutMs: DEFAULT_CONNECT_TIMEOUT_MS };
 * const conn = await connectToServer(options); // 10 s at most
 * ```
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

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
 * Connects and completes the TLS handshake; throws a `ClientError` with advice on failure
 * (`ConnectError`, `UntrustedServerError`, `ProtocolMismatchError`).
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
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const seconds = `${timeoutMs / 1000} s`;
  const caCerts = options.caFile === undefined ? undefined : [await readCa(options.caFile)];
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), timeoutMs);
  try {
    if (!options.plain && options.certFile !== undefined && options.keyFile !== undefined) {
      return await connectWithCertificate(options, caCerts, giveUp.signal);
    }
    let tcp: Deno.TcpConn;
    try {
      tcp = await Deno.connect({ hostname, port, signal: giveUp.signal });
    } catch (error) {
      if (giveUp.signal.aborted) {
        throw new ConnectError(`cannot connect to ${where}: no answer within ${seconds}`, {
          cause: error,
        });
      }
      if (error instanceof Deno.errors.ConnectionRefused) {
        throw new ConnectError(
          `cannot connect to ${where}: connection refused (is the server running?)`,
          { cause: error },
        );
      }
      throw new ConnectError(`cannot connect to ${where}: ${describeError(error)}`, {
        cause: error,
      });
    }
    tcp.setNoDelay(true);
    if (options.plain) return tcp;
    let tls: Deno.TlsConn;
    try {
      tls = await Deno.startTls(tcp, { hostname, caCerts, alpnProtocols: options.alpnProtocols });
    } catch (error) {
      closeQuietly(tcp); // startTls may have taken it over already
      throw new UntrustedServerError(
        `cannot use the CA file ${options.caFile}: ${describeError(error)}`,
        { cause: error },
      );
    }
    // Closing the connection is what makes a pending handshake give up (it rejects then).
    const onGiveUp = () => closeQuietly(tls);
    giveUp.signal.addEventListener("abort", onGiveUp, { once: true });
    try {
      await tls.handshake();
    } catch (error) {
      closeQuietly(tls);
      if (giveUp.signal.aborted) {
        throw new ConnectError(
          `no TLS handshake with ${where} within ${seconds}: if the server runs with --plain, ` +
            `connect with --plain too (a --plain server takes TLS for a frame and waits)`,
          { cause: error },
        );
      }
      throw handshakeFailure(error, { hostname, port, caFile: options.caFile });
    } finally {
      giveUp.signal.removeEventListener("abort", onGiveUp);
    }
    return tls;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * With a client certificate: `Deno.startTls` cannot present one (denoland/deno#21496) and
 * `Deno.connectTls` cannot turn Nagle off (~45 ms on the first exchange, measured), so this
 * path uses `node:tls` with `setNoDelay` (0.5 ms, measured in bench/mtls.ts).
 */
async function connectWithCertificate(
  options: ConnectOptions,
  caCerts: string[] | undefined,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  const { hostname, port } = options;
  const read = async (path: string, what: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new UntrustedServerError(`cannot read ${what} ${path}: ${describeError(error)}`, {
        cause: error,
      });
    }
  };
  const [cert, key] = [
    await read(options.certFile!, "client certificate"),
    await read(options.keyFile!, "client key"),
  ];
  const socket = tls.connect({
    host: hostname,
    port,
    servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname,
    ca: caCerts,
    cert,
    key,
    ALPNProtocols: options.alpnProtocols,
  });
  socket.setNoDelay(true);
  const conn = new NodeSocketConn(socket, "secureConnect");
  const onGiveUp = () => socket.destroy(new Error("timed out"));
  signal.addEventListener("abort", onGiveUp, { once: true });
  try {
    await conn.handshake();
  } catch (error) {
    socket.destroy();
    if (signal.aborted) {
      throw new ConnectError(`no TLS handshake with ${hostname}:${port} in time`, { cause: error });
    }
    if ((error as { code?: string }).code === "ECONNREFUSED") {
      throw new ConnectError(
        `cannot connect to ${hostname}:${port}: connection refused (is the server running?)`,
        { cause: error },
      );
    }
    throw handshakeFailure(error, { hostname, port, caFile: options.caFile });
  } finally {
    signal.removeEventListener("abort", onGiveUp);
  }
  return conn.asTlsConn();
}

/**
 * Reads a CA file (PEM); throws {@link UntrustedServerError} saying what is wrong with it.
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
    throw new UntrustedServerError(`cannot read CA file ${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UntrustedServerError(`CA file ${path} holds no PEM certificate`);
  }
  return pem;
}
