/**
 * The framings tlspush speaks and how one message becomes one frame on the wire.
 *
 * - `le32` (default): signed 32-bit little-endian payload length, then the payload.
 * - `be32`: the same with the length in network byte order.
 * - `line`: the UTF-8 text followed by `\n` (so `openssl s_client` can be a client).
 *
 * A frame is always built as one buffer, header and payload together, so it goes out in one
 * write (Deno's TLS connections cannot turn Nagle off).
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * encodeFrame("hi"); // Uint8Array [2, 0, 0, 0, 104, 105]
 * ```
 * @module
 */
import { UnframeableMessageError } from "./errors.ts";
import { encodeUtf8 } from "./utf8.ts";

/** The wire framings. */
export type Framing = "le32" | "be32" | "line";

/**
 * Every framing, for flag validation.
 *
 * @example
 * ```ts
 * import { FRAMINGS } from "./framing.ts";
 * FRAMINGS.includes("be32"); // true
 * ```
 */
export const FRAMINGS: readonly Framing[] = ["le32", "be32", "line"];

/**
 * Size of the length header of the binary framings.
 *
 * @example
 * ```ts
 * import { encodeFrame, HEADER_BYTES } from "./framing.ts";
 * encodeFrame("hi").length === HEADER_BYTES + 2; // true
 * ```
 */
export const HEADER_BYTES = 4;

/**
 * Default maximum payload size: 16 MiB.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * import { DEFAULT_MAX_FRAME } from "./framing.ts";
 * const decoder = new FrameDecoder({ maxFrame: DEFAULT_MAX_FRAME }); // 16777216 bytes
 * ```
 */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

/**
 * The largest length a signed 32-bit header can carry.
 *
 * @example
 * ```ts
 * import { MAX_HEADER_LENGTH } from "./framing.ts";
 * MAX_HEADER_LENGTH === 2 ** 31 - 1; // true: the largest --max-frame
 * ```
 */
export const MAX_HEADER_LENGTH = 0x7fff_ffff;

const NEWLINE = 0x0a;

/**
 * Encodes one message (text or UTF-8 bytes) as one frame in a single buffer.
 * Throws {@link UnframeableMessageError} for a newline inside a `line` frame.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * encodeFrame("hi", "be32"); // Uint8Array [0, 0, 0, 2, 104, 105]
 * encodeFrame("hi", "line"); // Uint8Array [104, 105, 10]
 * ```
 */
export function encodeFrame(message: string | Uint8Array, framing: Framing = "le32"): Uint8Array {
  const payload = typeof message === "string" ? encodeUtf8(message) : message;
  if (framing === "line") {
    if (payload.includes(NEWLINE)) {
      throw new UnframeableMessageError("a message containing a newline cannot be a line frame");
    }
    const frame = new Uint8Array(payload.length + 1);
    frame.set(payload);
    frame[payload.length] = NEWLINE;
    return frame;
  }
  const frame = new Uint8Array(HEADER_BYTES + payload.length);
  new DataView(frame.buffer).setInt32(0, payload.length, framing === "le32");
  frame.set(payload, HEADER_BYTES);
  return frame;
}
