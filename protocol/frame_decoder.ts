/**
 * The frame decoder: a state machine over bytes that turns whatever TCP delivers (one byte at a
 * time, or many frames in one read) into whole frames.
 *
 * It owns its read buffer so that a connection reads straight into it (no copy on the way in)
 * and the complete frames of one read are handed out as views, together with their contiguous
 * wire bytes, so the server can echo them all with one write. The buffer starts small, grows
 * while reads keep filling it, fits one large frame exactly (the header says how large), and
 * shrinks back when the connection goes quiet, so thousands of idle connections stay cheap.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * import { encodeFrame } from "./framing.ts";
 * const decoder = new FrameDecoder();
 * const batch = decoder.push(encodeFrame("hello"));
 * new TextDecoder().decode(batch.payloads[0]); // "hello"
 * ```
 * @module
 */
import { concatBytes } from "./bytes.ts";
import {
  FrameTooLargeError,
  InvalidUtf8Error,
  NegativeLengthError,
  type ProtocolError,
  TruncatedFrameError,
} from "./errors.ts";
import { DEFAULT_MAX_FRAME, type Framing, HEADER_BYTES } from "./framing.ts";
import { isAscii, isValidUtf8 } from "./utf8.ts";

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes (default 16 MiB). */
  maxFrame?: number;
  /** Wire framing (default `le32`). */
  framing?: Framing;
  /** Reject payloads that are not UTF-8 (default true). */
  validateUtf8?: boolean;
  /** Size of the read buffer of a quiet connection (default 4 KiB). */
  initialBufferSize?: number;
  /** The read buffer grows up to this while reads keep filling it (default 256 KiB). */
  maxReadBufferSize?: number;
}

/** The complete frames that one read finished. */
export interface FrameBatch {
  /**
   * Payloads in order. Views into the decoder's buffer: valid until its next read. Empty when
   * the batch was committed without views ({@link FrameDecoder.commit}), unless the batch
   * needed them to be checked.
   */
  readonly payloads: Uint8Array[];
  /** How many complete frames the batch holds (with or without views). */
  readonly frames: number;
  /** Their payload bytes in all. */
  readonly bytes: number;
  /** Wire bytes of exactly those frames, contiguous (same lifetime as `payloads`). */
  readonly wire: Uint8Array;
  /** Set when a protocol error followed those frames; the decoder accepts nothing more. */
  readonly error?: ProtocolError;
}

const NEWLINE = 0x0a;
/** The payloads of a batch committed without views. */
const NO_VIEWS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const CARRIAGE_RETURN = 0x0d;
/** Small reads in a row after which a grown read buffer shrinks back. */
const SMALL_READS_BEFORE_SHRINK = 4;
/** Compact before reading when less than this is free behind the buffered bytes. */
const MIN_READ_ROOM = 1024;

/**
 * Incremental decoder of one connection's byte stream into frames.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * const decoder = new FrameDecoder({ framing: "le32", maxFrame: 1 << 20 });
 * const count = await conn.read(decoder.readTarget());
 * if (count !== null) console.log(decoder.commit(count).payloads.length);
 * ```
 */
export class FrameDecoder {
  readonly #maxFrame: number;
  readonly #framing: Framing;
  readonly #validateUtf8: boolean;
  readonly #initialSize: number;
  readonly #maxReadSize: number;
  #buffer: Uint8Array;
  #view: DataView;
  #start = 0;
  #end = 0;
  #lastReadFilled = false;
  /** Consecutive reads that used under a quarter of the buffer. */
  #smallReads = 0;
  #failed: ProtocolError | undefined;
  /** Where the last batch's wire bytes lie in the buffer. */
  #lastWireStart = 0;
  #lastWireEnd = 0;
  /** The buffer was handed to the caller by {@link takeWire}: the next read needs a new one. */
  #surrendered = false;
  /** How much of the unfinished line (line framing) has been searched for its newline. */
  #lineScanned = 0;
  /** The last {@link readTarget}, handed out again while buffer and end are unchanged. */
  #target: Uint8Array | undefined;
  #targetOf: Uint8Array | undefined;
  #targetEnd = -1;

  /** Creates a decoder; see {@link FrameDecoderOptions} for the defaults. */
  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    this.#framing = options.framing ?? "le32";
    this.#validateUtf8 = options.validateUtf8 ?? true;
    this.#initialSize = Math.max(64, options.initialBufferSize ?? 4096);
    this.#maxReadSize = Math.max(this.#initialSize, options.maxReadBufferSize ?? 256 * 1024);
    this.#buffer = new Uint8Array(this.#initialSize);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Bytes received that do not yet form a complete frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Current size of the read buffer (what this connection costs in memory). */
  get capacity(): number {
    return this.#buffer.length;
  }

