/**
 * The HTTPS + WebSocket endpoint (`--ws-port`, default 9003), served by `Deno.serve` with the
 * server's certificate:
 *
 * | path | what | who |
 * |---|---|---|
 * | `/` | the browser client | anyone |
 * | `/ws` | WebSocket clients, peers of the same hub as the TLS clients | anyone (Origin checked); with authentication on, `?token=` or `AUTH` |
 * | `/admin` | the operator dashboard | admin token |
 * | `/admin/ws` | the dashboard's live feed | admin token (Origin checked) |
 * | `/metrics` | Prometheus text | admin token |
 *
 * Every response carries a strict Content-Security-Policy (scripts and styles from this server
 * only, no inline script), `nosniff`, no referrer and no framing.
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "../hub/connection_budget.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { startWebServer } from "./web_server.ts";
 * const logger = new Logger();
 * const hub = new Hub({ logger, maxFrame: 1 << 20 });
 * const web = startWebServer({
 *   hostname: "127.0.0.1", port: 0, tls: undefined, adminToken: undefined, server: "tlspush",
 *   settings: { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: false, drainMs: 5000, maxChannels: 100 },
 *   budget: new ConnectionBudget(0, logger), reaper: new SocketReaper(),
 *   timeouts: { handshakeMs: 10_000, requestMs: 30_000, keepAliveMs: 30_000 },
 * });
 * await web.shutdown(1000);
 * ```
 * @module
 */
import type { ClusterStatus } from "../hub/cluster.ts";
import { AuthenticationError } from "../auth/auth_errors.ts";
import type { Permissions } from "../auth/permissions.ts";
import type { ConnectRate } from "../hub/connect_rate.ts";
import type { ConnectionBudget } from "../hub/connection_budget.ts";
import type { PeerSettings } from "../hub/peer_core.ts";
import { WS_SUBPROTOCOL_V2 } from "../protocol/negotiation.ts";
import { bind } from "../util/bind.ts";
import { describeError } from "../util/errors.ts";
import { ListeningSockets } from "../util/listening_socket.ts";
import { formatAddress } from "../util/net.ts";
import { withinDeadline } from "../util/deadline.ts";
import type { SocketReaper } from "../util/socket_reaper.ts";
import {
  claimPort,
  reusePortAvailable,
  ReusePortGroup,
  ReusePortSteering,
} from "../util/reuseport_steering.ts";
import { AdminAuth } from "./admin_auth.ts";
import { AdminFeed } from "./admin_feed.ts";
import { ADMIN_PAGE, type Asset, ASSETS, CLIENT_PAGE } from "./assets.ts";
import { type Admission, ConnectionGuard, type WebTimeouts } from "./connection_guard.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { originAllowed } from "./origin.ts";
import { PUBLISH_PATHS, PublishApi } from "./publish_api.ts";
import { SecretToken } from "./secret_token.ts";
import { type CertificateExpiry, takeStats } from "./stats.ts";
import { WebSocketPeer } from "./ws_peer.ts";

/** What the web endpoint needs from the server. */
export interface WebServerConfig {
  /** Address to bind. */
  hostname: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Certificate and key (PEM); undefined serves plain HTTP (`--plain`). */
  tls: { cert: string; key: string } | undefined;
  /** What every peer shares (the hub, limits); WebSocket clients join that hub. */
  settings: PeerSettings;
  /** The server-wide connection budget (`--max-connections`). */
  budget: ConnectionBudget;
  /** Shuts down the port's sockets that overstay a limit (see {@link ConnectionGuard}). */
  reaper: SocketReaper;
  /** Time limits of a connection before and between its requests, and of one request. */
  timeouts: WebTimeouts;
  /** The admin token; undefined generates one. */
  adminToken: string | undefined;
  /** The publish API's token; undefined turns `/api/publish` off. */
  publishToken?: string;
  /** The cluster's state, with `--broker`. */
  cluster?: () => ClusterStatus;
  /** `--connect-rate`, shared with the TLS/TCP port: new WebSocket clients per address. */
  connectRate?: ConnectRate;
  /** One line naming the server, for the dashboard header. */
  server: string;
  /** The certificate of each TLS listener, for `/metrics` and the dashboard. */
  certificates?: () => CertificateExpiry[];
}

