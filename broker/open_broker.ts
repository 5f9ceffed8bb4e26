/**
 * From a `--broker` URL to a broker: `redis://` and `rediss://` give a `RedisBroker`,
 * `nats://` a `NatsBroker`. Not connected yet: call `start()`.
 *
 * @example
 * ```ts
 * import { openBroker } from "./open_broker.ts";
 * const broker = openBroker("redis://127.0.0.1:6379", { prefix: "tlspush", history: 100 });
 * await broker.start();
 * ```
 * @module
 */
import type { Broker } from "./broker.ts";
import type { BrokerOptions } from "./broker_options.ts";
import { parseBrokerUrl } from "./broker_url.ts";
import { NatsBroker } from "./nats_broker.ts";
import { RedisBroker } from "./redis_broker.ts";

/**
 * The broker for `url` with `options`; throws `BrokerConfigError` for a bad URL or option.
 *
 * @example
 * ```ts
 * import { openBroker } from "./open_broker.ts";
 * const broker = openBroker("nats://127.0.0.1:4222", { prefix: "staging" });
 * broker.url; // "nats://127.0.0.1:4222"
 * ```
 */
export function openBroker(url: string, options: BrokerOptions = {}): Broker {
  const parsed = parseBrokerUrl(url);
  return parsed.kind === "redis"
    ? new RedisBroker(parsed, options)
    : new NatsBroker(parsed, options);
}
