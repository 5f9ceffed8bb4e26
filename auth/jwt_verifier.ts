/**
 * Verifies JSON Web Tokens (JWS compact form) with `jose`, which uses Web Crypto: HS256 with a
 * shared secret (`--jwt-secret`), or ES256 / RS256 with a public key (`--jwt-public-key`,
 * PEM). The algorithm is pinned to the key: a token whose header names another (`none`, or
 * HS256 against an RSA key: the "algorithm confusion" attack) is refused before its signature
 * is looked at.
 *
 * Claims: `sub` (the identity: 1 to 256 characters, no control characters) and `exp` are
 * required; `nbf` is honoured; both are checked with {@link CLOCK_SKEW_MS} of tolerance. `subs`
 * and `pubs`, when present, are lists of channel patterns (absent: none).
 *
 * @example
 * ```ts
 * import { JwtVerifier } from "./jwt_verifier.ts";
 * const verifier = await JwtVerifier.fromSecret("a-secret-of-at-least-32-bytes-long!");
 * try {
 *   const permissions = await verifier.verify("eyJhbGciOiJIUzI1NiJ9.e30.c2ln");
 *   console.log(permissions.identity);
 * } catch (error) {
 *   console.error((error as Error).message); // "authentication failed: malformed token"
 * }
 * ```
 * @module
 */
import {
  errors,
  importSPKI,
  importX509,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyOptions,
} from "jose";
import { isValidChannelPattern } from "../protocol/channel_pattern.ts";
import { AuthenticationError, VerificationKeyError } from "./auth_errors.ts";
import { IDENTITY_RULE, isValidIdentity } from "./identity.ts";
import { Permissions } from "./permissions.ts";
import type { TokenVerifier } from "./token_verifier.ts";

/**
 * The algorithms a server may be configured with.
 *
 * @example
 * ```ts
 * import type { JwtAlgorithm } from "./jwt_verifier.ts";
 * const algorithm: JwtAlgorithm = "ES256";
 * ```
 */
export type JwtAlgorithm = "HS256" | "ES256" | "RS256";

/**
 * Tolerance for `exp` and `nbf`, for clocks a little apart.
 *
 * @example
 * ```ts
 * import { CLOCK_SKEW_MS } from "./jwt_verifier.ts";
 * CLOCK_SKEW_MS / 1000; // 5
 * ```
 */
export const CLOCK_SKEW_MS = 5000;

/**
 * Shortest HS256 secret accepted, in bytes: the hash's own size (RFC 7518, section 3.2).
 *
 * @example
 * ```ts
 * import { MIN_SECRET_BYTES } from "./jwt_verifier.ts";
 * "x".repeat(MIN_SECRET_BYTES).length; // 32
 * ```
 */
export const MIN_SECRET_BYTES = 32;

/**
 * Longest token looked at, in characters: verifying costs work, so an oversized one is refused
 * unread.
 *
 * @example
 * ```ts
 * import { MAX_TOKEN_LENGTH } from "./jwt_verifier.ts";
 * MAX_TOKEN_LENGTH; // 8192
 * ```
 */
export const MAX_TOKEN_LENGTH = 8192;

/** Most patterns in one of `subs` or `pubs`. */
const MAX_PATTERNS = 1000;

/** Options of a verifier. */
export interface JwtVerifierOptions {
  /** Tolerance for `exp` and `nbf` in ms (default {@link CLOCK_SKEW_MS}). */
  clockSkewMs?: number;
}

/**
 * A {@link TokenVerifier} for JWTs signed with one key.
 *
 * @example
 * ```ts
 * import { JwtVerifier } from "./jwt_verifier.ts";
 * const pem = await Deno.readTextFile("jwt-public.pem");
 * const verifier = await JwtVerifier.fromPublicKey(pem);
 * verifier.algorithm; // "ES256" or "RS256", from the key
 * ```
 */
export class JwtVerifier implements TokenVerifier {
  /** The one algorithm accepted. */
  readonly algorithm: JwtAlgorithm;
  /** Tolerance for `exp` and `nbf`, in ms. */
  readonly clockSkewMs: number;
  readonly #key: CryptoKey | Uint8Array;
  readonly #options: JWTVerifyOptions;

