/**
 * What authentication and the limits refused, since the server started: shown on `/metrics`.
 * One object per hub; the peers and listeners add to it.
 *
 * @example
 * ```ts
 * import { newSecurityCounters } from "./security_counters.ts";
 * const counters = newSecurityCounters();
 * counters.authFailures++;
 * ```
 * @module
 */

/** The counters. */
export interface SecurityCounters {
  /** Tokens accepted (`AUTH`, `?token=`). */
  authSuccesses: number;
  /** Tokens refused (bad signature, expired, ...). */
  authFailures: number;
  /** Connections closed for not authenticating in time, a v1 client refused, a token expired. */
  authClosed: number;
  /** `SUB`/`PUB` refused with `ERR forbidden` by the connection's permissions. */
  forbidden: number;
  /** v2 commands refused with `ERR rate-limited`. */
  rateLimited: number;
  /** Times a v1 connection was not read for a while to hold it to `--rate`. */
  rateThrottled: number;
  /** Connections refused by `--connect-rate`. */
  connectRefused: number;
}

/**
 * Counters all at zero.
 *
 * @example
 * ```ts
 * import { newSecurityCounters } from "./security_counters.ts";
 * newSecurityCounters().forbidden; // 0
 * ```
 */
export function newSecurityCounters(): SecurityCounters {
  return {
    authSuccesses: 0,
    authFailures: 0,
    authClosed: 0,
    forbidden: 0,
    rateLimited: 0,
    rateThrottled: 0,
    connectRefused: 0,
  };
}
