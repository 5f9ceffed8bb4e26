/**
 * Named protocol errors. Each one means "this peer broke the wire contract": the server logs
 * the reason and closes that connection only.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError, ProtocolError } from "./errors.ts";
 * const e = new FrameTooLargeError(1 << 30, 1 << 24);
 * console.log(e instanceof ProtocolError, e.message);
 * ```
 * @module
 */

/**
 * Base class of every violation of the wire protocol.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError, ProtocolError } from "./errors.ts";
 * const error: unknown = new FrameTooLargeError(1 << 30, 1 << 24);
 * if (error instanceof ProtocolError) console.error(`protocol error: ${error.message}`);
 * ```
 */
export class ProtocolError extends Error {
  /** Creates a protocol error with a human-readable reason. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A frame header announced more bytes than the configured maximum.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError } from "./errors.ts";
 * const error = new FrameTooLargeError(20_000_000, 16 * 1024 * 1024);
 * error.message; // "frame of 20000000 bytes exceeds the maximum of 16777216"
 * ```
 */
export class FrameTooLargeError extends ProtocolError {
  /** The announced (or, for line framing, already buffered) length. */
  readonly length: number;
  /** The configured maximum payload length. */
  readonly maxFrame: number;
  /** Creates the error from the announced length and the limit. */
  constructor(length: number, maxFrame: number) {
    super(`frame of ${length} bytes exceeds the maximum of ${maxFrame}`);
    this.length = length;
    this.maxFrame = maxFrame;
  }
}

/**
 * A frame header held a negative length.
 *
 * @example
 * ```ts
 * import { NegativeLengthError } from "./errors.ts";
 * new NegativeLengthError(-1).message; // "negative frame length -1"
 * ```
 */
export class NegativeLengthError extends ProtocolError {
  /** The negative length read from the header. */
  readonly length: number;
  /** Creates the error from the length read. */
  constructor(length: number) {
    super(`negative frame length ${length}`);
    this.length = length;
  }
}

/**
 * A payload was not valid UTF-8.
 *
 * @example
 * ```ts
 * import { InvalidUtf8Error } from "./errors.ts";
 * new InvalidUtf8Error().name; // "InvalidUtf8Error"
 * ```
 */
export class InvalidUtf8Error extends ProtocolError {
  /** Creates the error. */
  constructor() {
    super("payload is not valid UTF-8");
  }
}

/**
 * The peer ended the stream in the middle of a frame (it vanished mid-frame).
 *
 * @example
 * ```ts
 * import { TruncatedFrameError } from "./errors.ts";
 * const error = new TruncatedFrameError(6); // a 4-byte header and 2 bytes of payload arrived
 * error.received; // 6
 * ```
 */
export class TruncatedFrameError extends ProtocolError {
  /** Bytes of the unfinished frame that did arrive (header included). */
  readonly received: number;
  /** Creates the error from the number of bytes that did arrive. */
  constructor(received: number) {
    super(`connection ended in the middle of a frame (${received} bytes of it arrived)`);
    this.received = received;
  }
}

/**
 * A message cannot be expressed in the chosen framing (a newline inside a line frame).
 *
 * @example
 * ```ts
 * import { UnframeableMessageError } from "./errors.ts";
 * throw new UnframeableMessageError("a message containing a newline cannot be a line frame");
 * ```
 */
export class UnframeableMessageError extends ProtocolError {
  /** Creates the error with the reason. */
  constructor(reason: string) {
    super(reason);
  }
}
