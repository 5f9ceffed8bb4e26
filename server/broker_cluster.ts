/**
 * The broker (`--broker`) plugged into the hub: the hub publishes through it and receives every
 * message it delivers; its up/down changes are logged once each; this instance's heartbeat
 * (clients connected) goes out every few seconds; broker errors become the hub's refusals.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { connectCluster } from "./broker_cluster.ts";
 * const logger = new Logger();
 * const cluster = await connectCluster("redis://127.0.0.1:6379", { prefix: "tlspush" }, logger);
 * const hub = new Hub({ logger, maxFrame: 1 << 20, cluster: cluster.forHub });
 * cluster.attach(hub);
 * await cluster.close();
 * ```
 * @module
 */
import type { Broker, HistoryPage } from "../broker/broker.ts";
import {
  BrokerChannelError,
  BrokerPayloadTooLargeError,
  BrokerUnavailableError,
} from "../broker/broker_errors.ts";
import type { BrokerOptions } from "../broker/broker_options.ts";
import { resolveBrokerOptions } from "../broker/broker_options.ts";
import { type Cluster, ClusterRefusedError, type ClusterStatus } from "../hub/cluster.ts";
import type { Hub } from "../hub/hub.ts";
import { describeError } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";

/** How often this instance tells the others it is there, and how many clients it serves. */
const HEARTBEAT_MS = 5000;

/** A connected broker, ready to be given to a hub. */
export interface ConnectedCluster {
  /** What the hub takes (`HubOptions.cluster`). */
  readonly forHub: { cluster: Cluster; instanceId: string };
  /** The broker, for `/metrics` and the dashboard. */
  readonly broker: Broker;
  /** This instance's id in the cluster. */
  readonly instanceId: string;
  /** What `/metrics` and the dashboard show of the cluster. */
  status(): ClusterStatus;
  /** Hands every delivered message to `hub` and starts the heartbeat. */
  attach(hub: Hub): void;
  /** Stops the heartbeat and disconnects. */
  close(): Promise<void>;
}

/**
 * Connects to the broker at `url`; rejects `BrokerUnavailableError` (one line, password
 * redacted) when it cannot be reached, `BrokerConfigError` for a bad URL or option.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { connectCluster } from "./broker_cluster.ts";
 * const cluster = await connectCluster("nats://127.0.0.1:4222", {}, new Logger());
 * console.log(`instance ${cluster.instanceId} of the cluster`);
 * ```
 */
export async function connectCluster(
  url: string,
  options: BrokerOptions,
  logger: Logger,
): Promise<ConnectedCluster> {
  const resolved = resolveBrokerOptions(options);
  // Loaded only for a cluster: the broker clients (Redis, NATS) are large, and a server that
  // loads them at startup keeps promoting per-message garbage into the old generation
  // (major GCs, longer tail latency) even when it never uses them.
  const { openBroker } = await import("../broker/open_broker.ts");
  const broker = openBroker(url, resolved);
  const started = Date.now();
  let hub: Hub | undefined;
  broker.onMessage((message) => hub?.receive(message));
  let everUp = false;
  broker.onStateChange((up, reason) => {
    if (!everUp) {
      everUp = up;
      return; // the first "up" is the startup line below
    }
    if (up) logger.info(`broker ${broker.url} is back (${reason}): publishing resumes`);
    else {
      logger.error(
        `broker ${broker.url} lost (${reason}): local clients are still served; publishing is ` +
          `refused until it is back (reconnecting with backoff)`,
      );
    }
  });
  await broker.start();
  logger.info(
    `broker ${broker.url}: instance ${resolved.instanceId}, prefix ${resolved.prefix}, ` +
      `every message goes through it`,
  );
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const latency = { sum: 0, count: 0 };
  const cluster: Cluster = {
    get up() {
      return broker.up;
    },
    publish: async (channel, payload) => {
      const start = performance.now();
      try {
        return await broker.publish(channel, payload);
      } catch (error) {
        return refusal(error);
      } finally {
        latency.sum += (performance.now() - start) / 1000;
        latency.count++;
      }
    },
    history: (channel, from, limit): Promise<HistoryPage> =>
      broker.history(channel, from, limit).catch(refusal),
  };
  return {
    forHub: { cluster, instanceId: resolved.instanceId },
    broker,
    instanceId: resolved.instanceId,
    status: () => ({
      url: broker.url,
      up: broker.up,
      instanceId: resolved.instanceId,
      instances: broker.instances(),
      ...broker.stats(),
      publishSeconds: { ...latency },
    }),
    attach(target: Hub): void {
      hub = target;
      const announce = () =>
        broker.announce({ id: resolved.instanceId, clients: target.size, started });
      announce();
      heartbeat = setInterval(announce, HEARTBEAT_MS);
      Deno.unrefTimer(heartbeat);
    },
    async close(): Promise<void> {
      clearInterval(heartbeat);
      await broker.close();
    },
  };
}

/** A broker error as the hub's refusal: the code decides `ERR` and the HTTP status. */
function refusal(error: unknown): never {
  if (error instanceof BrokerPayloadTooLargeError) {
    throw new ClusterRefusedError("too-large", describeError(error), { cause: error });
  }
  if (error instanceof BrokerChannelError) {
    throw new ClusterRefusedError("bad-channel", describeError(error), { cause: error });
  }
  const why = error instanceof BrokerUnavailableError
    ? describeError(error)
    : `broker error: ${describeError(error)}`;
  throw new ClusterRefusedError("unavailable", why, { cause: error });
}