/** A running web endpoint. */
export interface WebServer {
  /** The address actually bound. */
  readonly address: Deno.NetAddr;
  /** `https://HOST:PORT` (or `http://` with `--plain`), with a host name browsers can use. */
  readonly origin: string;
  /** The admin token guard (its token, and whether it was generated). */
  readonly auth: AdminAuth;
  /** Whether `/api/publish` is on (a publish token was given). */
  readonly publishing: boolean;
  /**
   * Serves `tls` to new connections (a second server on the same port takes over); open ones,
   * WebSockets included, are not touched.
   */
  useCertificate(tls: { cert: string; key: string }): Promise<void>;
  /** Stops accepting, closes WebSocket clients (flushing for at most `drainMs`) and dashboards. */
  shutdown(drainMs: number): Promise<void>;
}

/**
 * Starts serving; throws `ListenError` when the port cannot be bound.
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "../hub/connection_budget.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { startWebServer } from "./web_server.ts";
 * const logger = new Logger();
 * const hub = new Hub({ logger, maxFrame: 1 << 20 });
 * const web = startWebServer({
 *   hostname: "127.0.0.1", port: 0, tls: undefined, adminToken: undefined,
 *   settings: { hub, maxFrame: 1 << 20, maxPending: 8 << 20, relay: false, drainMs: 5000, maxChannels: 100 },
 *   budget: new ConnectionBudget(10_000, logger), server: "tcp 127.0.0.1:9002",
 *   reaper: new SocketReaper(), timeouts: { handshakeMs: 10_000, requestMs: 30_000, keepAliveMs: 30_000 },
 * });
 * console.log(`dashboard: ${web.origin}/admin?token=${web.auth.token}`);
 * await web.shutdown(1000);
 * ```
 */
