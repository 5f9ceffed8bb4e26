/**
 * Sequence numbers on the wire: canonical decimal integers from 0 to 2^53 − 1
 * (`Number.MAX_SAFE_INTEGER`, 9007199254740991), so that every client language can hold one in
 * a double or an int64 without loss.
 *
 * Canonical means: ASCII digits only, no sign (`+` or `-`), no leading zero (`0` itself is
 * fine, `007` is not), no spaces, no exponent, at most 16 digits. The server writes only this
 * form, and refuses anything else from a client (`ERR bad-command`), so a number has exactly one
 * spelling and a client bug shows at once instead of resuming from the wrong place.
 *
 * @example
 * ```ts
 * import { parseSequence } from "./sequence_number.ts";
 * parseSequence(new TextEncoder().encode("1754000000000000")); // 1754000000000000
 * parseSequence(new TextEncoder().encode("+1")); // undefined
 * ```
 * @module
 */

/**
 * The largest sequence number: 2^53 − 1.
 *
 * @example
 * ```ts
 * import { MAX_SEQUENCE } from "./sequence_number.ts";
 * MAX_SEQUENCE === Number.MAX_SAFE_INTEGER; // true
 * ```
 */
export const MAX_SEQUENCE: number = Number.MAX_SAFE_INTEGER;

/**
 * The rule in words, for error texts.
 *
 * @example
 * ```ts
 * import { SEQUENCE_RULE } from "./sequence_number.ts";
 * console.error(`bad sequence number: ${SEQUENCE_RULE}`);
 * ```
 */
export const SEQUENCE_RULE =
  "a sequence number is a decimal integer from 0 to 9007199254740991, without sign or leading zeros";

/** Digits of {@link MAX_SEQUENCE}. */
const MAX_DIGITS = 16;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * True when `value` can be a sequence number (an integer from 0 to {@link MAX_SEQUENCE}).
 *
 * @example
 * ```ts
 * import { isValidSequence } from "./sequence_number.ts";
 * isValidSequence(0); // true
 * isValidSequence(2 ** 53); // false
 * isValidSequence(1.5); // false
 * ```
 */
export function isValidSequence(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads the canonical decimal in `bytes[start, end)`; undefined when it is not one.
 *
 * @example
 * ```ts
 * import { parseSequence } from "./sequence_number.ts";
 * const bytes = new TextEncoder().encode("SUB news 42");
 * parseSequence(bytes, 9); // 42
 * parseSequence(new TextEncoder().encode("042")); // undefined: a leading zero
 * parseSequence(new TextEncoder().encode("9007199254740992")); // undefined: 2^53
 * ```
 */
export function parseSequence(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): number | undefined {
  const length = end - start;
  if (length <= 0 || length > MAX_DIGITS || end > bytes.length) return undefined;
  if (bytes[start] === ZERO && length > 1) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte < ZERO || byte > NINE) return undefined;
    // Exact below 2^53; a larger true value rounds to 2^53 or more, which the check below refuses.
    value = value * 10 + (byte - ZERO);
  }
  return value <= MAX_SEQUENCE ? value : undefined;
}
