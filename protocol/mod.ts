/**
 * The tlspush wire protocol: framing, the frame decoder and reader, strict UTF-8, errors.
 *
 * @example
 * ```ts
 * import { encodeFrame, readFrames } from "./mod.ts";
 * ```
 * @module
 */
export * from "./bytes.ts";
export * from "./errors.ts";
export * from "./frame_decoder.ts";
export * from "./frame_reader.ts";
export * from "./framing.ts";
export * from "./utf8.ts";
