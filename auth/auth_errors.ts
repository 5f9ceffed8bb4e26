/**
 * The named errors of authentication: a token that does not prove who sent it
 * ({@link AuthenticationError}, answered `ERR not-authenticated`), a key or secret the server
 * cannot use ({@link VerificationKeyError}), and an ACL file that cannot be read or is wrong
 * ({@link AccessListError}). Their messages never hold a token or a secret.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "./auth_errors.ts";
 * const error = new AuthenticationError("token expired");
 * `ERR not-authenticated ${error.reason}`; // "ERR not-authenticated token expired"
 * ```
 * @module
 */

/**
 * A token was refused: `reason` is a short fixed text safe to send to the client and to log.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "./auth_errors.ts";
 * try {
 *   throw new AuthenticationError("bad signature");
 * } catch (error) {
 *   if (error instanceof AuthenticationError) console.error(error.reason);
 * }
 * ```
 */
export class AuthenticationError extends Error {
  /** Why, in a few words (never the token). */
  readonly reason: string;
  /** Creates the error; `cause` is the library's error, kept for debugging only. */
  constructor(reason: string, options?: ErrorOptions) {
    super(`authentication failed: ${reason}`, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/**
 * The configured secret or public key cannot verify tokens (too short, not a PEM public key,
 * not an ES256 or RS256 key).
 *
 * @example
 * ```ts
 * import { VerificationKeyError } from "./auth_errors.ts";
 * const error = new VerificationKeyError("--jwt-secret must be at least 32 bytes");
 * error.message; // "--jwt-secret must be at least 32 bytes"
 * ```
 */
export class VerificationKeyError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The ACL file (`--acl`) could not be read or is not valid; `path` names it.
 *
 * @example
 * ```ts
 * import { AccessListError } from "./auth_errors.ts";
 * const error = new AccessListError("acl.json", 'entry "alice": "subs" must be a list');
 * error.message; // 'acl.json: entry "alice": "subs" must be a list'
 * ```
 */
export class AccessListError extends Error {
  /** The file. */
  readonly path: string;
  /** Creates the error for `path`. */
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`${path}: ${problem}`, options);
    this.name = new.target.name;
    this.path = path;
  }
}
