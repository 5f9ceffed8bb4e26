/**
 * The error of a port that could not be bound, the same for every listener (the TLS/TCP port,
 * the HTTPS/WebSocket port).
 *
 * @example
 * ```ts
 * import { listenError } from "./listen_error.ts";
 * try {
 *   Deno.listen({ hostname: "127.0.0.1", port: 9002 });
 * } catch (error) {
 *   throw listenError(error, "127.0.0.1", 9002);
 * }
 * ```
 * @module
 */
import { describeError, TlspushError } from "./errors.ts";

/**
 * The port could not be bound: in use, no such local address, or not permitted.
 *
 * @example
 * ```ts
 * import { ListenError } from "./listen_error.ts";
 * try {
 *   throw new ListenError("cannot listen on 127.0.0.1:9002: address already in use");
 * } catch (error) {
 *   if (error instanceof ListenError) console.error(error.message);
 * }
 * ```
 */
export class ListenError extends TlspushError {}

/**
 * The {@link ListenError} for a failed bind, naming the address and what went wrong.
 *
 * @example
 * ```ts
 * import { listenError } from "./listen_error.ts";
 * const error = listenError(new Deno.errors.AddrInUse("in use"), "0.0.0.0", 9003, "--ws-port");
 * error.message; // "cannot listen on 0.0.0.0:9003 (--ws-port): address already in use"
 * ```
 */
export function listenError(
  error: unknown,
  hostname: string,
  port: number,
  flag?: string,
): ListenError {
  const where = `${hostname}:${port}${flag ? ` (${flag})` : ""}`;
  const why = error instanceof Deno.errors.AddrInUse
    ? "address already in use"
    : error instanceof Deno.errors.AddrNotAvailable
    ? "no such local address"
    : describeError(error);
  return new ListenError(`cannot listen on ${where}: ${why}`, { cause: error });
}
