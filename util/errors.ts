/**
 * The base of the named errors library code throws for expected failures (a port in use, an
 * unreadable certificate, a refused connection): each carries the one line a user should read,
 * and the error that caused it. Only the entry points turn them into that line and an exit status.
 *
 * @example
 * ```ts
 * import { describeError, TlspushError } from "./errors.ts";
 * try {
 *   throw new TlspushError("cannot listen on 127.0.0.1:9002: address already in use");
 * } catch (error) {
 *   console.error(describeError(error));
 * }
 * ```
 * @module
 */

/**
 * An expected failure with a message meant for the user; subclasses name the kind.
 *
 * @example
 * ```ts
 * import { TlspushError } from "./errors.ts";
 * class ListenError extends TlspushError {}
 * const error = new ListenError("cannot listen on :9002", { cause: new Error("EADDRINUSE") });
 * error.name; // "ListenError"
 * ```
 */
export class TlspushError extends Error {
  /** Creates the error with the one line to show and, optionally, its cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * One line for an error: its message, without the stack or rustls's documentation links.
 *
 * @example
 * ```ts
 * import { describeError } from "./errors.ts";
 * describeError(new Error("connection reset\n    at read (ext:deno_net)")); // "connection reset"
 * describeError("not an Error"); // "not an Error"
 * ```
 */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return message.replace(/: https:\/\/docs\.rs\/\S+/g, "");
}
