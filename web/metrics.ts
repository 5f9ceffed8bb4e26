/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4): the server's totals,
 * the clients connected by transport, the bytes queued to them, and the channels as three
 * totals (channels, subscriptions, retained messages). No metric is labelled by channel: a label
 * per channel name would be a series per channel, without bound.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { renderMetrics } from "./metrics.ts";
 * import { takeStats } from "./stats.ts";
 * renderMetrics(takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date()));
 * // "# HELP tlspush_connected_clients Clients connected now, by transport.\n..."
 * ```
 * @module
 */
import { TRANSPORTS } from "../hub/peer.ts";
import type { ClusterStatus } from "../hub/cluster.ts";
import type { ServerStats } from "./stats.ts";

/**
 * The media type Prometheus scrapes.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
 * import { takeStats } from "./stats.ts";
 * const body = renderMetrics(takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date()));
 * new Response(body, { headers: { "content-type": METRICS_CONTENT_TYPE } });
 * ```
 */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders `stats` (and, with `--broker`, the cluster's `status`) as Prometheus text.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { renderMetrics } from "./metrics.ts";
 * import { takeStats } from "./stats.ts";
 * const text = renderMetrics(takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date()));
 * text.includes('tlspush_connected_clients{transport="ws"} 0'); // true
 * ```
 */
export function renderMetrics(stats: ServerStats, cluster?: ClusterStatus): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: [labels: string, value: number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const { totals } = stats;
  metric(
    "tlspush_connected_clients",
    "gauge",
    "Clients connected now, by transport.",
    TRANSPORTS.map((transport) => [`{transport="${transport}"}`, stats.byTransport[transport]]),
  );
  metric("tlspush_messages_received_total", "counter", "Messages received from clients.", [
    ["", totals.messagesIn],
  ]);
  metric("tlspush_received_bytes_total", "counter", "Payload bytes received from clients.", [
    ["", totals.bytesIn],
  ]);
  metric("tlspush_messages_sent_total", "counter", "Messages sent to clients.", [
    ["", totals.messagesOut],
  ]);
  metric("tlspush_sent_bytes_total", "counter", "Payload bytes sent to clients.", [
    ["", totals.bytesOut],
  ]);
  metric("tlspush_queued_bytes", "gauge", "Bytes waiting to be written to clients.", [
    ["", stats.queuedBytes],
  ]);
  metric("tlspush_channels", "gauge", "Channels with subscribers or retained messages.", [
    ["", stats.channels.count],
  ]);
  metric(
    "tlspush_subscriptions",
    "gauge",
    "Subscriptions over all channels (each v1 client is one, to broadcast).",
    [["", stats.channels.subscriptions]],
  );
  metric("tlspush_retained_messages", "gauge", "Messages retained for replay, all channels.", [
    ["", stats.channels.retained],
  ]);
  const { security } = stats;
  const count = (name: string, help: string, value: number) =>
    metric(name, "counter", help, [["", value]]);
  count(
    "tlspush_auth_successes_total",
    "Tokens and certificate identities accepted.",
    security.authSuccesses,
  );
  count(
    "tlspush_auth_failures_total",
    "Tokens refused (bad signature, expired, ...).",
    security.authFailures,
  );
  count(
    "tlspush_auth_closed_total",
    "Connections closed: not authenticated in time, v1 without a certificate, token expired.",
    security.authClosed,
  );
  count(
    "tlspush_forbidden_total",
    "SUB and PUB refused by the connection's permissions.",
    security.forbidden,
  );
  count(
    "tlspush_rate_limited_total",
    "v2 commands refused with ERR rate-limited (--rate).",
    security.rateLimited,
  );
  count(
    "tlspush_rate_throttled_total",
    "Times a v1 connection was read more slowly (--rate).",
    security.rateThrottled,
  );
  count(
    "tlspush_connect_rate_refused_total",
    "Connections refused by --connect-rate.",
    security.connectRefused,
  );
  metric("tlspush_start_time_seconds", "gauge", "When the server started (Unix time).", [
    ["", stats.startedAt / 1000],
  ]);
  metric(
    "tlspush_certificate_expiry_seconds",
    "gauge",
    "When the certificate each TLS listener serves expires (Unix time).",
    stats.certificates.map((
      { listener, notAfter },
    ) => [`{listener="${listener}"}`, notAfter / 1000]),
  );
  metric("tlspush_broker_up", "gauge", "1 when the broker can publish cluster-wide.", [
    ["", cluster?.up ? 1 : 0],
  ]);
  if (!cluster) return lines.join("\n") + "\n";
  count(
    "tlspush_broker_messages_published_total",
    "Messages the broker accepted from this instance.",
    cluster.published,
  );
  count(
    "tlspush_broker_publish_failures_total",
    "Publishes refused: broker down, overloaded, too slow.",
    cluster.publishFailed,
  );
  count(
    "tlspush_broker_messages_received_total",
    "Messages received from the broker, from every instance.",
    cluster.received,
  );
  count(
    "tlspush_broker_reconnects_total",
    "Times the broker connection came back.",
    cluster.reconnects,
  );
  count(
    "tlspush_broker_missed_total",
    "Messages trimmed before this instance could read them.",
    cluster.missed,
  );
  metric("tlspush_broker_publishes_in_flight", "gauge", "Publishes sent and not yet answered.", [
    ["", cluster.inFlight],
  ]);
  lines.push(
    "# HELP tlspush_broker_publish_seconds Time to publish through the broker.",
    "# TYPE tlspush_broker_publish_seconds summary",
    `tlspush_broker_publish_seconds_sum ${cluster.publishSeconds.sum}`,
    `tlspush_broker_publish_seconds_count ${cluster.publishSeconds.count}`,
  );
  metric("tlspush_cluster_instances", "gauge", "Instances whose heartbeat was seen recently.", [
    ["", cluster.instances.length],
  ]);
  return lines.join("\n") + "\n";
}
