/**
 * The dashboard's live feed (`/admin/ws`): on connect the recent server log and a stats
 * snapshot, then a snapshot every second (with each channel's message rate) and each log line
 * as it is written; the dashboard sends back `{"type":"broadcast","text":...,"channel":...}` to
 * publish a message on a channel (`broadcast`, what every v1 client gets, when left out).
 *
 * Server to dashboard, one JSON object per WebSocket message:
 * `{type:"hello", server, log: string[], stats}`, `{type:"stats", stats}`, `{type:"log", line}`,
 * `{type:"broadcast", channel, seq, clients}` (the answer to a broadcast) and
 * `{type:"error", message}`.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { AdminFeed } from "./admin_feed.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const feed = new AdminFeed({
 *   hub, startedAt: new Date(), server: "tls 127.0.0.1:9002", redact: (line) => line,
 * });
 * Deno.serve({ hostname: "127.0.0.1", port: 9003 }, (request) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request);
 *   feed.attach(socket);
 *   return response;
 * });
 * ```
 * @module
 */
import type { ClusterStatus } from "../hub/cluster.ts";
import type { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { BROADCAST_CHANNEL, CHANNEL_RULE, isValidChannel } from "../protocol/channel.ts";
import { ChannelRates } from "./channel_rates.ts";
import { type CertificateExpiry, type ServerStats, takeStats } from "./stats.ts";

/** What the feed needs from the server. */
export interface AdminFeedConfig {
  /** The connected clients, and the server log streamed to the dashboards. */
  hub: Hub;
  /** When the server started. */
  startedAt: Date;
  /** A one-line description of the server shown in the dashboard's header. */
  server: string;
  /** Removes secrets from a log line before it leaves the server. */
  redact(line: string): string;
  /** How often stats are pushed, in ms (default 1000). */
  intervalMs?: number;
  /** The certificate of each TLS listener, for the dashboard. */
  certificates?: () => CertificateExpiry[];
  /** The cluster's state, with `--broker`: the dashboard shows the broker and its instances. */
  cluster?: () => ClusterStatus;
}

/** Log lines a dashboard gets when it connects. */
const HISTORY_LINES = 200;

/** A dashboard further behind than this misses updates instead of piling them up. */
const MAX_BUFFERED = 1024 * 1024;

/**
 * Every open dashboard connection and what they are sent.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { AdminFeed } from "./admin_feed.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const feed = new AdminFeed({
 *   hub, startedAt: new Date(), server: "tls 127.0.0.1:9002", redact: (line) => line,
 * });
 * feed.size; // 0 until a dashboard is attached
 * feed.close();
 * ```
 */
export class AdminFeed {
  readonly #config: AdminFeedConfig;
  readonly #sockets = new Set<WebSocket>();
  readonly #history: string[] = [];
  readonly #unsubscribe: () => void;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Counted only while a dashboard is connected. */
  readonly #rates: ChannelRates;

  /** Starts recording the log; pushes stats while a dashboard is connected. */
  constructor(config: AdminFeedConfig) {
    this.#config = config;
    this.#rates = new ChannelRates(config.hub);
    this.#unsubscribe = config.hub.logger.subscribe((raw) => {
      const line = config.redact(raw);
      this.#history.push(line);
      if (this.#history.length > HISTORY_LINES) this.#history.shift();
      this.#send({ type: "log", line });
    });
    this.#timer = setInterval(() => {
      if (this.#sockets.size > 0) this.#send({ type: "stats", stats: this.#stats() });
    }, config.intervalMs ?? 1000);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Number of dashboards connected. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Serves one dashboard connection (fresh from `Deno.upgradeWebSocket`). */
  attach(socket: WebSocket): void {
    socket.onopen = () => {
      this.#sockets.add(socket);
      this.#rates.start();
      socket.send(JSON.stringify({
        type: "hello",
        server: this.#config.server,
        log: this.#history,
        stats: this.#stats(),
      }));
    };
    socket.onmessage = (event) => this.#command(socket, event.data);
    socket.onerror = () => {};
    socket.onclose = () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) this.#rates.stop();
    };
  }

  /** Closes every dashboard connection and stops recording. */
  close(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
    this.#rates.stop();
    for (const socket of this.#sockets) {
      try {
        socket.close(1001, "server shutting down");
      } catch {
        // closed already
      }
    }
    this.#sockets.clear();
  }

  #stats(): ServerStats & { cluster?: ClusterStatus } {
    const { hub, startedAt, certificates } = this.#config;
    const stats = takeStats(hub, startedAt, this.#rates.take(), certificates?.());
    return this.#config.cluster ? { ...stats, cluster: this.#config.cluster() } : stats;
  }

  #command(socket: WebSocket, data: unknown): void {
    let command: { type?: unknown; text?: unknown; channel?: unknown };
    try {
      command = typeof data === "string" ? JSON.parse(data) : {};
    } catch {
      command = {};
    }
    if (command?.type !== "broadcast" || typeof command.text !== "string") {
      reply(socket, { type: "error", message: "unknown command" });
      return;
    }
    const channel = command.channel ?? BROADCAST_CHANNEL;
    if (typeof channel !== "string" || !isValidChannel(channel)) {
      reply(socket, { type: "error", message: `not sent: ${CHANNEL_RULE}` });
      return;
    }
    const message = new OutgoingMessage(command.text, { kind: "dashboard" }, channel);
    this.#config.hub.publish(message).then((result) => {
      reply(
        socket,
        result.refused
          ? { type: "error", message: `not sent: ${result.refused.reason}` }
          : { type: "broadcast", channel, seq: result.seq, clients: result.delivered },
      );
    });
  }

  #send(message: unknown): void {
    if (this.#sockets.size === 0) return;
    const text = JSON.stringify(message);
    for (const socket of this.#sockets) {
      if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount < MAX_BUFFERED) {
        socket.send(text);
      }
    }
  }
}

function reply(socket: WebSocket, message: unknown): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
