/**
 * The door every publish goes through: refused at once when the broker is down, refused when
 * too many publishes (or bytes) already wait for it, and given up on after a timeout, so a slow
 * or lost broker costs bounded memory and never an unbounded queue.
 *
 * @example
 * ```ts
 * import { PublishGate } from "./publish_gate.ts";
 * const gate = new PublishGate({ maxInFlight: 2, maxInFlightBytes: 1 << 20, timeoutMs: 1000 });
 * const seq = await gate.run(5, () => true, "redis://127.0.0.1:6379", () => Promise.resolve(7));
 * ```
 * @module
 */
import {
  BrokerOverloadedError,
  BrokerTimeoutError,
  BrokerUnavailableError,
} from "./broker_errors.ts";

/**
 * Limits of a `PublishGate`.
 *
 * @example
 * ```ts
 * import type { PublishGateLimits } from "./publish_gate.ts";
 * const limits: PublishGateLimits = { maxInFlight: 1024, maxInFlightBytes: 64 << 20, timeoutMs: 5000 };
 * ```
 */
export interface PublishGateLimits {
  /** Most publishes waiting at once. */
  maxInFlight: number;
  /** Most payload bytes waiting at once. */
  maxInFlightBytes: number;
  /** How long a caller waits for the broker's answer, in ms. */
  timeoutMs: number;
}

/**
 * Counts publishes in flight and refuses the ones beyond the limits.
 *
 * @example
 * ```ts
 * import { PublishGate } from "./publish_gate.ts";
 * const gate = new PublishGate({ maxInFlight: 1, maxInFlightBytes: 100, timeoutMs: 1000 });
 * gate.inFlight; // 0
 * ```
 */
export class PublishGate {
  /** Publishes the broker accepted. */
  published = 0;
  /** Publishes refused or failed. */
  failed = 0;
  #inFlight = 0;
  #inFlightBytes = 0;
  readonly #limits: PublishGateLimits;

  /** A gate with these limits. */
  constructor(limits: PublishGateLimits) {
    this.#limits = limits;
  }

  /** Publishes sent and not yet answered (a timed-out one counts until the broker answers). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs `send` unless the broker is down (`isUp()` false) or the limits are reached; rejects
   * with `BrokerTimeoutError` when it has not settled in time (its slot stays taken until it
   * does). `where` names the broker in messages (redacted URL).
   */
  run<T>(bytes: number, isUp: () => boolean, where: string, send: () => Promise<T>): Promise<T> {
    if (!isUp()) {
      this.failed++;
      return Promise.reject(new BrokerUnavailableError(`broker ${where} is down: not published`));
    }
    const limits = this.#limits;
    if (
      this.#inFlight >= limits.maxInFlight || this.#inFlightBytes + bytes > limits.maxInFlightBytes
    ) {
      this.failed++;
      return Promise.reject(
        new BrokerOverloadedError(
          `broker ${where} is slow: ${this.#inFlight} publishes (${this.#inFlightBytes} bytes) ` +
            `already wait for it; not published`,
        ),
      );
    }
    this.#inFlight++;
    this.#inFlightBytes += bytes;
    const sent = (async () => await send())().finally(() => {
      this.#inFlight--;
      this.#inFlightBytes -= bytes;
    });
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        this.failed++;
        reject(
          new BrokerTimeoutError(
            `no answer from broker ${where} in ${limits.timeoutMs} ms; the message may still be delivered`,
          ),
        );
      }, limits.timeoutMs);
      sent.then(
        (value) => {
          clearTimeout(timer);
          if (answered) return;
          this.published++;
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          if (answered) return;
          this.failed++;
          reject(error);
        },
      );
    });
  }
}
