/**
 * A connection reset that nobody listens for must not end the server.
 *
 * A `node:net` socket without an `error` listener turns a reset into an uncaught exception,
 * which ends a Deno program. `@nats-io/transport-node` 3.4.0 removes every listener of its socket
 * between dialling and the end of the NATS handshake, so a server that answers a wrong password
 * and closes (or any reset in that window) would take tlspush down with it (seen about one run in
 * three of the broker tests). This guard swallows exactly those: a system error `ECONNRESET`,
 * `EPIPE` or `ECONNABORTED` from a socket read or write. The library still sees the socket close
 * and reports the failure through its own API; every other uncaught error ends the program as
 * before.
 *
 * @example
 * ```ts
 * import { guardAgainstStrayResets } from "./stray_reset_guard.ts";
 * guardAgainstStrayResets(); // once is enough; later calls do nothing
 * ```
 * @module
 */

const RESETS = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const SOCKET_CALLS = new Set(["read", "write"]);
let installed = false;

/**
 * Installs the guard (idempotent).
 *
 * @example
 * ```ts
 * import { guardAgainstStrayResets } from "./stray_reset_guard.ts";
 * guardAgainstStrayResets();
 * ```
 */
export function guardAgainstStrayResets(): void {
  if (installed) return;
  installed = true;
  globalThis.addEventListener("error", (event) => {
    if (isStrayReset(event.error)) event.preventDefault();
  });
}

/**
 * Whether `error` is a socket reset as `node:net` reports it.
 *
 * @example
 * ```ts
 * import { isStrayReset } from "./stray_reset_guard.ts";
 * isStrayReset(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" })); // true
 * isStrayReset(new TypeError("a bug")); // false
 * ```
 */
export function isStrayReset(error: unknown): boolean {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof code === "string" && RESETS.has(code) && typeof syscall === "string" &&
    SOCKET_CALLS.has(syscall);
}
