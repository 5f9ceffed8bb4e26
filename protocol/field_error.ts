/**
 * The error the v2 encoders throw when asked to write a field the contract does not allow (an
 * invalid channel name, a sequence number outside 0 to 2^53 − 1, a token with a space). It is a
 * bug in the caller, never something a peer sent: peers' input is refused with `ERR`, not thrown.
 *
 * @example
 * ```ts
 * import { InvalidFieldError } from "./field_error.ts";
 * const error = new InvalidFieldError("channel", "a b", "channel names have no spaces");
 * error.message; // 'invalid channel "a b": channel names have no spaces'
 * ```
 * @module
 */

/**
 * A field that cannot be encoded.
 *
 * @example
 * ```ts
 * import { encodeCommand } from "./command.ts";
 * import { InvalidFieldError } from "./field_error.ts";
 * try {
 *   encodeCommand({ kind: "sub", channel: "no spaces allowed" });
 * } catch (error) {
 *   if (error instanceof InvalidFieldError) console.error(error.field, error.message);
 * }
 * ```
 */
export class InvalidFieldError extends Error {
  /** Which field: `channel`, `seq`, `token`, `code`, ... */
  readonly field: string;
  /** The value refused. */
  readonly value: unknown;
  /** Creates the error for `field` holding `value`, with the rule it breaks. */
  constructor(field: string, value: unknown, rule: string) {
    const shown = typeof value === "string" && value.length > 40 ? `${value.slice(0, 40)}…` : value;
    super(`invalid ${field} ${JSON.stringify(shown) ?? String(shown)}: ${rule}`);
    this.name = new.target.name;
    this.field = field;
    this.value = value;
  }
}
