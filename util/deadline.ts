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

/**
 * Waits for `promise` at most `ms` milliseconds; true when it settled in time.
 *
 * @example
 * ```ts
 * import { withinDeadline } from "./deadline.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * if (!(await withinDeadline(conn.closeWrite(), 5000))) conn.close(); // gave up after 5 s
 * ```
 */
export async function withinDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
