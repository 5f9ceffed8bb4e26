/**
 * What the hub needs of authentication: turn a token a client presented into
 * {@link Permissions}, or refuse it with an `AuthenticationError`. The JWT verifier is the one
 * implementation (`jwt_verifier.ts`); tests may supply their own.
 *
 * @example
 * ```ts
 * import { Permissions } from "./permissions.ts";
 * import type { TokenVerifier } from "./token_verifier.ts";
 * const everyone: TokenVerifier = {
 *   algorithm: "anything (a test)",
 *   verify: (token) =>
 *     Promise.resolve(new Permissions({ identity: token, subs: ["*"], pubs: [], source: "token" })),
 * };
 * ```
 * @module
 */
import type { Permissions } from "./permissions.ts";

/** Verifies tokens. */
export interface TokenVerifier {
  /** What tokens it takes, for the log (for a JWT verifier: its one algorithm, such as `HS256`). */
  readonly algorithm: string;
  /** The permissions `token` grants; rejects with `AuthenticationError` when it grants none. */
  verify(token: string): Promise<Permissions>;
}
