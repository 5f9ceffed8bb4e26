/**
 * The TLS port with client certificates (`--client-ca`): a `node:tls` server that requires a
 * certificate signed by that CA, since `Deno.listenTls` cannot ask for one
 * (denoland/deno#26825). It serves this mode only (it costs speed, see the README's benchmark);
 * `Deno.listenTls` stays the default. A client that presents no certificate, or one from
 * another CA or expired, fails the handshake and is logged; an accepted one is known by its
 * identity (subject CN, else the first subjectAltName), see {@link identityOf}. A new
 * certificate is swapped in place (`setSecureContext`), so a reload binds nothing.
 *
 * @example
 * ```ts
 * import { openNodeTlsListener } from "./node_tls_listener.ts";
 * const listener = await openNodeTlsListener({
 *   hostname: "127.0.0.1", port: 0,
 *   tls: { cert: await Deno.readTextFile("certs/server.pem"), key: await Deno.readTextFile("certs/server-key.pem") },
 *   clientCa: await Deno.readTextFile("certs/ca.pem"), handshakeTimeoutMs: 10_000,
 *   onRefused: (address, why) => console.log(`${address}: ${why}`),
 * });
 * const conn = await listener.accept();
 * ```
 * @module
 */
import tls from "node:tls";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { ALPN_V2 } from "../protocol/negotiation.ts";
import { listenError } from "../util/listen_error.ts";
import { formatAddress } from "../util/net.ts";
import { NodeSocketConn } from "../util/node_socket_conn.ts";
import type { ListenerCertificate, StreamListener } from "./listener.ts";

/** Where to listen, what to serve and which client certificates to accept. */
export interface NodeTlsListenOptions {
  /** Address to bind. */
  hostname: string;
  /** Port (0 picks a free one). */
  port: number;
  /** The server's certificate and key (PEM). */
  tls: ListenerCertificate;
  /** PEM of the CA (or CAs) whose client certificates are accepted. */
  clientCa: string;
  /** A handshake not done within this many ms is dropped. */
  handshakeTimeoutMs: number;
  /** Told of every client refused during the handshake: its address and why, in plain words. */
  onRefused: (address: string, why: string) => void;
}

const identities = new WeakMap<object, string>();

/**
 * The identity of a client accepted by a {@link openNodeTlsListener} listener: its
 * certificate's subject CN, else its first subjectAltName; undefined for other connections.
 *
 * @example
 * ```ts
 * import { identityOf } from "./node_tls_listener.ts";
 * function who(conn: Deno.Conn): string {
 *   return identityOf(conn) ?? "anonymous";
 * }
 * ```
 */
export function identityOf(conn: object): string | undefined {
  return identities.get(conn);
}

/**
 * The identity a certificate names: subject CN, else the first subjectAltName.
 *
 * @example
 * ```ts
 * import type { PeerCertificate } from "node:tls";
 * import { certificateIdentity } from "./node_tls_listener.ts";
 * certificateIdentity({ subject: { CN: "alice" } } as unknown as PeerCertificate); // "alice"
 * ```
 */
export function certificateIdentity(certificate: PeerCertificate): string | undefined {
  const cn = certificate.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (name) return name;
  const first = certificate.subjectaltname?.split(",")[0]?.trim();
  return first ? first.slice(first.indexOf(":") + 1) : undefined;
}

/**
 * Binds the port; throws `ListenError` saying why it could not.
 *
 * @example
 * ```ts
 * import { openNodeTlsListener } from "./node_tls_listener.ts";
 * const cert = await Deno.readTextFile("certs/server.pem");
 * const key = await Deno.readTextFile("certs/server-key.pem");
 * const listener = await openNodeTlsListener({
 *   hostname: "127.0.0.1", port: 9002, tls: { cert, key }, clientCa: await Deno.readTextFile("certs/ca.pem"),
 *   handshakeTimeoutMs: 10_000, onRefused: () => {},
 * });
 * listener.close();
 * ```
 */
