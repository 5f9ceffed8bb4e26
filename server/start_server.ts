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
import { type ListenerCertificate, openListener, type StreamListener } from "../stream/listener.ts";
import { openNodeTlsListener } from "../stream/node_tls_listener.ts";
import { StreamServer } from "../stream/stream_server.ts";
import { CertificateKeeper } from "../tls/certificate_keeper.ts";
import { CertificateError } from "../tls/certificates.ts";
import { describeError } from "../util/errors.ts";
import { Logger, plural } from "../util/logger.ts";
import { formatAddress } from "../util/net.ts";
import { ListeningSockets } from "../util/listening_socket.ts";
import { ReusePortSteering } from "../util/reuseport_steering.ts";
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
   * SIGHUP: reads `--cert/--key` again (a generated leaf is re-issued) and serves the new pair on
   * both ports to new connections, refusing none; a bad pair is logged and the current one kept.
   * Reads the ACL file (`--acl`) again too: a wrong one is logged and the one in force kept.
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
  const clientCa = options.clientCa === undefined
    ? undefined
    : await readClientCa(options.clientCa);
  const auth = await setUpAuthentication(options);
  const keeper = options.plain ? undefined : await CertificateKeeper.start(options, logger);
  try {
    const cluster = options.broker === undefined
      ? undefined
      : await connectCluster(options.broker, {
        prefix: options.brokerPrefix,
        history: options.history,
        historyAgeMs: options.historyAgeMs,
      }, logger);
    try {
      return await serve(options, logger, keeper, clientCa, cluster, auth);
    } catch (error) {
      await cluster?.close();
      throw error;
    }
  } catch (error) {
    keeper?.close();
    throw error;
  }
}

/** Everything after the certificate and the broker: the hub, the listeners, shutdown. */
async function serve(
  options: ServerOptions,
  logger: Logger,
  keeper: CertificateKeeper | undefined,
  clientCa: string | undefined,
  cluster: ConnectedCluster | undefined,
  auth: PeerAuth | undefined,
): Promise<RunningServer> {
  const certificate = keeper?.current;
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
  // Client certificates need node:tls (Deno.listenTls cannot ask for one); otherwise Deno's own.
  const listeningSockets = new ListeningSockets();
  // `handOver`: a reload's listener, bound beside the current one on its port.
  const open = async (
    hostname: string,
    port: number,
    tls: ListenerCertificate | undefined,
    handOver = false,
  ): Promise<StreamListener> => {
    const listener = clientCa === undefined || tls === undefined
      ? openListener({ hostname, port, tls, handOver })
      : await openNodeTlsListener({
        hostname,
        port,
        tls,
        clientCa,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
        onRefused: (address, why) =>
          logger.info(
            `TLS handshake with ${address} refused: ${why} (--client-ca ${options.clientCa})`,
          ),
      });
    // Nagle off for every connection the listener accepts (a TlsConn cannot set it itself): a
    // frame written after another one still unacknowledged would wait ~40 ms for a delayed ACK.
    listeningSockets.setNoDelay(listener.addr.port);
    return listener;
  };
  const listener = await open(options.hostname, options.port, certificate);
  const address = listener.addr;
  // A reload binds the next listener beside the current one; new connections go to the newest.
  const steering = new ReusePortSteering();
  if (certificate) steering.steerToNewest(address.port);
  const served = { tls: certificate?.notAfter, wss: certificate?.notAfter };
  const certificates = () =>
    Object.entries(served).flatMap(([listener, notAfter]) =>
      notAfter === undefined || (listener === "wss" && !options.ws)
        ? []
        : [{ listener, notAfter: notAfter.getTime() }]
    );
  const transport = options.plain ? "tcp" : "tls";
  const reaper = new SocketReaper();
  let web: WebServer | undefined;
  try {
    web = options.ws
      ? startWebServer({
        hostname: options.hostname,
        port: options.wsPort,
        tls: certificate,
        settings,
        budget,
        reaper,
        timeouts: {
          handshakeMs: options.handshakeTimeoutMs,
          requestMs: options.requestTimeoutMs,
          keepAliveMs: options.keepAliveTimeoutMs,
        },
        adminToken: options.adminToken,
        publishToken: options.publishToken,
        cluster: cluster?.status,
        connectRate,
        server: `${transport} ${formatAddress(address)}`,
        certificates,
      })
      : undefined;
  } catch (error) {
    listener.close();
    throw error;
  }
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
  }
  if (!reaper.available) {
    const unguarded = [
      ...(options.plain ? [] : [
        "peers that never finish the TLS handshake are abandoned after --handshake-timeout, " +
        "but their sockets stay open until they leave",
      ]),
      ...(web
        ? [
          "the --ws-port has no handshake, request or keep-alive timeout and counts only " +
          "WebSocket clients toward --max-connections",
        ]
        : []),
    ];
    if (unguarded.length) {
      logger.info(`warning: ${reaper.unavailableReason}: ${unguarded.join("; ")}`);
    }
  }
  keeper?.onChange(async (next) => {
    // Each port on its own: a failure on one is logged and the other still changes.
    await Promise.all([
      stream.useCertificate(next, (tls) => open(address.hostname, address.port, tls, true)).then(
        () => served.tls = next.notAfter,
        (error) => logger.error(`TLS port kept its certificate: ${describeError(error)}`),
      ),
      web?.useCertificate(next).then(
        () => served.wss = next.notAfter,
        (error) => logger.error(`HTTPS port kept its certificate: ${describeError(error)}`),
      ),
    ]);
  });
  if (clientCa !== undefined) {
    logger.info(
      `client certificates required on the TLS port: signed by ${options.clientCa} ` +
        `(the HTTPS/WebSocket port does not ask for one)`,
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
      if (stopping) return;
      if (keeper) await keeper.reload("SIGHUP");
      else logger.info("SIGHUP: --plain: no certificate to reload");
      await reloadAccessList(auth, logger);
    },
    shutdown(): Promise<void> {
      stopping ??= (async () => {
        logger.info(`shutting down: closing ${plural(hub.size, "connection")}`);
        keeper?.close();
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

/** Reads the `--client-ca` file; throws `CertificateError` when it holds no certificate. */
async function readClientCa(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    throw new CertificateError(`cannot read --client-ca ${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CertificateError(`--client-ca ${path} holds no PEM certificate`);
  }
  return pem;
}

/** SIGHUP: the ACL file (`--acl`) again; a wrong one is logged and the one in force kept. */
async function reloadAccessList(auth: PeerAuth | undefined, logger: Logger): Promise<void> {
  const acl = auth?.accessList;
  if (!acl) return;
  try {
    const { entries, changed } = await acl.reload();
    logger.info(
      changed ? `ACL ${acl.path} reloaded: ${identities(entries)}` : `ACL ${acl.path} unchanged`,
    );
  } catch (error) {
    logger.error(`ACL not reloaded, the one in force is kept: ${describeError(error)}`);
  }
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
