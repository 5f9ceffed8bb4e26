/**
 * Starting and stopping a tlspush server: certificate, listener, accept loop, hub, shutdown.
 * `server.ts` wraps this with flags, stdin and signals; tests call it directly.
 *
 * @example
 * ```ts
 * import { startServer } from "./start_server.ts";
 * import { SERVER_DEFAULTS } from "./options.ts";
 * const server = await startServer({ ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0 });
 * server.broadcast("hello everyone");
 * await server.shutdown();
 * ```
 * @module
 */
import { TlspushError } from "../util/errors.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { CertificateError, ensureCertificates } from "../tls/certificates.ts";
import { formatBytes, Logger } from "../util/logger.ts";
import type { ServerOptions } from "./options.ts";
import { StreamSession } from "./stream_session.ts";
import { closeQuietly, formatAddress } from "../util/net.ts";
import { SocketReaper } from "../util/socket_reaper.ts";
import { startTrafficReport } from "./traffic_report.ts";
import { startWebServer, type WebServer } from "../web/web_server.ts";
import { describeError } from "../util/errors.ts";

/** A server that is accepting clients. */
export interface RunningServer {
  /** The connected clients. */
  readonly hub: Hub;
  /** The address actually bound (the real port when 0 was asked). */
  readonly address: Deno.NetAddr;
  /** PEM of the CA clients should trust, when the certificate was generated. */
  readonly caPath: string | undefined;
  /** The HTTPS/WebSocket endpoint (browser client, dashboard, `/ws`), unless `--no-ws`. */
  readonly web: WebServer | undefined;
  /** Pushes one message to every connected client; returns how many. */
  broadcast(message: string): number;
  /** Stops accepting, flushes every client's queue, closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Starts listening; throws `TlspushError` for expected failures (port in use, bad certificate).
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { SERVER_DEFAULTS } from "./options.ts";
 * import { startServer } from "./start_server.ts";
 * const options = { ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0, plain: true, ws: false };
 * const server = await startServer(options, new Logger({ verbose: true }));
 * console.log(`listening on port ${server.address.port}`);
 * await server.shutdown();
 * ```
 */
export async function startServer(
  options: ServerOptions,
  logger: Logger = new Logger({ verbose: options.verbose }),
): Promise<RunningServer> {
  const tls = options.plain ? undefined : await loadCertificate(options, logger);
  const listener = listen(options, tls);
  const address = listener.addr as Deno.NetAddr;
  const hub = new Hub();
  const reaper = new SocketReaper();
  const config = { ...options, hub, logger, reaper };
  logger.info(
    `listening on ${formatAddress(address)} (${options.plain ? "plain TCP" : "TLS"}, ` +
      `framing ${options.framing}, max frame ${options.maxFrame} bytes)`,
  );
  let web: WebServer | undefined;
  if (options.ws) {
    try {
      web = startWebEndpoint(options, tls, hub, logger, address, (text) => running.broadcast(text));
    } catch (error) {
      listener.close();
      throw error;
    }
  }
  if (options.plain) {
    logger.info(
      "WARNING: --plain: no TLS, messages cross the network readable and unauthenticated",
    );
  } else if (!reaper.available) {
    logger.info(
      `warning: ${reaper.unavailableReason}: peers that never finish the TLS handshake are ` +
        `abandoned after --handshake-timeout, but their sockets stay open until they leave`,
    );
  }
  const refuse = (conn: Deno.Conn, why: string) => {
    logger.info(`refused connection from ${formatAddress(conn.remoteAddr)}: ${why}`);
    // Before its handshake a TLS socket is only closed for real by the reaper.
    if (options.plain) closeQuietly(conn);
    else reaper.reap(conn);
  };
  const sessions = new Map<StreamSession, Promise<void>>();
  let stopping = false;
  const accepting = (async () => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) break;
        logger.error(`accept failed: ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100)); // e.g. out of file descriptors
        continue;
      }
      // TLS/TCP sessions (handshaking or not) and WebSocket clients share one limit.
      const open = sessions.size + hub.count("ws");
      if (options.maxConnections > 0 && open >= options.maxConnections) {
        refuse(conn, `at --max-connections ${options.maxConnections}`);
        continue;
      }
      const session = new StreamSession(conn, config);
      sessions.set(session, session.run().finally(() => sessions.delete(session)));
    }
  })();
  const stopReport = startTrafficReport(hub, logger, options.trafficReportMs);

  const running: RunningServer = {
    hub,
    address,
    web,
    caPath: tls?.caPath,
    broadcast(text: string): number {
      const message = new OutgoingMessage(text);
      const count = hub.broadcast(message) - message.skipped;
      logger.info(`broadcast ${formatBytes(message.payload.length)} to ${count} clients`);
      if (message.skipped > 0) {
        logger.error(
          `broadcast skipped for ${message.skipped} clients: --framing line cannot carry a newline`,
        );
      }
      return count;
    },
    async shutdown(): Promise<void> {
      if (stopping) return;
      stopping = true;
      logger.info(`shutting down: closing ${hub.size} connections`);
      try {
        listener.close();
      } catch {
        // already closed
      }
      const webStopped = web?.shutdown(options.drainMs);
      stopReport();
      await accepting;
      const peers = new Set([...hub.peers(), ...sessions.keys()]);
      await Promise.all([...peers].map((peer) => peer.shutdown(options.drainMs)));
      await Promise.all(sessions.values());
      await webStopped;
      logger.info("stopped");
    },
  };
  return running;
}

/** Starts the HTTPS/WebSocket endpoint and logs its address and the dashboard URL. */
function startWebEndpoint(
  options: ServerOptions,
  tls: Certificate | undefined,
  hub: Hub,
  logger: Logger,
  tlsAddress: Deno.NetAddr,
  broadcast: (text: string) => number,
): WebServer {
  const web = startWebServer({
    ...options,
    port: options.wsPort,
    tls,
    hub,
    logger,
    adminToken: options.adminToken,
    broadcast,
    server: `${options.plain ? "tcp" : "tls"} ${formatAddress(tlsAddress)}`,
  });
  const scheme = options.plain ? "ws" : "wss";
  logger.info(
    `${scheme} listening on ${formatAddress(web.address)} (browser client ${web.origin}/, ` +
      `WebSocket clients ${scheme}${web.origin.slice(web.origin.indexOf(":"))}/ws)`,
  );
  // The only line that ever shows the token, and only when the server made it up.
  logger.info(
    web.auth.generated
      ? `dashboard: ${web.origin}/admin?token=${web.auth.token}`
      : `dashboard: ${web.origin}/admin (token from --admin-token or TLSPUSH_ADMIN_TOKEN)`,
  );
  return web;
}

interface Certificate {
  cert: string;
  key: string;
  caPath?: string;
}

async function loadCertificate(options: ServerOptions, logger: Logger): Promise<Certificate> {
  if (options.cert && options.key) {
    return {
      cert: await readPem(options.cert, "certificate"),
      key: await readPem(options.key, "key"),
    };
  }
  try {
    const generated = await ensureCertificates({ certsDir: options.certsDir, sans: options.sans });
    logger.info(
      `${generated.caCreated ? "created a new" : "using the"} CA ${generated.caPath} ` +
        `(SHA-256 ${generated.caFingerprint}); clients trust it with --ca ${generated.caPath}`,
    );
    logger.info(`server certificate for ${generated.subjectAltNames.join(", ")}`);
    return generated;
  } catch (error) {
    if (error instanceof CertificateError) throw new TlspushError(error.message);
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      throw new TlspushError(
        `cannot write certificates to ${options.certsDir}: permission denied (${
          describeError(error)
        })`,
      );
    }
    throw error;
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TlspushError(`cannot read ${what} file ${path}: ${describeError(error)}`);
  }
}

function listen(options: ServerOptions, tls: Certificate | undefined): Deno.Listener {
  const where = `${options.hostname}:${options.port}`;
  try {
    if (!tls) return Deno.listen({ hostname: options.hostname, port: options.port });
    return Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      cert: tls.cert,
      key: tls.key,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new TlspushError(`cannot listen on ${where}: address already in use`);
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new TlspushError(`cannot listen on ${where}: no such local address`);
    }
    throw new TlspushError(`cannot listen on ${where}: ${describeError(error)}`);
  }
}
