/**
 * The cluster's part of `/metrics` (with `--broker`): whether the broker is up, what went
 * through it, how long publishing took, and how many instances it sees.
 *
 * @example
 * ```ts
 * import { renderClusterMetrics } from "./cluster_metrics.ts";
 * renderClusterMetrics(undefined); // "tlspush_broker_up 0" and nothing else without a broker
 * ```
 * @module
 */
import type { ClusterStatus } from "../hub/cluster.ts";

/**
 * Prometheus text for `status` (undefined: no broker configured).
 *
 * @example
 * ```ts
 * import type { ClusterStatus } from "../hub/cluster.ts";
 * import { renderClusterMetrics } from "./cluster_metrics.ts";
 * declare const status: ClusterStatus;
 * renderClusterMetrics(status).includes("tlspush_broker_messages_received_total"); // true
 * ```
 */
export function renderClusterMetrics(status: ClusterStatus | undefined): string {
  const lines: string[] = [];
  const metric = (name: string, type: "counter" | "gauge", help: string, value: number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  };
  metric(
    "tlspush_broker_up",
    "gauge",
    "1 when the broker can publish cluster-wide.",
    status?.up ? 1 : 0,
  );
  if (!status) return lines.join("\n") + "\n";
  metric(
    "tlspush_broker_messages_published_total",
    "counter",
    "Messages the broker accepted from this instance.",
    status.published,
  );
  metric(
    "tlspush_broker_publish_failures_total",
    "counter",
    "Publishes refused: broker down, overloaded, too slow.",
    status.publishFailed,
  );
  metric(
    "tlspush_broker_messages_received_total",
    "counter",
    "Messages received from the broker, from every instance.",
    status.received,
  );
  metric(
    "tlspush_broker_reconnects_total",
    "counter",
    "Times the broker connection came back.",
    status.reconnects,
  );
  metric(
    "tlspush_broker_missed_total",
    "counter",
    "Messages trimmed before this instance could read them.",
    status.missed,
  );
  metric(
    "tlspush_broker_publishes_in_flight",
    "gauge",
    "Publishes sent and not yet answered.",
    status.inFlight,
  );
  lines.push(
    "# HELP tlspush_broker_publish_seconds Time to publish through the broker.",
    "# TYPE tlspush_broker_publish_seconds summary",
    `tlspush_broker_publish_seconds_sum ${status.publishSeconds.sum}`,
    `tlspush_broker_publish_seconds_count ${status.publishSeconds.count}`,
  );
  metric(
    "tlspush_cluster_instances",
    "gauge",
    "Instances whose heartbeat was seen recently.",
    status.instances.length,
  );
  return lines.join("\n") + "\n";
}
