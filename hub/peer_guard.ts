/**
 * One connection's authentication, whatever its transport: the {@link Permissions} in force
 * (from a token, or from the ACL entry of its client certificate's identity), the clock that
 * closes it when it has not authenticated in time or its token expires, and `AUTH` itself
 * (verify, then replace the permissions: a new token must name the same identity). The peer
 * asks it before every `SUB` and `PUB`; it knows no socket.
 *
 * @example
 * ```ts
 * import { JwtVerifier } from "../auth/jwt_verifier.ts";
 * import { PeerGuard } from "./peer_guard.ts";
 * import { newSecurityCounters } from "./security_counters.ts";
 * const verifier = await JwtVerifier.fromSecret("a-secret-of-at-least-32-bytes-long!");
 * const guard = new PeerGuard({ verifier, timeoutMs: 10_000 }, newSecurityCounters(), (why) => {
 *   console.log(`closing: ${why}`); // "not authenticated within 10 s", "token expired"
 * });
 * guard.start();
 * const outcome = await guard.authenticate("eyJ...");
 * if ("refused" in outcome) console.log(`ERR not-authenticated ${outcome.refused}`);
 * guard.stop();
 * ```
 * @module
 */
import type { AccessList } from "../auth/access_list.ts";
import { AuthenticationError } from "../auth/auth_errors.ts";
import type { Permissions } from "../auth/permissions.ts";
import type { TokenVerifier } from "../auth/token_verifier.ts";
import type { ErrorCode } from "../protocol/error_code.ts";
import type { SecurityCounters } from "./security_counters.ts";

/**
 * Authentication settings every peer of a server shares; present only when authentication is
 * on.
 *
 * @example
 * ```ts
 * import type { PeerAuth } from "./peer_guard.ts";
 * const certificatesOnly: PeerAuth = { timeoutMs: 10_000 }; // --acl without a JWT key
 * ```
 */
export interface PeerAuth {
  /** Verifies `AUTH` tokens (`--jwt-secret`, `--jwt-public-key`); absent: no tokens taken. */
  verifier?: TokenVerifier;
  /** Permissions of client-certificate identities (`--acl`). */
  accessList?: AccessList;
  /** A connection not authenticated within this many ms is closed (`--auth-timeout`). */
  timeoutMs: number;
}

/**
 * What {@link PeerGuard.authenticate} decided: the identity now in force, or an `ERR` to send.
 *
 * @example
 * ```ts
 * import type { AuthOutcome } from "./peer_guard.ts";
 * const ok: AuthOutcome = { identity: "alice", renewed: false };
 * const no: AuthOutcome = { refused: "bad signature", code: "not-authenticated" };
 * ```
 */
export type AuthOutcome =
  | { readonly identity: string; readonly renewed: boolean }
  | { readonly refused: string; readonly code: ErrorCode };

/** setTimeout's longest delay; a later expiry re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The guard of one connection.
 *
 * @example
 * ```ts
 * import { PeerGuard } from "./peer_guard.ts";
 * import { newSecurityCounters } from "./security_counters.ts";
 * const guard = new PeerGuard({ timeoutMs: 5000 }, newSecurityCounters(), () => {});
 * guard.permissions; // undefined: not authenticated
 * ```
 */
export class PeerGuard {
  readonly #auth: PeerAuth;
  readonly #counters: SecurityCounters;
  readonly #close: (reason: string) => void;
  #permissions: Permissions | undefined;
  /** A certificate identity whose ACL entry is in force (looked up again after a reload). */
  #aclIdentity: string | undefined;
  #aclGeneration = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  /** `close` ends the connection, with why, when the clock runs out. */
  constructor(auth: PeerAuth, counters: SecurityCounters, close: (reason: string) => void) {
    this.#auth = auth;
    this.#counters = counters;
    this.#close = close;
  }

  /** The permissions in force; undefined while not authenticated. */
  get permissions(): Permissions | undefined {
    const acl = this.#auth.accessList;
    if (this.#aclIdentity !== undefined && acl && acl.generation !== this.#aclGeneration) {
      // The ACL was reloaded: the entry may have changed or gone.
      this.#aclGeneration = acl.generation;
      this.#permissions = acl.lookup(this.#aclIdentity);
    }
    return this.#permissions;
  }

  /** Whether the connection is identified by a client certificate listed in the ACL. */
  get byCertificate(): boolean {
    return this.permissions?.source === "certificate";
  }

  /** A client certificate named the connection `identity`: its ACL entry, if any, applies. */
  identify(identity: string | undefined): void {
    const acl = this.#auth.accessList;
    if (identity === undefined || !acl) return;
    const entry = acl.lookup(identity);
    if (!entry) return;
    this.#aclIdentity = identity;
    this.#aclGeneration = acl.generation;
    this.#permissions = entry;
    this.#counters.authSuccesses++;
  }

  /** Permissions from a token verified before the connection was set up (`?token=`). */
  admit(permissions: Permissions): void {
    this.#permissions = permissions;
  }

  /** The connection is set up: the clock starts (authentication deadline, or the token's expiry). */
  start(): void {
    this.#started = true;
    this.#arm();
  }

  /** The connection is closing: no more timers. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Verifies `token` and, when it is good, puts its permissions in force. */
  async authenticate(token: string): Promise<AuthOutcome> {
    const { verifier } = this.#auth;
    if (!verifier) {
      return {
        code: "not-authenticated",
        refused: "this server takes no tokens: it identifies clients by certificate",
      };
    }
    let granted: Permissions;
    try {
      granted = await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      this.#counters.authFailures++;
      return { code: "not-authenticated", refused: error.reason };
    }
    const current = this.permissions;
    if (current && current.identity !== granted.identity) {
      this.#counters.authFailures++;
      return {
        code: "forbidden",
        refused: "a new token must name the identity already authenticated",
      };
    }
    this.#counters.authSuccesses++;
    this.#permissions = granted;
    this.#aclIdentity = undefined;
    if (this.#started) this.#arm();
    return { identity: granted.identity, renewed: current !== undefined };
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const permissions = this.permissions;
    if (!permissions) {
      const { timeoutMs } = this.#auth;
      this.#timer = setTimeout(
        () => this.#expire(`not authenticated within ${timeoutMs / 1000} s`),
        timeoutMs,
      );
      return;
    }
    const { expiresAt } = permissions;
    if (expiresAt === undefined) return;
    const delay = expiresAt - Date.now();
    this.#timer = delay > MAX_TIMER_MS
      ? setTimeout(() => this.#arm(), MAX_TIMER_MS)
      : setTimeout(() => this.#expire("token expired"), Math.max(0, delay));
  }

  #expire(reason: string): void {
    if (this.#stopped) return;
    this.#counters.authClosed++;
    this.#close(reason);
  }
}
