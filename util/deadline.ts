/**
 * Waiting with a limit.
 *
 * @example
 * ```ts
 * import { withinDeadline } from "./deadline.ts";
 * const done = await withinDeadline(new Promise((r) => setTimeout(r, 10)), 1000); // true
 * ```
 * @module
 */

/** Waits for `promise` at most `ms` milliseconds; true when it settled in time. */
export async function withinDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
