/**
 * The length-prefix reader as async iterators over a connection's bytes.
 *
 * `readFrameBatches` is the hot path: it reads straight into the decoder's buffer and yields
 * every frame one read completed, plus their contiguous wire bytes. `readFrames` yields one
 * payload at a time as a copy the caller may keep.
 *
 * A clean end of stream ends the iteration; an end in the middle of a frame throws
 * `TruncatedFrameError`; any other violation throws its named `ProtocolError` after the valid
 * frames before it were yielded.
 *
 * @example
 * ```ts
 * import { readFrames } from "./frame_reader.ts";
 * const conn = await Deno.connect({ port: 9002 });
 * for await (const payload of readFrames(conn)) console.log(payload.length);
 * ```
 * @module
 */
import { type FrameBatch, FrameDecoder, type FrameDecoderOptions } from "./frame_decoder.ts";

/** Anything bytes can be read from, as `Deno.Conn` is. */
export interface ByteSource {
  /** Reads into `buffer`; resolves to the count read, or null at end of stream. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * Yields each non-empty batch of complete frames; views are valid until the next iteration.
 * Pass your own `decoder` to use its {@link FrameDecoder.takeWire} on each batch.
 *
 * @example
 * ```ts
 * import { readFrameBatches } from "./frame_reader.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * for await (const { payloads, wire } of readFrameBatches(conn, { framing: "be32" })) {
 *   console.log(`${payloads.length} frames in ${wire.length} bytes`);
 * }
 * ```
 */
export async function* readFrameBatches(
  source: ByteSource,
  options: FrameDecoderOptions = {},
  decoder: FrameDecoder = new FrameDecoder(options),
): AsyncGenerator<FrameBatch, void, undefined> {
  while (true) {
    const count = await source.read(decoder.readTarget());
    if (count === null) {
      decoder.finish();
      return;
    }
    const batch = decoder.commit(count);
    if (batch.payloads.length > 0) yield batch;
    if (batch.error) throw batch.error;
  }
}

/**
 * Yields each payload, copied, in order.
 *
 * @example
 * ```ts
 * import { readFrames } from "./frame_reader.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * for await (const payload of readFrames(conn, { maxFrame: 1 << 20 })) {
 *   console.log(new TextDecoder().decode(payload));
 * }
 * ```
 */
export async function* readFrames(
  source: ByteSource,
  options: FrameDecoderOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const batch of readFrameBatches(source, options)) {
    for (const payload of batch.payloads) yield payload.slice();
  }
}
