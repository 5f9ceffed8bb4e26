/**
 * The broker's named errors. Each message is one line a user can read, with any password in a
 * URL already redacted; the cause is the client library's error.
 *
 * @example
 * ```ts
 * import { BrokerUnavailableError } from "./broker_errors.ts";
 * try {
 *   throw new BrokerUnavailableError("cannot reach redis://127.0.0.1:6379: connection refused");
 * } catch (error) {
 *   if (error instanceof BrokerUnavailableError) console.log("ERR unavailable", error.message);
 * }
 * ```
 * @module
 */
import { TlspushError } from "../util/errors.ts";

/**
 * The broker URL or an option is not valid (a usage error: the entry point exits 2).
 *
 * @example
 * ```ts
 * import { BrokerConfigError } from "./broker_errors.ts";
 * new BrokerConfigError("--broker: unsupported scheme 'http:' (use redis://, rediss:// or nats://)");
 * ```
 */
export class BrokerConfigError extends TlspushError {}

/**
 * The broker cannot be reached, or was lost: nothing was published. Maps to `ERR unavailable`
 * and HTTP 503.
 *
 * @example
 * ```ts
 * import { BrokerUnavailableError } from "./broker_errors.ts";
 * const error = new BrokerUnavailableError("broker redis://127.0.0.1:6379 is down", {
 *   cause: new Error("ECONNREFUSED"),
 * });
 * error.name; // "BrokerUnavailableError"
 * ```
 */
export class BrokerUnavailableError extends TlspushError {}

/**
 * Too many publishes are waiting for the broker (it is slow): this one was refused rather than
 * queued without bound. A kind of unavailability (`ERR unavailable`, 503).
 *
 * @example
 * ```ts
 * import { BrokerOverloadedError, BrokerUnavailableError } from "./broker_errors.ts";
 * const error = new BrokerOverloadedError("1024 publishes already wait for the broker");
 * error instanceof BrokerUnavailableError; // true
 * ```
 */
export class BrokerOverloadedError extends BrokerUnavailableError {}

/**
 * The broker did not answer a publish in time. Unlike the other refusals, the message may
 * still be delivered (the broker may have taken it); its sequence number is not known.
 *
 * @example
 * ```ts
 * import { BrokerTimeoutError, BrokerUnavailableError } from "./broker_errors.ts";
 * const error = new BrokerTimeoutError("no answer from the broker in 5000 ms");
 * error instanceof BrokerUnavailableError; // true
 * ```
 */
export class BrokerTimeoutError extends BrokerUnavailableError {}

/**
 * The payload is larger than the broker accepts (NATS `max_payload`, 1 MiB by default).
 *
 * @example
 * ```ts
 * import { BrokerPayloadTooLargeError } from "./broker_errors.ts";
 * new BrokerPayloadTooLargeError("2000000 bytes is more than the broker's max_payload 1048576");
 * ```
 */
export class BrokerPayloadTooLargeError extends TlspushError {}

/**
 * The channel name is not one protocol v2 allows (1 to 128 bytes of `A-Z a-z 0-9 _ - . : /`).
 *
 * @example
 * ```ts
 * import { BrokerChannelError } from "./broker_errors.ts";
 * new BrokerChannelError("invalid channel name 'a b'");
 * ```
 */
export class BrokerChannelError extends TlspushError {}