export async function openNodeTlsListener(options: NodeTlsListenOptions): Promise<StreamListener> {
  const accepted: Deno.TlsConn[] = [];
  let waiting: PromiseWithResolvers<Deno.TlsConn> | undefined;
  let closed = false;
  const context = (certificate: ListenerCertificate) => ({
    cert: certificate.cert,
    key: certificate.key,
    ca: options.clientCa,
  });
  const server = tls.createServer({
    ...context(options.tls),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: [ALPN_V2],
    handshakeTimeout: options.handshakeTimeoutMs,
  }, (socket: TLSSocket) => {
    socket.setNoDelay(true);
    const conn = new NodeSocketConn(socket, "ready").asTlsConn();
    const identity = certificateIdentity(socket.getPeerCertificate());
    if (identity !== undefined) identities.set(conn, identity);
    if (waiting) {
      const taker = waiting;
      waiting = undefined;
      taker.resolve(conn);
    } else accepted.push(conn);
  });
  server.on("tlsClientError", (error: Error & { code?: string }, socket: TLSSocket) => {
    // Before the handshake the address is only on the raw socket underneath (in Deno).
    const raw = socket as unknown as { _parent?: { remoteAddress?: string; remotePort?: number } };
    const hostname = socket.remoteAddress ?? raw._parent?.remoteAddress ?? "?";
    const port = socket.remotePort ?? raw._parent?.remotePort ?? 0;
    const address = formatAddress({ transport: "tcp", hostname, port });
    options.onRefused(address, refusal(error));
  });
  const addr = await new Promise<Deno.NetAddr>((resolve, reject) => {
    server.once(
      "error",
      (error: Error) => reject(listenError(nodeListenError(error), options.hostname, options.port)),
    );
    server.listen(options.port, options.hostname, () => {
      const bound = server.address();
      if (bound === null || typeof bound === "string") return reject(new Error("no address"));
      resolve({ transport: "tcp", hostname: bound.address, port: bound.port });
    });
  });
  return {
    addr,
    accept(): Promise<Deno.Conn> {
      const next = accepted.shift();
      if (next) return Promise.resolve(next);
      if (closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
      waiting = Promise.withResolvers<Deno.TlsConn>();
      return waiting.promise;
    },
    close(): void {
      if (closed) throw new Deno.errors.BadResource("listener closed");
      closed = true;
      server.close();
      waiting?.reject(new Deno.errors.BadResource("listener closed"));
      for (const conn of accepted.splice(0)) conn.close();
    },
    useCertificate(certificate: ListenerCertificate): void {
      server.setSecureContext(context(certificate));
    },
  };
}

/** The handshake failure in words an operator can act on. */
function refusal(error: Error & { code?: string }): string {
  const message = error.message;
  if (
    error.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" || /no certificates/.test(message)
  ) {
    return "no client certificate (--client-ca requires one)";
  }
  if (/UnknownIssuer|unknown ca|BadSignature/i.test(message)) {
    return `client certificate not signed by --client-ca (${message})`;
  }
  if (/Expired|NotValidYet/i.test(message)) return `client certificate expired (${message})`;
  // Deno's node:tls reports a refused certificate chain only as the connection ending.
  if (/socket hang up|ECONNRESET/i.test(message)) {
    return "client certificate refused (not signed by --client-ca, or expired)";
  }
  return `TLS handshake failed: ${message}`;
}

/** node:net reports a port in use as a code, Deno's listeners as a class: make it Deno's. */
function nodeListenError(error: Error & { code?: string }): Error {
  if (error.code === "EADDRINUSE") return new Deno.errors.AddrInUse(error.message);
  if (error.code === "EADDRNOTAVAIL") return new Deno.errors.AddrNotAvailable(error.message);
  if (error.code === "EACCES") return new Deno.errors.PermissionDenied(error.message);
  return error;
}
