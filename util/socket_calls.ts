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
