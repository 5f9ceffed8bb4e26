/**
 * A `node:tls` socket seen as a `Deno.TlsConn` (the calls tlspush uses: `read`, `write`,
 * `closeWrite`, `close`, `handshake`, the addresses), so that the code that serves or drives a
 * connection does not care which TLS stack made it. `node:tls` is used where Deno's own cannot
 * do the job: a server that requests client certificates (denoland/deno#26825) and a client
 * that presents one with Nagle off (denoland/deno#21496).
 *
 * @example
 * ```ts
 * import tls from "node:tls";
 * import { NodeSocketConn } from "./node_socket_conn.ts";
 * const socket = tls.connect({ host: "localhost", port: 9002, ca: await Deno.readTextFile("certs/ca.pem") });
 * const conn = new NodeSocketConn(socket, "secureConnect");
 * await conn.handshake();
 * await conn.write(new TextEncoder().encode("hi"));
 * ```
 * @module
 */
import type { TLSSocket } from "node:tls";

/** Chunks read ahead before the socket is paused. */
const READ_AHEAD_CHUNKS = 16;

/**
 * Adapts one `node:tls` socket.
 *
 * @example
 * ```ts
 * import type { TLSSocket } from "node:tls";
 * import { NodeSocketConn } from "./node_socket_conn.ts";
 * function asConn(socket: TLSSocket): Deno.TlsConn {
 *   return new NodeSocketConn(socket, "ready").asTlsConn();
 * }
 * ```
 */
export class NodeSocketConn {
  readonly #socket: TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  readonly #handshake: Promise<Deno.TlsHandshakeInfo>;
  #waiting: PromiseWithResolvers<void> | undefined;
  #ended = false;
  #error: Error | undefined;
  #closed = false;

  /**
   * Wraps `socket`; `ready` says whether it is already secure (accepted by a `tls.Server`) or
   * when it will be (`"secureConnect"` for a client).
   */
  constructor(socket: TLSSocket, ready: "ready" | "secureConnect") {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      if (this.#chunks.length >= READ_AHEAD_CHUNKS) socket.pause();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    const info = (): Deno.TlsHandshakeInfo => ({
      alpnProtocol: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
    });
    this.#handshake = ready === "ready"
      ? Promise.resolve(info())
      : new Promise((resolve, reject) => {
        socket.once("secureConnect", () => resolve(info()));
        socket.once("error", reject);
        socket.once("close", () => reject(this.#error ?? new Error("connection closed")));
      });
    this.#handshake.catch(() => {});
  }

  /** The underlying socket (for its peer certificate). */
  get socket(): TLSSocket {
    return this.#socket;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    return netAddr(this.#socket.remoteAddress, this.#socket.remotePort);
  }

  /** This end's address. */
  get localAddr(): Deno.NetAddr {
    return netAddr(this.#socket.localAddress, this.#socket.localPort);
  }

  /** Resolves once TLS is established, with the ALPN protocol agreed. */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#handshake;
  }

  /** Reads into `buffer`: the byte count, or null at the end of the stream. */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended || this.#closed) return null;
      this.#waiting = Promise.withResolvers<void>();
      await this.#waiting.promise;
    }
    const chunk = this.#chunks[0];
    const count = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, count));
    if (count === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(count);
    if (this.#chunks.length < READ_AHEAD_CHUNKS / 2) this.#socket.resume();
    return count;
  }

  /** Writes all of `data`; resolves once the socket has taken it. */
  write(data: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(
        data,
        (error?: Error | null) => error ? reject(error) : resolve(data.length),
      );
    });
  }

  /** Sends TLS close_notify and the end of the stream; reading goes on. */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(() => resolve()));
  }

  /** Closes at once. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("already closed");
    this.#closed = true;
    this.#socket.destroy();
    this.#wake();
  }

  /** This object where a `Deno.TlsConn` is expected (only the calls above are used). */
  asTlsConn(): Deno.TlsConn {
    return this as unknown as Deno.TlsConn;
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve();
  }
}

function netAddr(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: (hostname ?? "").replace(/^::ffff:/, ""), port: port ?? 0 };
}