  private constructor(
    algorithm: JwtAlgorithm,
    key: CryptoKey | Uint8Array,
    options: JwtVerifierOptions,
  ) {
    this.algorithm = algorithm;
    this.#key = key;
    this.clockSkewMs = options.clockSkewMs ?? CLOCK_SKEW_MS;
    this.#options = {
      algorithms: [algorithm],
      requiredClaims: ["exp", "sub"],
      clockTolerance: this.clockSkewMs / 1000,
    };
  }

  /**
   * HS256 with `secret` (its UTF-8 bytes); throws {@link VerificationKeyError} when shorter than
   * {@link MIN_SECRET_BYTES}.
   *
   * @example
   * ```ts
   * import { JwtVerifier } from "./jwt_verifier.ts";
   * const verifier = await JwtVerifier.fromSecret(crypto.randomUUID() + crypto.randomUUID());
   * verifier.algorithm; // "HS256"
   * ```
   */
  static fromSecret(secret: string, options: JwtVerifierOptions = {}): Promise<JwtVerifier> {
    const bytes = new TextEncoder().encode(secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      return Promise.reject(
        new VerificationKeyError(
          `the JWT secret must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`,
        ),
      );
    }
    return Promise.resolve(new JwtVerifier("HS256", bytes, options));
  }

  /**
   * ES256 (a P-256 key) or RS256 (an RSA key of 2048 bits or more), from a PEM public key
   * (`BEGIN PUBLIC KEY`) or certificate (`BEGIN CERTIFICATE`); throws
   * {@link VerificationKeyError} for anything else.
   *
   * @example
   * ```ts
   * import { JwtVerifier } from "./jwt_verifier.ts";
   * await JwtVerifier.fromPublicKey("not a key").catch((error) => console.error(error.message));
   * ```
   */
  static async fromPublicKey(pem: string, options: JwtVerifierOptions = {}): Promise<JwtVerifier> {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new VerificationKeyError(
        "that is a private key: give the public key (openssl pkey -in KEY -pubout)",
      );
    }
    const certificate = pem.includes("-----BEGIN CERTIFICATE-----");
    if (!certificate && !pem.includes("-----BEGIN PUBLIC KEY-----")) {
      throw new VerificationKeyError(
        "not a PEM public key: expected -----BEGIN PUBLIC KEY----- (or a certificate)",
      );
    }
    let lastError: unknown;
    for (const algorithm of ["ES256", "RS256"] as const) {
      try {
        const key = certificate
          ? await importX509(pem, algorithm)
          : await importSPKI(pem, algorithm);
        return new JwtVerifier(algorithm, key, options);
      } catch (error) {
        lastError = error;
      }
    }
    throw new VerificationKeyError(
      "the public key is neither an EC P-256 key (ES256) nor an RSA key (RS256)",
      { cause: lastError },
    );
  }

  /** The permissions `token` grants; rejects with {@link AuthenticationError} otherwise. */
  async verify(token: string): Promise<Permissions> {
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new AuthenticationError(`token longer than ${MAX_TOKEN_LENGTH} characters`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, this.#options));
    } catch (error) {
      throw new AuthenticationError(this.#reason(error), { cause: error });
    }
    return this.#permissions(payload);
  }

  /** A short, fixed reason for a failure of `jwtVerify` (its messages are not shown as such). */
  #reason(error: unknown): string {
    if (error instanceof errors.JWTExpired) return "token expired";
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.reason === "missing") return `token has no "${error.claim}" claim`;
      if (error.claim === "nbf") return "token not yet valid (nbf)";
      return `invalid "${error.claim}" claim`;
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return `token algorithm not allowed: this server takes ${this.algorithm} only`;
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
    return "malformed token";
  }

  #permissions(payload: JWTPayload): Permissions {
    const { sub, exp } = payload;
    if (!isValidIdentity(sub)) {
      throw new AuthenticationError(`invalid "sub" claim: ${IDENTITY_RULE}`);
    }
    return new Permissions({
      identity: sub,
      subs: patterns(payload.subs, "subs"),
      pubs: patterns(payload.pubs, "pubs"),
      source: "token",
      expiresAt: exp! * 1000 + this.clockSkewMs,
    });
  }
}

/** A `subs` or `pubs` claim: absent (none) or a list of valid patterns. */
function patterns(claim: unknown, name: string): string[] {
  if (claim === undefined) return [];
  if (
    !Array.isArray(claim) || claim.length > MAX_PATTERNS ||
    !claim.every((pattern) => typeof pattern === "string" && isValidChannelPattern(pattern))
  ) {
    throw new AuthenticationError(
      `invalid "${name}" claim: a list of channel names or prefixes ending in "*"`,
    );
  }
  return claim;
}
