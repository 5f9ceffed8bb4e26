/**
 * The codes of the v2 `ERR <code> <text>` reply. An `ERR` refuses one command and leaves the
 * connection open.
 *
 * | code | when |
 * | --- | --- |
 * | `bad-command` | unknown or malformed command (lowercase verb, missing or extra argument, bad sequence number) |
 * | `bad-channel` | a channel name outside the rule |
 * | `too-large` | what was sent would not fit a frame (e.g. the `MSG` of a `PUB` would exceed `--max-frame`) |
 * | `forbidden` | this client may not subscribe to / publish on that channel |
 * | `not-authenticated` | authentication is on and no valid `AUTH` came first |
 * | `rate-limited` | over the connection's `--rate` |
 * | `unavailable` | the broker is down: the publish was not made |
 *
 * @example
 * ```ts
 * import { type ErrorCode, isErrorCode } from "./error_code.ts";
 * const code: ErrorCode = "bad-channel";
 * isErrorCode(code); // true
 * isErrorCode("teapot"); // false
 * ```
 * @module
 */

/**
 * Every code the server sends, in the order of the contract.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from "./error_code.ts";
 * ERROR_CODES.includes("rate-limited"); // true
 * ```
 */
export const ERROR_CODES = [
  "bad-command",
  "bad-channel",
  "too-large",
  "forbidden",
  "not-authenticated",
  "rate-limited",
  "unavailable",
] as const;

/**
 * One of {@link ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { ErrorCode } from "./error_code.ts";
 * const code: ErrorCode = "forbidden";
 * ```
 */
export type ErrorCode = typeof ERROR_CODES[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * True when `code` is one of {@link ERROR_CODES}. A client should still accept codes it does not
 * know (a later server may add some) and treat them as a refusal.
 *
 * @example
 * ```ts
 * import { isErrorCode } from "./error_code.ts";
 * isErrorCode("unavailable"); // true
 * ```
 */
export function isErrorCode(code: string): code is ErrorCode {
  return KNOWN.has(code);
}
