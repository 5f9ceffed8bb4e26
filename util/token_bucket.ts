/**
 * A token bucket: `rate` tokens a second flow in, up to `burst`; each message takes one. Used
 * per connection for `--rate` and per source address for `--connect-rate`. It keeps two numbers
 * and reads the clock only when asked, so an idle bucket costs nothing.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(100, 200); // 100 a second, bursts of 200
 * if (!bucket.tryTake()) console.log("over the limit: refuse");
 * const waitMs = bucket.debit(50); // take 50 even if short, and learn how long to pause
 * ```
 * @module
 */

/**
 * A rate and a burst, as flags give them.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "./token_bucket.ts";
 * const limit: RateLimit = { perSecond: 1000, burst: 2000 };
 * ```
 */
export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Most tokens held (what may be spent at once after a quiet while). */
  burst: number;
}

/**
 * The bucket; starts full.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * let now = 0;
 * const bucket = new TokenBucket(1, 2, () => now);
 * bucket.tryTake(); // true
 * bucket.tryTake(); // true
 * bucket.tryTake(); // false: empty
 * now = 1000;
 * bucket.tryTake(); // true: one came back in a second
 * ```
 */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /** `perSecond` tokens a second, at most `burst`; `now` is the clock in ms (for tests). */
  constructor(
    perSecond: number,
    burst: number,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /** Takes `count` tokens when there are that many; false (and nothing taken) otherwise. */
  tryTake(count = 1): boolean {
    this.#refill();
    if (this.#tokens < count) return false;
    this.#tokens -= count;
    return true;
  }

  /**
   * Takes `count` tokens even when short (the bucket goes into debt) and returns how many ms
   * to wait until it is out of debt: 0 when it was not short.
   */
  debit(count: number): number {
    this.#refill();
    this.#tokens -= count;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#perMs);
  }

  /** True when the bucket is full again (a limiter may forget it). */
  get full(): boolean {
    this.#refill();
    return this.#tokens >= this.#burst;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }
}
