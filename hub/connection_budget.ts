/**
 * One budget of connections for the whole server (`--max-connections`): every transport takes a
 * slot as soon as it accepts a socket (handshakes in progress count) and gives it back when the
 * connection is gone. Refusals are logged once per burst, not once a socket.
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "./connection_budget.ts";
 * import { Logger } from "../util/logger.ts";
 * const budget = new ConnectionBudget(2, new Logger());
 * const slot = budget.take("127.0.0.1:5000"); // a Slot, or undefined (refused, logged) when full
 * slot?.release();
 * ```
 * @module
 */
import { BurstLog } from "../util/burst_log.ts";
import type { Logger } from "../util/logger.ts";

/** A held place in the budget; releasing it twice is harmless. */
export interface Slot {
  /** Gives the place back. */
  release(): void;
}

/**
 * Counts open connections against a limit (0: none).
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "./connection_budget.ts";
 * import { Logger } from "../util/logger.ts";
 * const budget = new ConnectionBudget(0, new Logger()); // no limit
 * budget.take("[::1]:4000")?.release();
 * budget.used; // 0
 * ```
 */
export class ConnectionBudget {
  readonly #limit: number;
  readonly #log: BurstLog;
  #used = 0;

  /** A budget of `limit` connections (0: unlimited); `now` is the clock (for tests). */
  constructor(limit: number, logger: Logger, now: () => number = Date.now) {
    this.#limit = limit;
    this.#log = new BurstLog(logger, now);
  }

  /** Slots held now. */
  get used(): number {
    return this.#used;
  }

  /** The limit (0: none). */
  get limit(): number {
    return this.#limit;
  }

  /**
   * Takes a slot for a connection (`what`: for the log) from `address`; undefined when the budget is spent (the first
   * refusal of a burst is logged, and how many followed when the next burst begins).
   */
  take(address: string, what = "connection"): Slot | undefined {
    if (this.#limit > 0 && this.#used >= this.#limit) {
      this.#refused(what, address);
      return undefined;
    }
    this.#used++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.#used--;
      },
    };
  }

  #refused(what: string, address: string): void {
    this.#log.refused(
      what,
      `refused ${what} from ${address}: at --max-connections ${this.#limit}`,
      what,
    );
  }
}