  /**
   * The free space to read into next. Read into it, then call {@link commit} with the count.
   * Views handed out by earlier batches are invalid from here on.
   */
  readTarget(): Uint8Array {
    if (this.#failed) throw this.#failed;
    this.#makeRoom();
    // One frame per read (the common case) reads at offset 0 of the same buffer every time.
    if (this.#targetOf === this.#buffer && this.#targetEnd === this.#end) return this.#target!;
    this.#targetOf = this.#buffer;
    this.#targetEnd = this.#end;
    return this.#target = this.#buffer.subarray(this.#end);
  }

  /**
   * Accounts for `count` bytes just read into {@link readTarget} and returns the frames completed.
   * With `views` false (length-prefixed framing) the batch gives only their number, bytes and
   * wire: no view per payload is made, unless the UTF-8 check needs them.
   */
  commit(count: number, views = true): FrameBatch {
    if (this.#failed) throw this.#failed;
    this.#lastReadFilled = this.#end + count === this.#buffer.length;
    const readSize = Math.min(this.#buffer.length, this.#maxReadSize);
    this.#smallReads = count < readSize / 4 ? this.#smallReads + 1 : 0;
    this.#end += count;
    return this.#framing === "line" ? this.#parseLines() : this.#parseLengthPrefixed(views);
  }

  /**
   * Feeds a chunk that was read elsewhere (copied in; for tests and adapters). Returns one
   * batch whose payloads are copies, safe to keep.
   */
  push(chunk: Uint8Array): FrameBatch {
    const payloads: Uint8Array[] = [];
    const wire: Uint8Array[] = [];
    let offset = 0;
    let bytes = 0;
    do {
      const target = this.readTarget();
      const count = Math.min(target.length, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + count));
      offset += count;
      const batch = this.commit(count);
      for (const payload of batch.payloads) payloads.push(payload.slice());
      wire.push(batch.wire.slice());
      bytes += batch.bytes;
      if (batch.error) {
        return {
          payloads,
          frames: payloads.length,
          bytes,
          wire: concatBytes(wire),
          error: batch.error,
        };
      }
    } while (offset < chunk.length);
    return { payloads, frames: payloads.length, bytes, wire: concatBytes(wire) };
  }

  /**
   * The last batch's wire bytes as a buffer the caller may keep (e.g. queue for writing). When
   * they fill most of the read buffer (a large frame), the buffer itself is handed over instead
   * of copied, and the decoder reads into a new one next time.
   */
  takeWire(): Uint8Array {
    const start = this.#lastWireStart;
    const end = this.#lastWireEnd;
    if (end - start < this.#buffer.length / 2) return this.#buffer.slice(start, end);
    this.#surrendered = true;
    return this.#buffer.subarray(start, end);
  }

  /** Declares the end of the stream: throws {@link TruncatedFrameError} if a frame is unfinished. */
  finish(): void {
    if (this.#failed) throw this.#failed;
    if (this.#end > this.#start) throw new TruncatedFrameError(this.#end - this.#start);
  }

  #parseLengthPrefixed(views: boolean): FrameBatch {
    const buffer = this.#buffer;
    const littleEndian = this.#framing === "le32";
    const payloads: Uint8Array[] = views ? [] : NO_VIEWS;
    const batchStart = this.#start;
    let position = batchStart;
    let frames = 0;
    let error: ProtocolError | undefined;
    while (this.#end - position >= HEADER_BYTES) {
      const length = this.#view.getInt32(position, littleEndian);
      if (length < 0) {
        error = new NegativeLengthError(length);
        break;
      }
      if (length > this.#maxFrame) {
        error = new FrameTooLargeError(length, this.#maxFrame);
        break;
      }
      const frameEnd = position + HEADER_BYTES + length;
      if (frameEnd > this.#end) break;
      if (views) payloads.push(buffer.subarray(position + HEADER_BYTES, frameEnd));
      frames++;
      position = frameEnd;
    }
    return this.#batch(payloads, frames, batchStart, position, error);
  }

  /** Views of the payloads of the complete length-prefixed frames in `[from, to)`. */
  #viewsOf(from: number, to: number): Uint8Array[] {
    const payloads: Uint8Array[] = [];
    const littleEndian = this.#framing === "le32";
    for (let position = from; position < to;) {
      const end = position + HEADER_BYTES + this.#view.getInt32(position, littleEndian);
      payloads.push(this.#buffer.subarray(position + HEADER_BYTES, end));
      position = end;
    }
    return payloads;
  }

  #parseLines(): FrameBatch {
    const buffer = this.#buffer;
    const payloads: Uint8Array[] = [];
    const batchStart = this.#start;
    let position = batchStart;
    let error: ProtocolError | undefined;
    // Bytes of the unfinished line already searched: a long line is scanned once, not per read.
    let searchFrom = position + this.#lineScanned;
    while (position < this.#end) {
      const found = buffer.subarray(searchFrom, this.#end).indexOf(NEWLINE);
      if (found === -1) {
        this.#lineScanned = this.#end - position;
        if (this.#end - position > this.#maxFrame + 1) {
          error = new FrameTooLargeError(this.#end - position, this.#maxFrame);
        }
        break;
      }
      const newline = searchFrom + found;
      let payloadEnd = newline;
      if (payloadEnd > position && buffer[payloadEnd - 1] === CARRIAGE_RETURN) payloadEnd--;
      const payload = buffer.subarray(position, payloadEnd);
      if (payload.length > this.#maxFrame) {
        error = new FrameTooLargeError(payload.length, this.#maxFrame);
        break;
      }
      payloads.push(payload);
      position = searchFrom = newline + 1;
      this.#lineScanned = 0;
    }
    return this.#batch(payloads, payloads.length, batchStart, position, error);
  }

  #batch(
    payloads: Uint8Array[],
    frames: number,
    batchStart: number,
    position: number,
    error: ProtocolError | undefined,
  ): FrameBatch {
    const header = this.#framing === "line" ? 0 : HEADER_BYTES;
    let wire = this.#buffer.subarray(batchStart, position);
    // One native pass over the whole batch usually proves every payload valid (all ASCII);
    // only otherwise is each payload checked, and the batch cut at the first invalid one.
    if (this.#validateUtf8 && frames > 0 && !isAscii(wire)) {
      if (payloads === NO_VIEWS) payloads = this.#viewsOf(batchStart, position);
      const bad = payloads.findIndex((payload) => !isValidUtf8(payload));
      if (bad !== -1) {
        position = payloads[bad].byteOffset - header;
        payloads.length = frames = bad;
        error = new InvalidUtf8Error();
        wire = this.#buffer.subarray(batchStart, position);
      }
    }
    // Length-prefixed: the payload bytes are the wire bytes but the headers; lines: each
    // payload (a line's "\r\n" or "\n" is not part of it).
    let bytes = wire.length - frames * header;
    if (header === 0) {
      bytes = 0;
      for (const payload of payloads) bytes += payload.length;
    }
    this.#start = position;
    this.#lastWireStart = batchStart;
    this.#lastWireEnd = position;
    if (!error) return { payloads, frames, bytes, wire };
    this.#failed = error;
    return { payloads, frames, bytes, wire, error };
  }

  /** Bytes the unfinished frame at the front needs in all, when its (valid) header says so. */
  #pendingFrameSize(): number | undefined {
    if (this.#framing === "line" || this.#end - this.#start < HEADER_BYTES) return undefined;
    const length = this.#view.getInt32(this.#start, this.#framing === "le32");
    if (length < 0 || length > this.#maxFrame) return undefined; // refused, never allocated
    return HEADER_BYTES + length;
  }

  #makeRoom(): void {
    if (this.#surrendered) {
      this.#surrendered = false;
      const size = this.#buffer.length > this.#maxReadSize
        ? this.#initialSize
        : this.#buffer.length;
      // Room for what is already buffered of the next frame, and to read more.
      this.#resize(Math.max(size, this.#end - this.#start + MIN_READ_ROOM));
    }
    const capacity = this.#buffer.length;
    const pending = this.#end - this.#start;
    if (pending === 0) {
      this.#start = this.#end = 0;
      // Traffic died down (reads keep using under a quarter of a big buffer): give the memory
      // back. Not on one partial read: steady traffic would reallocate back and forth.
      // A buffer made to fit one large frame goes as soon as that frame is out.
      if (
        capacity > this.#maxReadSize ||
        (capacity > this.#initialSize && this.#smallReads >= SMALL_READS_BEFORE_SHRINK)
      ) {
        this.#resize(this.#initialSize);
      } else if (this.#lastReadFilled && capacity < this.#maxReadSize) {
        this.#resize(Math.min(capacity * 2, this.#maxReadSize));
      }
      return;
    }
    const frameSize = this.#pendingFrameSize();
    let wanted = frameSize ?? pending + 1;
    if (this.#lastReadFilled && capacity < this.#maxReadSize) {
      wanted = Math.max(wanted, Math.min(capacity * 2, this.#maxReadSize));
    }
    if (frameSize === undefined && pending === capacity) {
      // A line of unknown length: double, but never past the longest line allowed (+ "\r\n").
      wanted = Math.max(wanted, Math.min(capacity * 2, this.#maxFrame + 2));
    }
    if (wanted > capacity) {
      this.#resize(wanted);
      return;
    }
    const room = capacity - this.#end;
    const short = frameSize !== undefined
      ? this.#start + frameSize > capacity
      : room < MIN_READ_ROOM;
    if (short && this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end = pending;
      this.#start = 0;
    }
  }

  #resize(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = next;
    this.#view = new DataView(next.buffer);
  }
}
