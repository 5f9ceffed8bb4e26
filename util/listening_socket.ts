/**
 * The listening sockets of a port, found by their descriptors through FFI, and socket options
 * set on them: what Deno's listeners do not expose.
 *
 * Linux copies a listening socket's TCP options to the connections it accepts, so
 * `TCP_NODELAY` set on a listener turns Nagle off for every connection it hands out; neither
 * `Deno.TlsConn` nor `Deno.serve` can do that per connection. With Nagle on, a small write
 * that follows another one still unacknowledged waits for the peer's delayed ACK, about 40 ms:
 * measured here, 30 keep-alive HTTPS requests with a 6 KB answer took 1.37 s from curl with
 * Nagle on the server and 0.06 s without.
 *
 * This needs Linux and `--allow-ffi`; elsewhere {@link ListeningSockets.available} is false.
 *
 * @example
 * ```ts
 * import { ListeningSockets } from "./listening_socket.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * new ListeningSockets().setNoDelay(listener.addr.port); // 1: one listening socket
 * ```
 * @module
 */

import { loadSocketCalls, type SocketCalls, SocketScan } from "./socket_calls.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

/**
 * Finds a port's listening sockets and sets options on them.
 *
 * @example
 * ```ts
 * import { ListeningSockets } from "./listening_socket.ts";
 * const sockets = new ListeningSockets();
 * if (!sockets.available) console.warn(sockets.unavailableReason);
 * ```
 */
export class ListeningSockets {
  readonly #libc: SocketCalls | undefined;
  readonly #scan: SocketScan | undefined;
  /** Why the sockets cannot be reached here, if they cannot. */
  readonly unavailableReason: string | undefined;

  /** Loads libc when the platform and permissions allow it. */
  constructor() {
    const { libc, reason } = loadSocketCalls();
    this.#libc = libc;
    this.#scan = libc && new SocketScan(libc);
    this.unavailableReason = reason && `reaching a listener's socket: ${reason}`;
  }

  /** Whether the sockets can be reached here. */
  get available(): boolean {
    return this.#libc !== undefined;
  }

  /** The descriptors bound to `port` with no peer: its listening sockets (several when shared). */
  of(port: number): number[] {
    const scan = this.#scan;
    if (!scan) return [];
    const found: number[] = [];
    scan.each((fd) => {
      if (scan.port === port && !scan.read(fd, "getpeername")) found.push(fd);
      return false;
    });
    return found;
  }

  /** `setsockopt(fd, level, name, value)`; whether it worked. */
  setOption(fd: number, level: number, name: number, value: Uint8Array): boolean {
    const libc = this.#libc;
    return libc !== undefined &&
      libc.symbols.setsockopt(fd, level, name, value, value.length) === 0;
  }

  /**
   * Turns Nagle off on every listening socket of `port`, and so on the connections they
   * accept from now on; returns on how many sockets it worked.
   */
  setNoDelay(port: number): number {
    const on = new Uint8Array(new Int32Array([1]).buffer);
    return this.of(port).filter((fd) => this.setOption(fd, IPPROTO_TCP, TCP_NODELAY, on)).length;
  }
}
