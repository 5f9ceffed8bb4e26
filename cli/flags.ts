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

/** Parses `args` strictly; an unknown flag or a missing value becomes a {@link UsageError}. */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]);
  }
}

/** A TCP port, 0 to 65535 (0 picks a free one). */
export function parsePort(value: string, flag = "--port"): number {
  return parseInteger(value, flag, 0, 65535);
}

/** A whole number within bounds. */
export function parseInteger(value: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  }
  const number = Number(value);
  if (number < min || number > max) {
    throw new UsageError(`${flag} must be from ${min} to ${max}, got ${value}`);
  }
  return number;
}

/** A frame size limit: 0 to the largest signed 32-bit length. */
export function parseMaxFrame(value: string): number {
  return parseInteger(value, "--max-frame", 0, MAX_HEADER_LENGTH);
}

/** Longest duration a timer can wait (2^31 - 1 ms, about 24.8 days), in whole seconds. */
export const MAX_SECONDS = 2_147_483;

/** A duration in seconds (decimals allowed), returned in milliseconds. */
export function parseSeconds(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) {
    throw new UsageError(`${flag} must be a number of seconds, got '${value}'`);
  }
  const seconds = Number(value);
  if (seconds > MAX_SECONDS) {
    throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds, got ${value}`);
  }
  return seconds * 1000;
}

/** One of the wire framings. */
export function parseFraming(value: string): Framing {
  if (!(FRAMINGS as readonly string[]).includes(value)) {
    throw new UsageError(`--framing must be one of ${FRAMINGS.join(", ")}, got '${value}'`);
  }
  return value as Framing;
}
