/**
 * A secret token a request must present (the admin token, the publish token): compared in
 * constant time, and read from an `Authorization: Bearer` header.
 *
 * @example
 * ```ts
 * import { bearerToken, SecretToken } from "./secret_token.ts";
 * const token = new SecretToken("0123456789abcdef-token");
 * const request = new Request("https://localhost:9003/api/publish", {
 *   headers: { authorization: "Bearer 0123456789abcdef-token" },
 * });
 * token.matches(bearerToken(request)); // true
 * ```
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/** Random bytes in a generated token (256 bits). */
const TOKEN_BYTES = 32;

/**
 * One secret, and a comparison whose time does not depend on where a guess differs.
 *
 * @example
 * ```ts
 * import { SecretToken } from "./secret_token.ts";
 * const token = new SecretToken("0123456789abcdef-token");
 * token.matches("wrong"); // false
 * ```
 */
export class SecretToken {
  /** The token itself. */
  readonly value: string;
  readonly #bytes: Uint8Array;

  /** Holds `value`. */
  constructor(value: string) {
    this.value = value;
    this.#bytes = new TextEncoder().encode(value);
  }

  /** True when `candidate` is the token. */
  matches(candidate: string | null | undefined): boolean {
    if (!candidate) return false;
    const bytes = new TextEncoder().encode(candidate);
    // timingSafeEqual needs equal lengths: compare against itself when they differ, so a wrong
    // length takes as long as a wrong byte (the length of the token is not a secret anyway).
    const same = bytes.length === this.#bytes.length;
    return timingSafeEqual(same ? bytes : this.#bytes, this.#bytes) && same;
  }
}

/**
 * A new random token: 32 bytes, base64url without padding (43 characters).
 *
 * @example
 * ```ts
 * import { generateToken } from "./secret_token.ts";
 * generateToken().length; // 43
 * ```
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * The token of an `Authorization: Bearer TOKEN` header, if any.
 *
 * @example
 * ```ts
 * import { bearerToken } from "./secret_token.ts";
 * bearerToken(new Request("https://x/", { headers: { authorization: "Bearer abc" } })); // "abc"
 * ```
 */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}
