/**
 * The few libc socket calls tlspush makes through FFI where Deno exposes no API: `getsockname`
 * and `getpeername` (to find a listener's or a connection's descriptor), `shutdown` (to close a
 * socket Deno will not close) and `setsockopt` (Nagle off, reuseport steering). Loaded once per
 * process; unavailable off Linux or without `--allow-ffi`, with the reason in words.
 *
 * @example
 * ```ts
 * import { loadSocketCalls } from "./socket_calls.ts";
 * const calls = loadSocketCalls();
 * if (!calls.libc) console.warn(`cannot reach sockets: ${calls.reason}`);
 * ```
 * @module
 */

/** The descriptor scans' address family codes (Linux). */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;
/** fds are handed out lowest first: this many non-sockets in a row means we are past the last. */
export const FD_GAP_LIMIT = 1024;

const SYMBOLS = {
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const;

/**
 * The loaded calls.
 *
 * @example
 * ```ts
 * import type { SocketCalls } from "./socket_calls.ts";
 * function shut(calls: SocketCalls, fd: number): boolean {
 *   return calls.symbols.shutdown(fd, 2) === 0;
 * }
 * ```
 */
export type SocketCalls = Deno.DynamicLibrary<typeof SYMBOLS>;

/** The calls, or why they cannot be had here. */
export type SocketCallsLoad = { libc: SocketCalls; reason?: undefined } | {
  libc?: undefined;
  reason: string;
};

let loaded: SocketCallsLoad | undefined;

/**
 * Loads the calls (once per process).
 *
 * @example
 * ```ts
 * import { loadSocketCalls } from "./socket_calls.ts";
 * const { libc, reason } = loadSocketCalls();
 * console.log(libc ? "FFI socket calls available" : reason);
 * ```
 */
export function loadSocketCalls(): SocketCallsLoad {
  if (loaded) return loaded;
  if (Deno.build.os !== "linux") return loaded = { reason: "this needs Linux" };
  try {
    return loaded = { libc: Deno.dlopen("libc.so.6", SYMBOLS) };
  } catch (error) {
    return loaded = { reason: `this needs --allow-ffi (${(error as Error).name})` };
  }
}

/**
 * A pass over this process's descriptors, reading each IP socket's local (or peer) address into
 * one buffer. Every fd up to the highest socket of the last full pass is looked at: sockets
 * closed since can leave a gap wider than {@link FD_GAP_LIMIT} below ones still open (a flood
 * dropped in two sweeps did). Beyond it, new fds are handed out lowest first, so the gap rule
 * holds.
 *
 * @example
 * ```ts
 * import { loadSocketCalls, SocketScan } from "./socket_calls.ts";
 * const { libc } = loadSocketCalls();
 * if (libc) {
 *   const scan = new SocketScan(libc);
 *   scan.each((fd) => {
 *     console.log(fd, scan.port); // each IP socket and its local port
 *     return false; // go on
 *   });
 * }
 * ```
 */
export class SocketScan {
  /** The address last read (a `sockaddr_in` or `sockaddr_in6`). */
  readonly address: Uint8Array = new Uint8Array(128);
  /** A view of {@link address}. */
  readonly view: DataView = new DataView(this.address.buffer);
  readonly #libc: SocketCalls;
  readonly #length = new Uint32Array(1);
  readonly #lengthBytes = new Uint8Array(this.#length.buffer);
  /** The highest fd that was a socket in the last pass over them all. */
  #highest = 0;

  /** Scans with these calls. */
  constructor(libc: SocketCalls) {
    this.#libc = libc;
  }

  /** Calls `visit` with each IP socket's fd, its local address just read, until it says stop. */
  each(visit: (fd: number) => boolean): void {
    let gap = 0;
    let highest = 0;
    for (let fd = 3; fd <= this.#highest || gap < FD_GAP_LIMIT; fd++) {
      if (!this.read(fd, "getsockname")) {
        gap++;
        continue;
      }
      gap = 0;
      highest = fd;
      if (visit(fd)) {
        this.#highest = Math.max(this.#highest, highest);
        return;
      }
    }
    this.#highest = highest;
  }

  /**
   * Reads the address bound to (`getsockname`) or connected to (`getpeername`) `fd`; false if
   * `fd` is not an IP socket (or not connected).
   */
  read(fd: number, call: "getsockname" | "getpeername"): boolean {
    this.#length[0] = this.address.length;
    if (this.#libc.symbols[call](fd, this.address, this.#lengthBytes) !== 0) return false;
    const family = this.view.getUint16(0, true);
    return family === AF_INET || family === AF_INET6;
  }

  /** The port of the address last read. */
  get port(): number {
    return this.view.getUint16(2, false);
  }
}
