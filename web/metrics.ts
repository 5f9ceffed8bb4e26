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
 * Renders `stats` as Prometheus text.
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
export function renderMetrics(stats: ServerStats): string {
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
  metric("tlspush_start_time_seconds", "gauge", "When the server started (Unix time).", [
    ["", stats.startedAt / 1000],
  ]);
  return lines.join("\n") + "\n";
}
