/**
 * The composition root: builds the hub and the connection budget, gets the certificate, binds
 * every listener (the TLS/TCP port, the HTTPS/WebSocket port), announces them once all are
 * bound, and owns shutdown. `server.ts` wraps this with flags, stdin and signals; tests call it
 * directly.
 *
 * @example
 * ```ts
 * import { SERVER_DEFAULTS } from "./config.ts";
 * import { startServer } from "./start_server.ts";
 * const server = await startServer({ ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0 });
 * await server.broadcast("hello everyone");
 * await server.shutdown();
 * ```
 * @module
 */
import { ConnectRate } from "../hub/connect_rate.ts";
import { ConnectionBudget } from "../hub/connection_budget.ts";
import { Hub, type PublishResult } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import type { PeerSettings } from "../hub/peer_core.ts";
import type { PeerAuth } from "../hub/peer_guard.ts";
import { startTrafficReport } from "../hub/traffic_report.ts";
import { openListener } from "../stream/listener.ts";
import { StreamServer } from "../stream/stream_server.ts";
import { type LoadedCertificate, loadServerCertificate } from "../tls/server_certificate.ts";
import { describeError } from "../util/errors.ts";
import { Logger, plural } from "../util/logger.ts";
import { formatAddress } from "../util/net.ts";
import { SocketReaper } from "../util/socket_reaper.ts";
import { startWebServer, type WebServer } from "../web/web_server.ts";
import { connectCluster, type ConnectedCluster } from "./broker_cluster.ts";
import type { ServerOptions } from "./config.ts";
import { setUpAuthentication } from "./authentication.ts";

/** How often retained messages are checked against the age limit. */
const HISTORY_EXPIRY_MS = 10_000;

