/**
 * Strict UTF-8: invalid bytes are a protocol error, never U+FFFD.
 *
 * @example
 * ```ts
 * import { decodeUtf8, isValidUtf8 } from "./utf8.ts";
 * isValidUtf8(new Uint8Array([0xc3])); // false: a lone lead byte
 * decodeUtf8(new Uint8Array([0x68, 0x69])); // "hi"
 * ```
 * @module
 */
import { isAscii as nativeIsAscii, isUtf8 } from "node:buffer";
import { InvalidUtf8Error } from "./errors.ts";

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Below this size a plain ASCII scan beats the call into the native validator. */
const ASCII_SCAN_LIMIT = 128;

/**
 * True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or truncated sequences).
 *
 * @example
 * ```ts
 * import { isValidUtf8 } from "./utf8.ts";
 * isValidUtf8(new Uint8Array([0xe2, 0x82, 0xac])); // true: "€"
 * isValidUtf8(new Uint8Array([0xc0, 0x80])); // false: an overlong NUL
 * ```
 */
export function isValidUtf8(bytes: Uint8Array): boolean {
  if (bytes.length <= ASCII_SCAN_LIMIT) {
    let i = 0;
    while (i < bytes.length && bytes[i] < 0x80) i++;
    if (i === bytes.length) return true;
  }
  return isUtf8(bytes);
}

/**
 * True when every byte is below 0x80 (one native pass; ASCII is always valid UTF-8).
 *
 * @example
 * ```ts
 * import { isAscii } from "./utf8.ts";
 * isAscii(new TextEncoder().encode("hello")); // true
 * isAscii(new TextEncoder().encode("héllo")); // false
 * ```
 */
export function isAscii(bytes: Uint8Array): boolean {
  return nativeIsAscii(bytes);
}

/**
 * Decodes UTF-8 strictly; throws {@link InvalidUtf8Error} on any invalid byte.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8.ts";
 * decodeUtf8(new Uint8Array([0xe2, 0x82, 0xac])); // "€"
 * decodeUtf8(new Uint8Array([0xff])); // throws InvalidUtf8Error
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new InvalidUtf8Error();
  }
}

/**
 * Encodes text as UTF-8 (no BOM).
 *
 * @example
 * ```ts
 * import { encodeUtf8 } from "./utf8.ts";
 * encodeUtf8("€"); // Uint8Array [226, 130, 172]
 * ```
 */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Bytes of `text` in UTF-8, without encoding it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 * utf8Length("héllo 🚀"); // 11
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
