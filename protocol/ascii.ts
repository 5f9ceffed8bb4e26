/**
 * ASCII in and out of byte buffers, without a `TextEncoder` round trip: the v2 commands and
 * replies are ASCII apart from their data, so their fixed parts are written and read byte by
 * byte.
 *
 * @example
 * ```ts
 * import { decodeAscii, writeAscii } from "./ascii.ts";
 * const bytes = new Uint8Array(8);
 * const end = writeAscii(bytes, 0, "OK SUB"); // 6
 * decodeAscii(bytes, 0, end); // "OK SUB"
 * ```
 * @module
 */

/**
 * Writes `text` (ASCII only: each UTF-16 unit becomes one byte, truncated to 8 bits) into
 * `target` at `offset`; returns the offset after it.
 *
 * @example
 * ```ts
 * import { writeAscii } from "./ascii.ts";
 * const bytes = new Uint8Array(4);
 * writeAscii(bytes, writeAscii(bytes, 0, "MS"), "G "); // 4
 * ```
 */
export function writeAscii(target: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i);
  return offset + text.length;
}

/**
 * Reads `bytes[start, end)` as one character per byte (Latin-1, which is ASCII for ASCII bytes).
 *
 * @example
 * ```ts
 * import { decodeAscii } from "./ascii.ts";
 * decodeAscii(new Uint8Array([0x53, 0x55, 0x42, 0x20, 0x6e]), 0, 3); // "SUB"
 * ```
 */
export function decodeAscii(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/**
 * True when `bytes[start, end)` holds exactly the ASCII `text`.
 *
 * @example
 * ```ts
 * import { asciiEquals } from "./ascii.ts";
 * const bytes = new TextEncoder().encode("HELLO tlspush/2");
 * asciiEquals(bytes, 6, bytes.length, "tlspush/2"); // true
 * ```
 */
export function asciiEquals(bytes: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length || end > bytes.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[start + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}
