/**
 * Refusals logged once per burst, not once each: a flood must not flood the log. The first
 * refusal of a burst is written with what comes next; the ones after it are counted, and the
 * first refusal of the next burst says how many there were. A burst ends after
 * {@link BURST_QUIET_MS} without a refusal.
 *
 * @example
 * ```ts
 * import { BurstLog } from "./burst_log.ts";
 * import { Logger } from "./logger.ts";
 * const log = new BurstLog(new Logger());
 * log.refused("tls", "refused connection from 192.0.2.7: at --max-connections 100", "connection");
 * log.refused("tls", "refused connection from 192.0.2.8: at --max-connections 100", "connection"); // counted
 * ```
 * @module
 */
import { type Logger, plural } from "./logger.ts";

/** A burst of refusals ends after this long without one; the next refusal is logged again. */
export const BURST_QUIET_MS = 5000;

/**
 * Per kind of refusal: when its burst ends, and how many it refused unlogged.
 *
 * @example
 * ```ts
 * import { BurstLog } from "./burst_log.ts";
 * import { Logger } from "./logger.ts";
 * let now = 0;
 * const log = new BurstLog(new Logger(), () => now);
 * log.refused("rate", "refused connection from 192.0.2.7: over --connect-rate 10/s", "connection");
 * now = 60_000; // a new burst: logged again, with the count of the one before
 * ```
 */
export class BurstLog {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #bursts = new Map<string, { ends: number; unlogged: number }>();

  /** Writes to `logger`; `now` is the clock in ms (for tests). */
  constructor(logger: Logger, now: () => number = Date.now) {
    this.#logger = logger;
    this.#now = now;
  }

  /**
   * A refusal of kind `key`: `head` is logged when it begins a burst (with how many `noun`s
   * the burst before refused unlogged), else it is only counted.
   */
  refused(key: string, head: string, noun: string): void {
    const now = this.#now();
    const burst = this.#bursts.get(key) ?? { ends: 0, unlogged: 0 };
    this.#bursts.set(key, burst);
    if (now < burst.ends) {
      burst.unlogged++;
      burst.ends = now + BURST_QUIET_MS;
      return;
    }
    const earlier = burst.unlogged > 0
      ? ` (${plural(burst.unlogged, `more ${noun}`)} refused in the burst before)`
      : "";
    this.#logger.info(
      `${head}; further refusals are counted, not logged, until ${BURST_QUIET_MS / 1000} s ` +
        `pass without one${earlier}`,
    );
    burst.unlogged = 0;
    burst.ends = now + BURST_QUIET_MS;
  }
}
