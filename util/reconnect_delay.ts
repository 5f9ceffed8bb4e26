/**
 * How long to wait before the next reconnect attempt (the client to its server, a broker to its
 * server): exponential backoff with full jitter (a random delay between zero and the step),
 * capped, so that many peers that lost the same server do not all return at the same instant.
 *
 * @example
 * ```ts
 * import { reconnectDelay } from "./reconnect_delay.ts";
 * reconnectDelay(3, 100, 5000); // somewhere in [0, 800) ms
 * ```
 * @module
 */

/**
 * The delay before attempt number `attempt` (0 for the first retry), in ms: a random value
 * below `min(capMs, baseMs * 2 ** attempt)`.
 *
 * @example
 * ```ts
 * import { reconnectDelay } from "./reconnect_delay.ts";
 * reconnectDelay(2, 100, 5000, () => 0.5); // 200: half of the 400 ms step
 * reconnectDelay(40, 100, 5000) < 5000; // true: capped
 * ```
 */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * step);
}
