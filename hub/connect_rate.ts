/**
 * `--connect-rate N`: at most N new connections a second from one source address (bursts of N),
 * counted over both ports together. Each address has a {@link TokenBucket}; buckets that have
 * filled up again are forgotten, so the table stays as small as the set of busy addresses.
 * Refusals are logged once per burst and counted in `/metrics`.
 *
 * @example
 * ```ts
 * import { ConnectRate } from "./connect_rate.ts";
 * import { Logger } from "../util/logger.ts";
 * const rate = new ConnectRate(20, new Logger()); // with a hub: (20, hub.logger, hub.security)
 * if (!rate.admits("203.0.113.9", "connection")) console.log("refused: too many from there");
 * ```
 * @module
 */
import { BurstLog } from "../util/burst_log.ts";
import type { Logger } from "../util/logger.ts";
import { TokenBucket } from "../util/token_bucket.ts";
import { newSecurityCounters, type SecurityCounters } from "./security_counters.ts";

/** Past this many addresses tracked, full buckets are swept out before another is added. */
const SWEEP_AT = 10_000;

/**
 * The limiter.
 *
 * @example
 * ```ts
 * import { ConnectRate } from "./connect_rate.ts";
 * import { Logger } from "../util/logger.ts";
 * let now = 0;
 * const rate = new ConnectRate(1, new Logger(), undefined, () => now);
 * rate.admits("127.0.0.1"); // true
 * rate.admits("127.0.0.1"); // false: one a second
 * rate.admits("127.0.0.2"); // true: another address
 * ```
 */
export class ConnectRate {
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #burstLog: BurstLog;
  readonly #counters: SecurityCounters;

  /**
   * `perSecond` new connections a second per address, refusals counted in `counters`; `now` is
   * the clock in ms (for tests).
   */
  constructor(
    perSecond: number,
    logger: Logger,
    counters: SecurityCounters = newSecurityCounters(),
    now: () => number = Date.now,
  ) {
    this.#perSecond = perSecond;
    this.#burstLog = new BurstLog(logger, now);
    this.#counters = counters;
    this.#now = now;
  }

  /** Addresses tracked now. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Whether one more connection from `host` (an address without port) is let in. */
  admits(host: string, what = "connection"): boolean {
    let bucket = this.#buckets.get(host);
    if (bucket === undefined) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep();
      bucket = new TokenBucket(this.#perSecond, this.#perSecond, this.#now);
      this.#buckets.set(host, bucket);
    }
    if (bucket.tryTake()) return true;
    this.#counters.connectRefused++;
    this.#log(host, what);
    return false;
  }

  #sweep(): void {
    for (const [host, bucket] of this.#buckets) if (bucket.full) this.#buckets.delete(host);
  }

  #log(host: string, what: string): void {
    const head = `refused ${what} from ${host}: over --connect-rate ${this.#perSecond}/s`;
    this.#burstLog.refused("", head, "connection");
  }
}
