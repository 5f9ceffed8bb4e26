/**
 * The settings every broker takes (from `--broker-prefix`, `--history`, `--history-age` and
 * the instance's identity), with their defaults and checks.
 *
 * @example
 * ```ts
 * import { resolveBrokerOptions } from "./broker_options.ts";
 * const options = resolveBrokerOptions({ prefix: "staging", history: 500 });
 * options.historyAgeMs; // 0: no age limit unless one is given
 * ```
 * @module
 */
import { BrokerConfigError } from "./broker_errors.ts";

/**
 * What a broker is configured with. Every instance of a deployment should use the same
 * `prefix`, `history` and `historyAgeMs`.
 *
 * @example
 * ```ts
 * import type { BrokerOptions } from "./broker_options.ts";
 * const options: BrokerOptions = { prefix: "tlspush", history: 100, historyAgeMs: 3_600_000 };
 * ```
 */
export interface BrokerOptions {
  /** Separates deployments on one broker (`--broker-prefix`): 1 to 64 of `A-Z a-z 0-9 _ -`. */
  prefix?: string;
  /** Messages each channel retains for replay (`--history`), 0 for none. */
  history?: number;
  /** Retained messages older than this many ms are not replayed (0: no age limit). */
  historyAgeMs?: number;
  /** This instance's id: the `origin` of what it publishes. Random by default. */
  instanceId?: string;
  /** Most publishes waiting for the broker at once; more are refused (`BrokerOverloadedError`). */
  maxInFlight?: number;
  /** Most payload bytes waiting for the broker at once. */
  maxInFlightBytes?: number;
  /** A publish unanswered for this long is refused (`BrokerTimeoutError`). */
  publishTimeoutMs?: number;
  /** Heartbeat period for `announce`; an instance unseen for three periods is dropped. */
  heartbeatMs?: number;
  /** First reconnect delay step, in ms (exponential backoff with full jitter). */
  reconnectBaseMs?: number;
  /** Longest delay between two reconnect attempts, in ms. */
  reconnectCapMs?: number;
  /** How long `start()` and each reconnect attempt may take to connect, in ms. */
  connectTimeoutMs?: number;
  /**
   * Redis: the deployment-wide delivery stream keeps about this many messages (all channels
   * together) for instances that read behind or are away: one further behind misses the older
   * ones, and counts them (`BrokerStats.missed`).
   */
  deliveryBuffer?: number;
  /**
   * `rediss://`: PEM certificates to trust instead of the system's roots (a private CA). Empty:
   * the system's roots.
   */
  tlsCa?: string;
  /**
   * NATS: each channel keeps this many messages beyond its history, for instances that read
   * behind or are away (JetStream trims per channel, so the history alone would be the delivery
   * buffer: a burst larger than it would be trimmed before slower instances read it). Storage
   * per channel: `history + channelBacklog` messages.
   */
  channelBacklog?: number;
}

/**
 * Every option with its value.
 *
 * @example
 * ```ts
 * import { type ResolvedBrokerOptions, resolveBrokerOptions } from "./broker_options.ts";
 * const options: ResolvedBrokerOptions = resolveBrokerOptions({});
 * options.prefix; // "tlspush"
 * ```
 */
export type ResolvedBrokerOptions = Required<BrokerOptions>;

/**
 * The defaults (`instanceId` is made fresh by `resolveBrokerOptions`).
 *
 * @example
 * ```ts
 * import { BROKER_DEFAULTS } from "./broker_options.ts";
 * BROKER_DEFAULTS.history; // 100
 * ```
 */
export const BROKER_DEFAULTS: Readonly<Omit<ResolvedBrokerOptions, "instanceId">> = {
  prefix: "tlspush",
  history: 100,
  historyAgeMs: 0,
  maxInFlight: 1024,
  maxInFlightBytes: 64 << 20,
  publishTimeoutMs: 5_000,
  heartbeatMs: 2_000,
  reconnectBaseMs: 100,
  reconnectCapMs: 5_000,
  connectTimeoutMs: 5_000,
  deliveryBuffer: 10_000,
  channelBacklog: 1_000,
  tlsCa: "",
};

/**
 * Fills in the defaults and checks the values; throws `BrokerConfigError` for a bad one.
 *
 * @example
 * ```ts
 * import { resolveBrokerOptions } from "./broker_options.ts";
 * resolveBrokerOptions({ prefix: "blue" }).prefix; // "blue"
 * try {
 *   resolveBrokerOptions({ prefix: "a.b" });
 * } catch (error) {
 *   console.error((error as Error).message); // --broker-prefix: ...
 * }
 * ```
 */
export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  const resolved: ResolvedBrokerOptions = {
    ...BROKER_DEFAULTS,
    instanceId: crypto.randomUUID().slice(0, 8),
    ...definedOnly(options),
  };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(resolved.prefix)) {
    throw new BrokerConfigError(
      `--broker-prefix: '${resolved.prefix}' is not 1 to 64 of A-Z a-z 0-9 _ -`,
    );
  }
  if (!/^[\x21-\x7e]{1,128}$/.test(resolved.instanceId)) {
    throw new BrokerConfigError(`instance id '${resolved.instanceId}': 1 to 128 printable ASCII`);
  }
  const counts: [keyof ResolvedBrokerOptions, number][] = [
    ["history", 0],
    ["historyAgeMs", 0],
    ["maxInFlight", 1],
    ["maxInFlightBytes", 1],
    ["publishTimeoutMs", 1],
    ["heartbeatMs", 10],
    ["reconnectBaseMs", 1],
    ["reconnectCapMs", 1],
    ["connectTimeoutMs", 1],
    ["deliveryBuffer", 100],
    ["channelBacklog", 1],
  ];
  for (const [name, min] of counts) {
    const value = resolved[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw new BrokerConfigError(`broker option ${name}: ${value} is not an integer >= ${min}`);
    }
  }
  return resolved;
}

function definedOnly(options: BrokerOptions): BrokerOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
