/**
 * Builds the server's authentication from its options: the JWT verifier (`--jwt-secret` /
 * `TLSPUSH_JWT_SECRET`, or `--jwt-public-key FILE`) and the ACL (`--acl FILE`). Undefined when
 * neither is given: authentication is off. Part of the composition root.
 *
 * @example
 * ```ts
 * import { SERVER_DEFAULTS } from "./config.ts";
 * import { setUpAuthentication } from "./authentication.ts";
 * const auth = await setUpAuthentication({ ...SERVER_DEFAULTS, acl: "acl.json" });
 * auth?.accessList?.size; // identities listed
 * ```
 * @module
 */
import { AccessList } from "../auth/access_list.ts";
import { VerificationKeyError } from "../auth/auth_errors.ts";
import { JwtVerifier } from "../auth/jwt_verifier.ts";
import type { PeerAuth } from "../hub/peer_guard.ts";
import { describeError, TlspushError } from "../util/errors.ts";
import type { ServerOptions } from "./config.ts";

/**
 * The authentication settings every peer shares, or undefined (off); throws `TlspushError` (one
 * line, naming the flag) for a key or ACL file that cannot be used.
 *
 * @example
 * ```ts
 * import { SERVER_DEFAULTS } from "./config.ts";
 * import { setUpAuthentication } from "./authentication.ts";
 * await setUpAuthentication(SERVER_DEFAULTS); // undefined: authentication is off
 * ```
 */
export async function setUpAuthentication(
  options: ServerOptions,
): Promise<PeerAuth | undefined> {
  const { jwtSecret, jwtPublicKey, acl } = options;
  if (jwtSecret === undefined && jwtPublicKey === undefined && acl === undefined) return undefined;
  const verifierOptions = { clockSkewMs: options.jwtClockSkewMs };
  let verifier: JwtVerifier | undefined;
  try {
    if (jwtSecret !== undefined) {
      verifier = await JwtVerifier.fromSecret(jwtSecret, verifierOptions);
    } else if (jwtPublicKey !== undefined) {
      verifier = await JwtVerifier.fromPublicKey(await readKey(jwtPublicKey), verifierOptions);
    }
  } catch (error) {
    if (!(error instanceof VerificationKeyError)) throw error;
    const source = jwtSecret !== undefined ? "the JWT secret" : `--jwt-public-key ${jwtPublicKey}`;
    throw new TlspushError(`${source}: ${error.message}`, { cause: error });
  }
  const accessList = acl === undefined ? undefined : await loadAccessList(acl);
  return { verifier, accessList, timeoutMs: options.authTimeoutMs };
}

async function readKey(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TlspushError(`--jwt-public-key ${path}: cannot be read (${describeError(error)})`, {
      cause: error,
    });
  }
}

async function loadAccessList(path: string): Promise<AccessList> {
  try {
    return await AccessList.load(path);
  } catch (error) {
    throw new TlspushError(`--acl ${describeError(error)}`, { cause: error });
  }
}
