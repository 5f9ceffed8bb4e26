/**
 * Binding a port on "every address": `::` is a dual-stack socket on Linux and most systems
 * (IPv4 clients arrive as `::ffff:a.b.c.d`), so one socket serves `127.0.0.1` and `::1` alike;
 * where the machine has no IPv6 it falls back to `0.0.0.0`. Failures become a `ListenError`
 * that names the address and the flag.
 *
 * @example
 * ```ts
 * import { bind, EVERY_ADDRESS } from "./bind.ts";
 * const listener = bind(EVERY_ADDRESS, 0, (hostname) => Deno.listen({ hostname, port: 0 }));
 * listener.close();
 * ```
 * @module
 */
import { listenError } from "./listen_error.ts";

/**
 * The default listening address: every IPv6 and IPv4 address.
 *
 * @example
 * ```ts
 * import { EVERY_ADDRESS } from "./bind.ts";
 * Deno.listen({ hostname: EVERY_ADDRESS, port: 0 }).close();
 * ```
 */
export const EVERY_ADDRESS = "::";

/**
 * Calls `open(hostname)`; for {@link EVERY_ADDRESS} on a machine without IPv6 retries with
 * `0.0.0.0`. Throws `ListenError` (port in use, no such address) naming `flag`.
 *
 * @example
 * ```ts
 * import { bind } from "./bind.ts";
 * const listener = bind("127.0.0.1", 9002, (hostname) => Deno.listen({ hostname, port: 9002 }));
 * ```
 */
export function bind<T>(
  hostname: string,
  port: number,
  open: (hostname: string) => T,
  flag?: string,
): T {
  try {
    return open(hostname);
  } catch (error) {
    if (hostname === EVERY_ADDRESS && !isAddrInUse(error)) {
      try {
        return open("0.0.0.0"); // no IPv6 here: IPv4 only
      } catch {
        // report the first failure
      }
    }
    throw listenError(error, hostname, port, flag);
  }
}

function isAddrInUse(error: unknown): boolean {
  return error instanceof Deno.errors.AddrInUse;
}
