/**
 * What a stop signal (SIGINT, SIGTERM) means to a program that stops gracefully: the first one
 * asks it to stop; signals that arrive together with it are the same request; only a later,
 * deliberate one forces the exit.
 *
 * One Ctrl-C often delivers several signals: the terminal sends SIGINT to the whole foreground
 * process group, and `deno task` (and npm's `npx`) forward the SIGINT they receive to their
 * child as well, so a server run through `npx deno task server` sees two or three SIGINTs
 * within milliseconds. Treating the second of them as "exit at once" would cut every client off
 * in the middle of the graceful stop. So a signal counts as a new request only when it comes
 * more than {@link REPEAT_WINDOW_MS} after the first one.
 *
 * @example
 * ```ts
 * import { StopSignals } from "./stop_signals.ts";
 * const signals = new StopSignals();
 * signals.receive(); // "stop": begin the graceful stop
 * signals.receive(); // "same": a copy forwarded by `deno task`, ignored
 * // ... more than a second later, the user presses Ctrl-C again:
 * // signals.receive(); // "force": exit at once
 * ```
 * @module
 */

/**
 * How long after the first stop signal further signals are taken as part of the same request,
 * in milliseconds. A second Ctrl-C later than this forces the exit.
 *
 * @example
 * ```ts
 * import { REPEAT_WINDOW_MS } from "./stop_signals.ts";
 * console.log(`press Ctrl-C again after ${REPEAT_WINDOW_MS / 1000} s to exit at once`);
 * ```
 */
export const REPEAT_WINDOW_MS = 1000;

/**
 * What to do on a stop signal: `"stop"` begin the graceful stop (the first signal), `"same"`
 * nothing (it arrived together with the first one), `"force"` exit at once (a later one).
 *
 * @example
 * ```ts
 * import type { StopDecision } from "./stop_signals.ts";
 * const decision: StopDecision = "stop";
 * ```
 */
export type StopDecision = "stop" | "same" | "force";

/**
 * Options of {@link StopSignals}.
 *
 * @example
 * ```ts
 * import type { StopSignalsOptions } from "./stop_signals.ts";
 * let now = 0;
 * const options: StopSignalsOptions = { windowMs: 500, now: () => now };
 * ```
 */
export interface StopSignalsOptions {
  /** Signals within this many ms of the first one are the same request (default 1000). */
  windowMs?: number;
  /** The clock, in ms (default `performance.now`); tests inject their own. */
  now?: () => number;
}

/**
 * Turns the stop signals a program receives into decisions (see the module documentation).
 *
 * @example
 * ```ts
 * import { StopSignals } from "./stop_signals.ts";
 * let now = 0;
 * const signals = new StopSignals({ now: () => now });
 * signals.receive(); // "stop"
 * now = 5;
 * signals.receive(); // "same"
 * now = 2000;
 * signals.receive(); // "force"
 * ```
 */
export class StopSignals {
  readonly #windowMs: number;
  readonly #now: () => number;
  #first: number | undefined;

  /** Creates the rule with its window and clock. */
  constructor(options: StopSignalsOptions = {}) {
    this.#windowMs = options.windowMs ?? REPEAT_WINDOW_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether a stop has been requested yet. */
  get stopping(): boolean {
    return this.#first !== undefined;
  }

  /** Records one signal and says what to do about it. */
  receive(): StopDecision {
    const now = this.#now();
    if (this.#first === undefined) {
      this.#first = now;
      return "stop";
    }
    return now - this.#first > this.#windowMs ? "force" : "same";
  }
}
