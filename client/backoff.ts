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
import { reconnectDelay } from "../util/reconnect_delay.ts";

/**
 * First step of the backoff, in ms.
 *
 * @example
 * ```ts
 * import { BACKOFF_BASE_MS, backoffDelay } from "./backoff.ts";
 * backoffDelay(0) < BACKOFF_BASE_MS; // true: the first retry waits under 250 ms
 * ```
 */
export const BACKOFF_BASE_MS = 250;
/**
 * Longest delay between two attempts, in ms.
 *
 * @example
 * ```ts
 * import { BACKOFF_CAP_MS, backoffDelay } from "./backoff.ts";
 * backoffDelay(100) < BACKOFF_CAP_MS; // true: never 15 s or more
 * ```
 */
export const BACKOFF_CAP_MS = 15_000;

/**
 * The delay before attempt number `attempt` (0 for the first retry), in ms.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * backoffDelay(2, () => 0.5); // 500: half of the 1000 ms step
 * backoffDelay(20); // somewhere in [0, 15000): capped
 * ```
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs: number = BACKOFF_BASE_MS,
  capMs: number = BACKOFF_CAP_MS,
): number {
  return reconnectDelay(attempt, baseMs, capMs, random);
}
