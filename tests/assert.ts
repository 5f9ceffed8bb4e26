/**
 * The few assertions the tests use, on top of `node:assert/strict` (jsr's @std/assert is not
 * reachable from this network).
 *
 * @example
 * ```ts
 * import { assertEquals } from "./assert.ts";
 * assertEquals(1 + 1, 2);
 * ```
 * @module
 */
import { deepStrictEqual, ok } from "node:assert/strict";

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

/** Fails unless `actual` deeply and strictly equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Fails unless `value` is an instance of `type`. */
export function assertInstanceOf<T>(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => T,
  message?: string,
): asserts value is T {
  ok(value instanceof type, message ?? `expected ${type.name}, got ${String(value)}`);
}

/** Runs `fn`, fails unless it throws (an instance of `type`, whose message includes `includes`). */
export function assertThrows<T extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type?: abstract new (...args: any[]) => T,
  includes?: string,
  message?: string,
): T {
  try {
    fn();
  } catch (error) {
    if (type) assertInstanceOf(error, type, message);
    if (includes) ok(String((error as Error).message).includes(includes), message);
    return error as T;
  }
  throw new Error(message ?? "expected the function to throw");
}

/** Awaits `promise`, fails unless it rejects (with an instance of `type` mentioning `includes`). */
export async function assertRejects<T extends Error = Error>(
  promise: Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type?: abstract new (...args: any[]) => T,
  includes?: string,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    if (type) assertInstanceOf(error, type);
    if (includes) ok(String((error as Error).message).includes(includes), String(error));
    return error as T;
  }
  throw new Error("expected the promise to reject");
}
