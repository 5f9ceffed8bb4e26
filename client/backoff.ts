/**
 * Reconnect delays: exponential backoff with full jitter (a random delay between zero and the
 * exponential step, capped), so that many clients losing the same server do not all return at
 * the same instant.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * backoffDelay(3); // somewhere in [0, 2000) ms
 * ```
 * @module
 */

/** First step of the backoff, in ms. */
export const BACKOFF_BASE_MS = 250;
/** Longest delay between two attempts, in ms. */
export const BACKOFF_CAP_MS = 15_000;

/** The delay before attempt number `attempt` (0 for the first retry), in ms. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs: number = BACKOFF_BASE_MS,
  capMs: number = BACKOFF_CAP_MS,
): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * step);
}