export function startWebServer(config: WebServerConfig): WebServer {
  const { hub } = config.settings;
  const { logger } = hub;
  const startedAt = new Date();
  const peers = new Set<WebSocketPeer>();
  const secure = config.tls !== undefined;
  // `auth` and `feed` are made once the port is known, before any request can arrive.
  const publishApi = new PublishApi({
    hub,
    token: config.publishToken === undefined ? undefined : new SecretToken(config.publishToken),
  });
  const handler = (
    request: Request,
    info: Deno.ServeHandlerInfo,
    generation: Generation,
  ): Response | Promise<Response> => {
    const admission = connectionGuard.admit(info);
    if ("refused" in admission) {
      return admission.refused === "rate"
        ? respond(429, "too many new connections from your address\n", {
          "retry-after": "1",
          connection: "close",
        })
        : respond(503, "too many connections\n", { "retry-after": "5", connection: "close" });
    }
    const url = new URL(request.url);
    const path = url.pathname;
    if (PUBLISH_PATHS.has(path)) return publishApi.handle(request);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return respond(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    if (path === "/ws") {
      if (!isUpgrade(request)) {
        return respond(426, "WebSocket clients only\n", { upgrade: "websocket" });
      }
      if (!originAllowed(request)) return respond(403, "origin not allowed\n");
      const host = (info.remoteAddr as Deno.NetAddr).hostname;
      // Counted here only when the guard, which counts every connection, is off.
      const counted = connectionGuard.active;
      if (!counted && config.connectRate && !config.connectRate.admits(host, "WebSocket")) {
        return respond(429, "too many new connections from your address\n", { "retry-after": "1" });
      }
      const token = url.searchParams.get("token");
      const to = { request, info, generation, admission };
      return token === null ? upgrade(to) : upgradeWithToken(to, token);
    }
    if (path === "/admin" || path === "/admin/ws" || path === "/metrics") {
      if (!auth.accepts(request)) {
        const advice = path === "/metrics"
          ? "admin token required: send the header 'Authorization: Bearer <admin token>' " +
            "(--admin-token or TLSPUSH_ADMIN_TOKEN)\n"
          : "admin token required: open the dashboard URL the server printed\n";
        return respond(401, advice, { "www-authenticate": 'Bearer realm="tlspush"' });
      }
      if (path === "/admin/ws") {
        if (!isUpgrade(request)) return respond(426, "WebSocket only\n", { upgrade: "websocket" });
        if (!originAllowed(request)) return respond(403, "origin not allowed\n");
        const { socket, response } = Deno.upgradeWebSocket(request);
        const slot = admission.webSocket();
        socket.addEventListener("close", () => slot?.release());
        feed.attach(socket);
        return response;
      }
      if (path === "/metrics") {
        const text = renderMetrics(
          takeStats(hub, startedAt, undefined, config.certificates?.()),
          config.cluster?.(),
        );
        return respond(200, text, {
          "content-type": METRICS_CONTENT_TYPE,
        });
      }
      if (auth.inQuery(request)) {
        // Move the token from the address bar (and history) into an HttpOnly cookie.
        return respond(303, "", {
          location: "/admin",
          "set-cookie": auth.sessionCookie(secure),
        });
      }
      return serveAsset(ADMIN_PAGE, request, ADMIN_CSP);
    }
    if (path === "/" || path === "/index.html") return serveAsset(CLIENT_PAGE, request, CLIENT_CSP);
    const asset = ASSETS.get(path);
    if (asset) return serveAsset(asset, request, ADMIN_CSP);
    return respond(404, "not found\n");
  };

  /** `/ws` with `?token=`: the token is verified before the upgrade (401 when it is refused). */
  const upgradeWithToken = async (to: Upgrade, token: string): Promise<Response> => {
    const guard = config.settings.auth;
    if (!guard) return respond(403, "authentication is off on this server: drop ?token=\n");
    if (!guard.verifier) {
      return respond(403, "this server takes no tokens: it identifies clients by certificate\n");
    }
    try {
      return upgrade(to, await guard.verifier.verify(token));
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      hub.security.authFailures++;
      logger.info(
        `WebSocket from ${formatAddress(to.info.remoteAddr)}: token refused: ${error.reason}`,
      );
      return respond(401, `token refused: ${error.reason}\n`, {
        "www-authenticate": 'Bearer realm="tlspush", error="invalid_token"',
      });
    }
  };

  const upgrade = (to: Upgrade, permissions?: Permissions): Response => {
    const { request, info, generation } = to;
    // The connection's slot becomes the WebSocket's; an inert guard holds none.
    const slot = to.admission.webSocket() ??
      config.budget.take(formatAddress(info.remoteAddr), "WebSocket");
    if (!slot) return respond(503, "too many connections\n", { "retry-after": "5" });
    if (permissions) hub.security.authSuccesses++;
    const remoteAddr = info.remoteAddr; // unreadable once the request is upgraded
    const v2 = offersSubprotocol(request, WS_SUBPROTOCOL_V2);
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      v2 ? { protocol: WS_SUBPROTOCOL_V2 } : {},
    );
    const peer = new WebSocketPeer(socket, remoteAddr, config.settings, v2, permissions);
    peers.add(peer);
    generation.sockets++;
    peer.closed.then(() => {
      peers.delete(peer);
      slot.release();
      if (--generation.sockets === 0) generation.idle?.();
    });
    return response;
  };

  // One function (re)starts serving with a certificate: a reload binds a second server beside
  // the first (a shared port, new connections steered to the newest) and shuts the first down
  // once its WebSockets are gone (shutting a Deno.serve down closes its upgraded sockets).
  const listeningSockets = new ListeningSockets();
  const listen = (hostname: string, port: number, tls: WebServerConfig["tls"], first = false) => {
    const generation: Generation = { sockets: 0 };
    const server = bind(hostname, port, (hostname) =>
      Deno.serve({
        hostname,
        port: first ? claimPort(hostname, port) : port,
        ...tls,
        ...(reusePortAvailable() ? { reusePort: true } : {}),
        onListen: () => {},
        onError: (error) => {
          logger.error(`web request failed: ${describeError(error)}`);
          return respond(500, "internal error\n");
        },
      }, (request, info) => handler(request, info, generation)), "--ws-port");
    // Nagle off for every connection it accepts (Deno.serve cannot set it per connection).
    listeningSockets.setNoDelay(server.addr.port);
    return Object.assign(server, { generation });
  };
  let server = listen(config.hostname, config.port, config.tls, true);
  const address = server.addr;
  // One guard for the port: a reload's second server shares it, and so its sockets' port.
  const connectionGuard = new ConnectionGuard({
    port: address.port,
    reaper: config.reaper,
    budget: config.budget,
    logger,
    timeouts: config.timeouts,
    what: `${secure ? "HTTPS" : "HTTP"}/WebSocket connection`,
    connectRate: config.connectRate,
  });
  const group = new ReusePortGroup(address.port, new ReusePortSteering());
  group.joined(server);
  const retired: Promise<void>[] = [];
  const auth = new AdminAuth(config.adminToken, address.port);
  const token = auth.token;
  const feed = new AdminFeed({
    hub,
    startedAt,
    server: config.server,
    certificates: config.certificates,
    redact: (line) => line.replaceAll(token, "<admin token>"),
    cluster: config.cluster,
  });
  const origin = `${secure ? "https" : "http"}://${browsableHost(address)}:${address.port}`;

  let stopping: Promise<void> | undefined;
  return {
    address,
    origin,
    auth,
    publishing: publishApi.enabled,
    async useCertificate(tls: { cert: string; key: string }): Promise<void> {
      if (stopping || !secure) return;
      const previous = server;
      if (!reusePortAvailable()) {
        // No shared port here: stop, then bind again (refusing connections for a moment).
        await withinDeadline(previous.shutdown(), 2000);
        server = listen(address.hostname, address.port, tls);
        return;
      }
      server = listen(address.hostname, address.port, tls);
      group.joined(server);
      const idle = Promise.withResolvers<void>();
      previous.generation.idle = idle.resolve;
      if (previous.generation.sockets === 0) idle.resolve();
      // Open requests finish on the old certificate; its WebSockets stay until they close.
      const stopped = idle.promise.then(() => previous.shutdown()).then(() => group.left(previous));
      retired.push(stopped);
      await new Promise((resolve) => setTimeout(resolve, HAND_OVER_MS));
    },
    shutdown(drainMs: number): Promise<void> {
      stopping ??= (async () => {
        const stopped = server.shutdown(); // stops accepting; waits for open requests
        connectionGuard.close(); // sockets without a request under way would hold it up
        feed.close();
        await Promise.all([...peers].map((peer) => peer.shutdown(drainMs)));
        await withinDeadline(Promise.all([stopped, ...retired]), 2000);
      })();
      return stopping;
    },
  };
}

