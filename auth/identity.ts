/**
 * The one rule for an identity (a token's `sub`, an ACL entry's name): 1 to 256 characters and
 * no control characters, since an identity goes into log lines and `OK AUTH <identity>`.
 *
 * @example
 * ```ts
 * import { isValidIdentity } from "./identity.ts";
 * isValidIdentity("alice@example.com"); // true
 * isValidIdentity("evil\nclient #1 authenticated"); // false
 * ```
 * @module
 */

/**
 * The longest identity accepted.
 *
 * @example
 * ```ts
 * import { MAX_IDENTITY_LENGTH } from "./identity.ts";
 * "x".repeat(MAX_IDENTITY_LENGTH).length; // 256
 * ```
 */
export const MAX_IDENTITY_LENGTH = 256;

/**
 * The rule, for error messages.
 *
 * @example
 * ```ts
 * import { IDENTITY_RULE } from "./identity.ts";
 * console.error(`invalid identity: ${IDENTITY_RULE}`);
 * ```
 */
export const IDENTITY_RULE = `1 to ${MAX_IDENTITY_LENGTH} characters, no control characters`;

// C0 controls, DEL and C1 controls.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Whether `identity` follows {@link IDENTITY_RULE}.
 *
 * @example
 * ```ts
 * import { isValidIdentity } from "./identity.ts";
 * isValidIdentity(""); // false
 * ```
 */
export function isValidIdentity(identity: unknown): identity is string {
  return typeof identity === "string" && identity.length > 0 &&
    identity.length <= MAX_IDENTITY_LENGTH && !CONTROL.test(identity);
}
