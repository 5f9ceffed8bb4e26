/**
 * A duration as people type it: `90s`, `30m`, `1h`, `7d`, or plain seconds (`3600`).
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("1h", "--ttl"); // 3600 (seconds)
 * parseDuration("45", "--ttl"); // 45
 * ```
 * @module
 */
import { UsageError } from "./errors.ts";

const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * The duration in whole seconds, at least 1; throws {@link UsageError} naming `flag`.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("2d", "--ttl"); // 172800
 * parseDuration("soon", "--ttl"); // throws UsageError: --ttl must be a duration such as 90s, 30m, 1h or 7d
 * ```
 */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2]] : 0;
  if (!match || seconds < 1) {
    throw new UsageError(
      `${flag} must be a duration such as 90s, 30m, 1h or 7d (at least 1 s), got '${value}'`,
    );
  }
  return seconds;
}