/** A WebSocket upgrade request, where it came from, and what the guard said of it. */
interface Upgrade {
  request: Request;
  info: Deno.ServeHandlerInfo;
  generation: Generation;
  admission: Admission;
}

/** The connections one of the (re)started servers holds that its shutdown would cut. */
interface Generation {
  /** Its open WebSockets. */
  sockets: number;
  /** Called when the last one closes, once the server is replaced. */
  idle?: () => void;
}

/** How long the replaced server accepts what already waits for it (see stream_server.ts). */
const HAND_OVER_MS = 50;

/** Scripts and styles from this server only; no inline script, no plugins, no framing. */
const BASE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The dashboard talks to this server only. */
const ADMIN_CSP = `${BASE_CSP}; connect-src 'self'`;

/** The client page may be pointed at another tlspush server's `wss://` address. */
const CLIENT_CSP = `${BASE_CSP}; connect-src 'self' wss:`;

function respond(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body === "" ? null : body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...securityHeaders(ADMIN_CSP),
      ...headers,
    },
  });
}

function serveAsset(asset: Asset, request: Request, csp: string): Response {
  return new Response(request.method === "HEAD" ? null : asset.body, {
    headers: {
      "content-type": asset.contentType,
      "content-length": String(asset.body.length),
      "cache-control": "no-store",
      ...securityHeaders(csp),
    },
  });
}

function securityHeaders(csp: string): Record<string, string> {
  return {
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/** Whether the client listed `protocol` in `Sec-WebSocket-Protocol`. */
function offersSubprotocol(request: Request, protocol: string): boolean {
  const offered = request.headers.get("sec-websocket-protocol") ?? "";
  return offered.split(",").some((name) => name.trim() === protocol);
}

function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** A host name for URLs a browser can open: a wildcard address becomes `localhost`. */
function browsableHost(address: Deno.NetAddr): string {
  if (address.hostname === "0.0.0.0" || address.hostname === "::") return "localhost";
  return formatAddress({ ...address, port: 0 }).replace(/:0$/, "");
}
