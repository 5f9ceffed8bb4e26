/**
 * Mints the tokens {@link JwtVerifier} accepts, with `jose`: for `deno task token`, tests and
 * small deployments. A backend that mints its own needs only the same claims (see the README).
 *
 * @example
 * ```ts
 * import { mintToken } from "./token_minting.ts";
 * const token = await mintToken({
 *   key: { secret: "a-secret-of-at-least-32-bytes-long!" },
 *   sub: "alice", subs: ["metrics.*"], pubs: [], ttlSeconds: 3600,
 * });
 * token.split(".").length; // 3
 * ```
 * @module
 */
import { importPKCS8, SignJWT } from "jose";
import { InvalidChannelPatternError, isValidChannelPattern } from "../protocol/channel_pattern.ts";
import { VerificationKeyError } from "./auth_errors.ts";
import { type JwtAlgorithm, MIN_SECRET_BYTES } from "./jwt_verifier.ts";

/** What signs a token: a shared secret (HS256) or a PEM private key (ES256 or RS256). */
export type SigningKey = { secret: string } | { privateKeyPem: string };

/** What goes into a token. */
export interface MintOptions {
  /** The key. */
  key: SigningKey;
  /** The identity (`sub`). */
  sub: string;
  /** Channel patterns it may subscribe to (`subs`). */
  subs: readonly string[];
  /** Channel patterns it may publish on (`pubs`). */
  pubs: readonly string[];
  /** Seconds until `exp`. */
  ttlSeconds: number;
  /** Seconds from now until `nbf` (absent: no `nbf`). */
  notBeforeSeconds?: number;
  /** Seconds since the epoch to count from (default: now). */
  now?: number;
}

/**
 * A signed token (compact JWS); throws {@link VerificationKeyError} for an unusable key and
 * `InvalidChannelPatternError` for an invalid pattern.
 *
 * @example
 * ```ts
 * import { mintToken } from "./token_minting.ts";
 * const pem = await Deno.readTextFile("jwt-private.pem");
 * const token = await mintToken({
 *   key: { privateKeyPem: pem }, sub: "sensor-7", subs: [], pubs: ["metrics.sensor-7"], ttlSeconds: 600,
 * });
 * ```
 */
export async function mintToken(options: MintOptions): Promise<string> {
  for (const pattern of [...options.subs, ...options.pubs]) {
    if (!isValidChannelPattern(pattern)) throw new InvalidChannelPatternError(pattern);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const [algorithm, key] = await signingKey(options.key);
  const jwt = new SignJWT({ subs: [...options.subs], pubs: [...options.pubs] })
    .setProtectedHeader({ alg: algorithm, typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds);
  if (options.notBeforeSeconds !== undefined) jwt.setNotBefore(now + options.notBeforeSeconds);
  return await jwt.sign(key);
}

async function signingKey(key: SigningKey): Promise<[JwtAlgorithm, CryptoKey | Uint8Array]> {
  if ("secret" in key) {
    const bytes = new TextEncoder().encode(key.secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new VerificationKeyError(`the JWT secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    return ["HS256", bytes];
  }
  if (!key.privateKeyPem.includes("-----BEGIN PRIVATE KEY-----")) {
    throw new VerificationKeyError(
      "not a PKCS#8 PEM private key: expected -----BEGIN PRIVATE KEY----- " +
        "(convert with openssl pkcs8 -topk8 -nocrypt)",
    );
  }
  for (const algorithm of ["ES256", "RS256"] as const) {
    try {
      return [algorithm, await importPKCS8(key.privateKeyPem, algorithm)];
    } catch {
      // not this kind of key: try the next
    }
  }
  throw new VerificationKeyError(
    "the private key is neither an EC P-256 key (ES256) nor an RSA key (RS256)",
  );
}
