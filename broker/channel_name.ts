/**
 * Channel names as protocol v2 allows them: 1 to 128 bytes of `A-Z a-z 0-9 _ - . : /`. The
 * broker checks them too, because they become Redis keys and NATS subjects.
 *
 * @example
 * ```ts
 * import { assertChannelName, isChannelName } from "./channel_name.ts";
 * isChannelName("metrics.cpu"); // true
 * assertChannelName("broadcast"); // returns; throws BrokerChannelError for "a b"
 * ```
 * @module
 */
import { CHANNEL_RULE, isValidChannel } from "../protocol/channel.ts";
import { BrokerChannelError } from "./broker_errors.ts";

/**
 * Whether `name` is a valid channel name.
 *
 * @example
 * ```ts
 * import { isChannelName } from "./channel_name.ts";
 * isChannelName("sensors/room-1:temp"); // true
 * isChannelName(""); // false
 * ```
 */
export function isChannelName(name: string): boolean {
  return isValidChannel(name);
}

/**
 * Throws `BrokerChannelError` unless `name` is a valid channel name.
 *
 * @example
 * ```ts
 * import { assertChannelName } from "./channel_name.ts";
 * assertChannelName("metrics");
 * ```
 */
export function assertChannelName(name: string): void {
  if (!isValidChannel(name)) {
    throw new BrokerChannelError(`invalid channel name '${name.slice(0, 40)}': ${CHANNEL_RULE}`);
  }
}
