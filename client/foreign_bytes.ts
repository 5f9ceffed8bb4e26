/**
 * Recognising a server that is not a tlspush message port from the first bytes it sends:
 * an HTTP response (the client was pointed at the HTTPS/WebSocket port) or a TLS record
 * (a `--plain` client talking to a TLS server, whose alert it receives). Read as frames, those
 * bytes give baffling errors ("HTTP" is a length of 1347703880 bytes; a 7-byte TLS alert is a
 * cut-off frame), so the stream session asks here first.
 *
 * @example
 * ```ts
 * import { FirstBytes } from "./foreign_bytes.ts";
 * import { readFrames } from "../protocol/frame_reader.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * const source = new FirstBytes(conn, { where: "127.0.0.1:9002", plain: true });
 * for await (const payload of readFrames(source)) console.log(payload.length);
 * ```
 * @module
 */
import type { ByteSource } from "../protocol/frame_reader.ts";
import { ProtocolMismatchError } from "./errors.ts";

/** How many leading bytes are kept: enough for `HTTP/` and a TLS record header. */
const KEPT = 8;

/** `HTTP/` in ASCII: the start of every HTTP/1.x response. */
const HTTP = [0x48, 0x54, 0x54, 0x50, 0x2f];

/**
 * What the first bytes of a stream look like: `http`, `tls`, or undefined (nothing known,
 * or too few bytes to tell).
 *
 * @example
 * ```ts
 * import { recognize } from "./foreign_bytes.ts";
 * recognize(new TextEncoder().encode("HTTP/1.1 400 Bad Request")); // "http"
 * recognize(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])); // "tls": an alert
 * recognize(new Uint8Array([2, 0, 0, 0, 0x68, 0x69])); // undefined: a frame
 * ```
 */
export function recognize(bytes: Uint8Array): "http" | "tls" | undefined {
  if (bytes.length >= HTTP.length && HTTP.every((byte, i) => bytes[i] === byte)) return "http";
  // A TLS record: content type 20 to 23 (change_cipher_spec, alert, handshake, data), then
  // version 3.x.
  if (bytes.length >= 3 && bytes[0] >= 0x14 && bytes[0] <= 0x17 && bytes[1] === 0x03) {
    return bytes[2] <= 0x04 ? "tls" : undefined;
  }
  return undefined;
}

/**
 * A byte source that keeps the first bytes read, and throws {@link ProtocolMismatchError} as
 * soon as they are an HTTP response: no framing (not even a line) makes sense of that.
 *
 * @example
 * ```ts
 * import { FirstBytes } from "./foreign_bytes.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9003 });
 * const source = new FirstBytes(conn, { where: "127.0.0.1:9003", plain: true });
 * await source.read(new Uint8Array(1024)); // throws: 127.0.0.1:9003 is an HTTP port, ...
 * ```
 */
export class FirstBytes implements ByteSource {
  readonly #source: ByteSource;
  readonly #where: string;
  readonly #plain: boolean;
  #kept = new Uint8Array(0);

  /** Reads from `source`, a connection to `where` (`host:port`), over TLS unless `plain`. */
  constructor(source: ByteSource, target: { where: string; plain: boolean }) {
    this.#source = source;
    this.#where = target.where;
    this.#plain = target.plain;
  }

  /** The first bytes read (up to 8). */
  get bytes(): Uint8Array {
    return this.#kept;
  }

  /** Reads like the source; throws for an HTTP response. */
  async read(buffer: Uint8Array): Promise<number | null> {
    const count = await this.#source.read(buffer);
    if (count !== null && this.#kept.length < KEPT) {
      const kept = new Uint8Array(Math.min(KEPT, this.#kept.length + count));
      kept.set(this.#kept);
      kept.set(buffer.subarray(0, kept.length - this.#kept.length), this.#kept.length);
      this.#kept = kept;
      if (recognize(kept) === "http") throw this.mismatch("http");
    }
    return count;
  }

  /** The error that says what the server at the other end speaks instead. */
  mismatch(kind: "http" | "tls"): ProtocolMismatchError {
    return kind === "http"
      ? new ProtocolMismatchError(
        `${this.#where} answered in HTTP: it is an HTTP(S) port (the server's --ws-port?), not ` +
          `the message port (--port, default 9002); for WebSocket use ` +
          `--url ${this.#plain ? "ws" : "wss"}://${this.#where}/ws`,
      )
      : new ProtocolMismatchError(
        `${this.#where} answered with a TLS record: the server speaks TLS: drop --plain`,
      );
  }
}
