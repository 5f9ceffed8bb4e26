/**
 * The named errors of the client library. Each carries the one line a user should read and,
 * where there is one, the error that caused it; {@link ClientError.retryable} tells the
 * reconnect loop whether trying again can help. Only `client.ts` turns them into a line on
 * stderr and an exit status.
 *
 * @example
 * ```ts
 * import { ConnectError, UntrustedServerError } from "./errors.ts";
 * new ConnectError("cannot connect to localhost:9002: connection refused").retryable; // true
 * new UntrustedServerError("not signed by the CA in certs/ca.pem").retryable; // false
 * ```
 * @module
 */
import { TlspushError } from "../util/errors.ts";

/**
 * Base of the client's errors.
 *
 * @example
 * ```ts
 * import { ClientError } from "./errors.ts";
 * function shouldRetry(error: unknown): boolean {
 *   return error instanceof ClientError && error.retryable;
 * }
 * ```
 */
export abstract class ClientError extends TlspushError {
  /** Whether `--reconnect` should try again (false: a configuration mistake). */
  abstract readonly retryable: boolean;
}

/**
 * No connection could be opened: refused, unreachable, no answer in time, or closed during
 * the TLS handshake. Retried with `--reconnect`.
 *
 * @example
 * ```ts
 * import { ConnectError } from "./errors.ts";
 * throw new ConnectError("cannot connect to localhost:9002: connection refused", {
 *   cause: new Deno.errors.ConnectionRefused(),
 * });
 * ```
 */
export class ConnectError extends ClientError {
  /** A server may come back: yes. */
  readonly retryable = true;
}

/**
 * The server's certificate was refused, or the CA file to trust is unusable: a
 * configuration problem, never retried.
 *
 * @example
 * ```ts
 * import { UntrustedServerError } from "./errors.ts";
 * throw new UntrustedServerError("cannot read CA file certs/ca.pem: not found");
 * ```
 */
export class UntrustedServerError extends ClientError {
  /** Trust does not change by waiting: no. */
  readonly retryable = false;
}

/**
 * The other end speaks another protocol than the client was told to: an HTTP port where the
 * message port was meant, TLS against `--plain` (or the reverse), WebSocket against the
 * message port. A wrong port or flag, never retried.
 *
 * @example
 * ```ts
 * import { ProtocolMismatchError } from "./errors.ts";
 * throw new ProtocolMismatchError("localhost:9002 speaks TLS: drop --plain");
 * ```
 */
export class ProtocolMismatchError extends ClientError {
  /** The same port answers the same way next time: no. */
  readonly retryable = false;
}

/**
 * The server closed the connection in an orderly way before the client was done (a message
 * not yet echoed, or input still open), or closed a WebSocket with an error code such as
 * 1009. Retried with `--reconnect` (what was not echoed is not resent).
 *
 * @example
 * ```ts
 * import { ServerClosedError } from "./errors.ts";
 * const error = new ServerClosedError("the server closed the connection before echoing", {
 *   unechoed: 1,
 * });
 * error.unechoed; // 1
 * ```
 */
export class ServerClosedError extends ClientError {
  /** A restarted server takes the next message: yes. */
  readonly retryable = true;
  /** Messages sent on that connection that did not come back. */
  readonly unechoed: number;
  /** The WebSocket close code, when there was one. */
  readonly closeCode?: number;

  /** Creates the error with its line, what was missing and, over WebSocket, the close code. */
  constructor(
    message: string,
    details: { unechoed?: number; closeCode?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.unechoed = details.unechoed ?? 0;
    this.closeCode = details.closeCode;
  }
}

/**
 * The connection broke without an orderly close: reset, no TLS close_notify, no WebSocket
 * close frame, or a write that failed. Retried with `--reconnect`.
 *
 * @example
 * ```ts
 * import { ConnectionLostError } from "./errors.ts";
 * throw new ConnectionLostError("connection to localhost:9002 lost: connection reset", {
 *   cause: new Deno.errors.ConnectionReset(),
 * });
 * ```
 */
export class ConnectionLostError extends ClientError {
  /** The server may be back: yes. */
  readonly retryable = true;
}

/**
 * The server sent bytes that are not frames of the client's `--framing` (or a frame larger
 * than its `--max-frame`). Retried with `--reconnect`.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError } from "../protocol/errors.ts";
 * import { ServerProtocolError } from "./errors.ts";
 * const cause = new FrameTooLargeError(1 << 25, 1 << 24);
 * throw new ServerProtocolError(`the server broke the protocol: ${cause.message}`, { cause });
 * ```
 */
export class ServerProtocolError extends ClientError {
  /** One oversized message need not recur: yes. */
  readonly retryable = true;
}

/**
 * The server answered `ERR` to messages the client published (protocol v2): not allowed on
 * that channel, too large, the broker unavailable. Each refusal was reported as it came; this
 * makes the exit status 1. Not retried: the same messages would be refused again.
 *
 * @example
 * ```ts
 * import { ServerRefusedError } from "./errors.ts";
 * throw new ServerRefusedError("the server refused 1 message (ERR forbidden publishing needs --relay)");
 * ```
 */
export class ServerRefusedError extends ClientError {
  /** Sending them again gets the same answer: no. */
  readonly retryable = false;
}
