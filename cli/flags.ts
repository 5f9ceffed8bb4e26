/**
 * Flag parsing shared by both programs: `parseArgs` from `node:util` in strict mode (unknown
 * flags are errors), plus validators that turn bad values into a {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseFlags, parsePort } from "./flags.ts";
 * const values = parseFlags(["--port", "9002"], { port: { type: "string" } });
 * parsePort(values.port as string); // 9002
 * ```
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";
import { type Framing, FRAMINGS, MAX_HEADER_LENGTH } from "../protocol/framing.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly; an unknown flag or a missing value becomes a {@link UsageError}.
 *
 * A value that starts with a single dash is a value (`--max-frame -1` is then refused by the
 * flag's own check with a clear reason), where `parseArgs` alone would call it ambiguous; a
 * value starting with `--` must be written `--flag=--value`, so a forgotten value before the
 * next flag is still reported as missing.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const values = parseFlags(["--relay", "--san", "localhost", "--port", "-5"], {
 *   relay: { type: "boolean" },
 *   san: { type: "string", multiple: true },
 *   port: { type: "string" },
 * }); // { relay: true, san: ["localhost"], port: "-5" }
 * ```
 */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>["values"] {
  const joined = joinValues(args, options);
  try {
    return parseArgs({ args: joined, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message.split("\n")[0];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown flag ${message.match(/'([^']*)'/)?.[1] ?? message}`);
    }
    throw new UsageError(message);
  }
}

/**
 * Joins each value-taking `--flag` with the argument after it as `--flag=value`, so that
 * `parseArgs` takes `-1` as the value it is; throws {@link UsageError} for a missing value.
 */
function joinValues(args: string[], options: Options): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    if (name === undefined || options[name]?.type !== "string") {
      joined.push(arg);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) {
      throw new UsageError(
        `${arg} needs a value` +
          (value === undefined ? "" : ` (for a value that starts with --, write ${arg}=${value})`),
      );
    }
    joined.push(`${arg}=${value}`);
    i++;
  }
  return joined;
}

/**
 * A TCP port, 0 to 65535 (0 picks a free one).
 *
 * @example
 * ```ts
 * import { parsePort } from "./flags.ts";
 * parsePort("9002"); // 9002
 * parsePort("70000", "--ws-port"); // throws UsageError: --ws-port must be from 0 to 65535, ...
 * ```
 */
export function parsePort(value: string, flag = "--port"): number {
  return parseInteger(value, flag, 0, 65535);
}

/**
 * A whole number within bounds.
 *
 * @example
 * ```ts
 * import { parseInteger } from "./flags.ts";
 * parseInteger("100", "--max-connections", 0, 10_000_000); // 100
 * parseInteger("-1", "--max-connections", 0, 10_000_000); // throws: must be from 0 to 10000000
 * ```
 */
export function parseInteger(value: string, flag: string, min: number, max: number): number {
  // A sign is read (so that -1 is refused for its range, not its form); decimals are not.
  if (!/^[+-]?\d+$/.test(value.trim())) {
    throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  }
  const number = Number(value);
  if (number < min || number > max) {
    throw new UsageError(`${flag} must be from ${min} to ${max}, got ${value.trim()}`);
  }
  return number;
}

/**
 * A frame size limit: 1 to the largest signed 32-bit length (0 would allow only empty messages).
 *
 * @example
 * ```ts
 * import { parseMaxFrame } from "./flags.ts";
 * parseMaxFrame("1048576"); // 1048576
 * ```
 */
export function parseMaxFrame(value: string): number {
  return parseInteger(value, "--max-frame", 1, MAX_HEADER_LENGTH);
}

/**
 * Longest duration a timer can wait (2^31 - 1 ms, about 24.8 days), in whole seconds.
 *
 * @example
 * ```ts
 * import { MAX_SECONDS, parseSeconds } from "./flags.ts";
 * parseSeconds(String(MAX_SECONDS), "--idle-timeout"); // 2147483000 ms: the longest allowed
 * ```
 */
export const MAX_SECONDS = 2_147_483;

/**
 * A duration in seconds (decimals allowed), returned in milliseconds.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./flags.ts";
 * parseSeconds("2.5", "--drain-timeout"); // 2500
 * ```
 */
export function parseSeconds(value: string, flag: string): number {
  if (/^-\d+(\.\d+)?$/.test(value.trim())) {
    throw new UsageError(`${flag} must not be negative, got ${value.trim()}`);
  }
  if (!/^\d+(\.\d+)?$/.test(value.trim())) {
    throw new UsageError(`${flag} must be a number of seconds, got '${value}'`);
  }
  const seconds = Number(value);
  if (seconds > MAX_SECONDS) {
    throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds, got ${value}`);
  }
  return seconds * 1000;
}

/**
 * One of the wire framings.
 *
 * @example
 * ```ts
 * import { parseFraming } from "./flags.ts";
 * parseFraming("be32"); // "be32"
 * parseFraming("json"); // throws UsageError: --framing must be one of le32, be32, line, ...
 * ```
 */
export function parseFraming(value: string): Framing {
  if (!(FRAMINGS as readonly string[]).includes(value)) {
    throw new UsageError(`--framing must be one of ${FRAMINGS.join(", ")}, got '${value}'`);
  }
  return value as Framing;
}
