/**
 * Channel names of protocol v2: 1 to 128 bytes of `A-Z a-z 0-9 _ - . : /` (ASCII only, so a
 * name's length in characters is its length in bytes), and the `broadcast` channel that every
 * v1 client receives.
 *
 * @example
 * ```ts
 * import { BROADCAST_CHANNEL, isValidChannel } from "./channel.ts";
 * isValidChannel("metrics/cpu:0"); // true
 * isValidChannel("météo"); // false: ASCII only
 * isValidChannel(BROADCAST_CHANNEL); // true
 * ```
 * @module
 */

/**
 * The longest channel name, in bytes.
 *
 * @example
 * ```ts
 * import { isValidChannel, MAX_CHANNEL_BYTES } from "./channel.ts";
 * isValidChannel("x".repeat(MAX_CHANNEL_BYTES)); // true
 * isValidChannel("x".repeat(MAX_CHANNEL_BYTES + 1)); // false
 * ```
 */
export const MAX_CHANNEL_BYTES = 128;

/**
 * The channel of operator broadcasts (stdin, dashboard, the publish API without a channel), which
 * every v1 client receives and a v2 client receives when subscribed.
 *
 * @example
 * ```ts
 * import { BROADCAST_CHANNEL } from "./channel.ts";
 * const channel = new URLSearchParams("").get("channel") ?? BROADCAST_CHANNEL; // "broadcast"
 * ```
 */
export const BROADCAST_CHANNEL = "broadcast";

/**
 * The rule in words, for error texts and help output.
 *
 * @example
 * ```ts
 * import { CHANNEL_RULE } from "./channel.ts";
 * console.error(`bad channel: ${CHANNEL_RULE}`);
 * ```
 */
export const CHANNEL_RULE = "channel names are 1 to 128 bytes of A-Z a-z 0-9 _ - . : /";

/** 1 for every byte allowed in a channel name. */
const ALLOWED: Uint8Array = (() => {
  const table = new Uint8Array(256);
  const allow = (from: string, to: string) => {
    for (let code = from.charCodeAt(0); code <= to.charCodeAt(0); code++) table[code] = 1;
  };
  allow("A", "Z");
  allow("a", "z");
  allow("0", "9");
  for (const char of "_-.:/") table[char.charCodeAt(0)] = 1;
  return table;
})();

/**
 * True when `code` (a byte, or a UTF-16 code unit) may appear in a channel name.
 *
 * @example
 * ```ts
 * import { isChannelCharCode } from "./channel.ts";
 * isChannelCharCode("/".charCodeAt(0)); // true
 * isChannelCharCode(" ".charCodeAt(0)); // false
 * ```
 */
export function isChannelCharCode(code: number): boolean {
  return code < 256 && ALLOWED[code] === 1;
}

/**
 * True when `name` is a valid channel name.
 *
 * @example
 * ```ts
 * import { isValidChannel } from "./channel.ts";
 * isValidChannel("tenant-7/orders.eu"); // true
 * isValidChannel(""); // false: at least one byte
 * isValidChannel("a b"); // false: no spaces
 * isValidChannel("metrics.*"); // false: a pattern, not a name
 * ```
 */
export function isValidChannel(name: string): boolean {
  const length = name.length;
  if (length === 0 || length > MAX_CHANNEL_BYTES) return false;
  for (let i = 0; i < length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 256 || ALLOWED[code] !== 1) return false;
  }
  return true;
}

/**
 * True when `bytes[start, end)` is a valid channel name (the form the command parser sees).
 *
 * @example
 * ```ts
 * import { isValidChannelBytes } from "./channel.ts";
 * const payload = new TextEncoder().encode("SUB news");
 * isValidChannelBytes(payload, 4, payload.length); // true
 * ```
 */
export function isValidChannelBytes(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): boolean {
  const length = end - start;
  if (length <= 0 || length > MAX_CHANNEL_BYTES) return false;
  for (let i = start; i < end; i++) {
    if (ALLOWED[bytes[i]] !== 1) return false;
  }
  return true;
}