/** A server that is accepting clients. */
export interface RunningServer {
  /** The connected clients, and publishing to them. */
  readonly hub: Hub;
  /** The TLS/TCP address actually bound (the real port when 0 was asked). */
  readonly address: Deno.NetAddr;
  /** PEM of the CA clients should trust, when the certificate was generated. */
  readonly caPath: string | undefined;
  /** The HTTPS/WebSocket endpoint (browser client, dashboard, `/ws`), unless `--no-ws`. */
  readonly web: WebServer | undefined;
  /** Publishes an operator message (a line of standard input) to every client. */
  broadcast(message: string): Promise<PublishResult>;
  /**
   * Reads again what can change while running (SIGHUP): the ACL file (`--acl`). A file that is
   * wrong is logged and the one in force kept; never throws.
   */
  reload(): Promise<void>;
  /** Stops accepting, flushes every client's queue, closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Starts listening; throws named errors for expected failures (`ListenError` for a port in use,
 * `CertificateError` for an unusable certificate).
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { SERVER_DEFAULTS } from "./config.ts";
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
  const certificate = options.plain ? undefined : await loadServerCertificate(options);
  const auth = await setUpAuthentication(options);
  const cluster = options.broker === undefined ? undefined : await connectCluster(options.broker, {
    prefix: options.brokerPrefix,
    history: options.history,
    historyAgeMs: options.historyAgeMs,
  }, logger);
  try {
    return await serve(options, logger, certificate, cluster, auth);
  } catch (error) {
    await cluster?.close();
    throw error;
  }
}

/** Everything after the certificate and the broker: the hub, the listeners, shutdown. */
function serve(
  options: ServerOptions,
  logger: Logger,
  certificate: LoadedCertificate | undefined,
  cluster: ConnectedCluster | undefined,
  auth: PeerAuth | undefined,
): RunningServer {
  const hub = new Hub({
    logger,
    maxFrame: options.maxFrame,
    history: { maxMessages: options.history, maxAgeMs: options.historyAgeMs },
    cluster: cluster?.forHub,
  });
  cluster?.attach(hub);
  const budget = new ConnectionBudget(options.maxConnections, logger);
  const settings: PeerSettings = {
    hub,
    maxFrame: options.maxFrame,
    maxPending: options.maxPending,
    relay: options.relay,
    drainMs: options.drainMs,
    maxChannels: options.maxChannels,
    auth,
    rate: options.rate > 0
      ? { perSecond: options.rate, burst: options.rateBurst || options.rate }
      : undefined,
  };
  const connectRate = options.connectRate > 0
    ? new ConnectRate(options.connectRate, logger, hub.security)
    : undefined;
  const listener = openListener({
    hostname: options.hostname,
    port: options.port,
    tls: certificate,
  });
  const address = listener.addr;
  const transport = options.plain ? "tcp" : "tls";
  let web: WebServer | undefined;
  try {
    web = options.ws
      ? startWebServer({
        hostname: options.hostname,
        port: options.wsPort,
        tls: certificate,
        settings,
        budget,
        adminToken: options.adminToken,
        publishToken: options.publishToken,
        cluster: cluster?.status,
        connectRate,
        server: `${transport} ${formatAddress(address)}`,
      })
      : undefined;
  } catch (error) {
    listener.close();
    throw error;
  }
  const reaper = new SocketReaper();
  const stream = new StreamServer(listener, {
    settings,
    budget,
    reaper,
    connectRate,
    framing: options.framing,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
  });

  // Every listener is bound: only now say so, so that a script waiting for it is not misled.
  for (const note of certificate?.notes ?? []) logger.info(note);
  logger.info(
    `listening on ${formatAddress(address)} (${options.plain ? "plain TCP" : "TLS"}, ` +
      `framing ${options.framing}, max frame ${options.maxFrame} bytes)`,
  );
  if (web) announceWeb(web, options.plain, logger);
  announceLimits(options, auth, logger);
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
  const stopReport = startTrafficReport(hub, logger, options.trafficReportMs);
  // Memory goes back while idle: retained messages past --history-age are dropped.
  const expiry = setInterval(() => hub.expireHistory(), HISTORY_EXPIRY_MS);
  Deno.unrefTimer(expiry);

  let stopping: Promise<void> | undefined;
  return {
    hub,
    address,
    web,
    caPath: certificate?.caPath,
    broadcast: (text) => hub.publish(new OutgoingMessage(text, { kind: "stdin" })),
    async reload(): Promise<void> {
      const acl = auth?.accessList;
      if (!acl) return;
      try {
        const { entries, changed } = await acl.reload();
        logger.info(
          changed
            ? `ACL ${acl.path} reloaded: ${identities(entries)}`
            : `ACL ${acl.path} unchanged`,
        );
      } catch (error) {
        logger.error(`ACL not reloaded, the one in force is kept: ${describeError(error)}`);
      }
    },
    shutdown(): Promise<void> {
      stopping ??= (async () => {
        logger.info(`shutting down: closing ${plural(hub.size, "connection")}`);
        stopReport();
        clearInterval(expiry);
        await Promise.all([stream.shutdown(options.drainMs), web?.shutdown(options.drainMs)]);
        await cluster?.close();
        // A restarted server must not give out a sequence number again (a burst runs ahead).
        await new Promise((resolve) => setTimeout(resolve, hub.msUntilRestartSafe()));
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

function identities(count: number): string {
  return `${count} ${count === 1 ? "identity" : "identities"}`;
}

/** Logs whether clients must authenticate, with what, and the limits in force. */
function announceLimits(options: ServerOptions, auth: PeerAuth | undefined, logger: Logger): void {
  if (auth) {
    const ways = [
      auth.verifier && `a JWT (${auth.verifier.algorithm})`,
      auth.accessList &&
      `a client certificate listed in ${auth.accessList.path} (${
        identities(auth.accessList.size)
      })`,
    ].filter(Boolean);
    logger.info(
      `authentication on: clients prove who they are with ${ways.join(" or ")} within ` +
        `${options.authTimeoutMs / 1000} s; v1 clients without a certificate are refused`,
    );
  }
  const limits = [
    options.rate > 0 && `--rate ${options.rate}/s (burst ${options.rateBurst || options.rate})`,
    options.connectRate > 0 && `--connect-rate ${options.connectRate}/s per address`,
  ].filter(Boolean);
  if (limits.length > 0) logger.info(`limits: ${limits.join(", ")}`);
}

/** Logs the HTTPS/WebSocket address and the dashboard URL. */
function announceWeb(web: WebServer, plain: boolean, logger: Logger): void {
  const scheme = plain ? "ws" : "wss";
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
  logger.info(
    web.publishing
      ? `publish API: POST ${web.origin}/api/publish?channel=NAME ` +
        `(token from --publish-token or TLSPUSH_PUBLISH_TOKEN)`
      : "publish API off: start with --publish-token (or TLSPUSH_PUBLISH_TOKEN) to turn it on",
  );
}
