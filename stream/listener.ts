/**
 * The TLS/TCP port's listening socket behind a small interface, so that the accept loop does not
 * care how connections are made (`Deno.listenTls` now; a `node:tls` listener for client
 * certificates later) and a listener can be replaced while the server runs (certificate reload).
 *
 * @example
 * ```ts
 * import { openListener } from "./listener.ts";
 * const listener = openListener({ hostname: "127.0.0.1", port: 0 }); // plain TCP: no tls given
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 * @module
 */
import { ALPN_V2 } from "../protocol/negotiation.ts";
import { bind } from "../util/bind.ts";
import { claimPort, reusePortAvailable } from "../util/reuseport_steering.ts";

/** A source of accepted connections. */
export interface StreamListener {
  /** The address bound (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** The next connection; rejects with `BadResource` once closed. */
  accept(): Promise<Deno.Conn>;
  /** Stops accepting. */
  close(): void;
  /**
   * Serves `tls` to new connections in place, when this kind of listener can (`node:tls`);
   * absent: the server opens a new listener on the same port and hands over to it.
   */
  useCertificate?(tls: ListenerCertificate): void;
}

/** What a TLS listener serves. */
export interface ListenerCertificate {
  /** PEM of the certificate (chain). */
  cert: string;
  /** PEM of its key. */
  key: string;
}

/** Where to listen, and the certificate to serve (none: plain TCP). */
export interface ListenOptions {
  /** Address to bind. */
  hostname: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Certificate and key (PEM); undefined listens for plain TCP. */
  tls?: ListenerCertificate;
  /** Names the port in error messages, e.g. `--ws-port`. */
  flag?: string;
  /** A reload's listener, beside the current one on its port (else: the port must be free). */
  handOver?: boolean;
}

/**
 * Binds the port; throws `ListenError` saying why it could not.
 *
 * @example
 * ```ts
 * import { openListener } from "./listener.ts";
 * const cert = await Deno.readTextFile("certs/server.pem");
 * const key = await Deno.readTextFile("certs/server-key.pem");
 * const listener = openListener({ hostname: "127.0.0.1", port: 9002, tls: { cert, key } });
 * const conn = await listener.accept();
 * ```
 */
export function openListener(options: ListenOptions): StreamListener {
  const { tls } = options;
  // A port shared (where it can be) lets a reload bind the next listener beside this one.
  const reusePort = reusePortAvailable() ? { reusePort: true } : {};
  return bind(options.hostname, options.port, (hostname) => {
    const port = options.handOver ? options.port : claimPort(hostname, options.port);
    if (!tls) {
      return Deno.listen({ hostname, port, ...reusePort }) as Deno.Listener<
        Deno.Conn,
        Deno.NetAddr
      >;
    }
    // ALPN tlspush/2 selects protocol v2; a client offering no ALPN speaks v1 as always.
    return Deno.listenTls({
      hostname,
      port,
      cert: tls.cert,
      key: tls.key,
      alpnProtocols: [ALPN_V2],
      ...reusePort,
    });
  }, options.flag);
}
