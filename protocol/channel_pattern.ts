/**
 * Channel patterns, for permissions (the `subs` and `pubs` claims of a token): an exact channel
 * name, or a prefix ending in `*`.
 *
 * - `metrics` matches the channel `metrics` only.
 * - `metrics.*` matches every channel whose name starts with `metrics.`: `metrics.cpu`,
 *   `metrics.cpu.0`, and `metrics.` itself (a valid name); not `metrics`.
 * - `*` matches every channel.
 *
 * The prefix before the `*` follows the channel name rule (1 to 128 bytes of
 * `A-Z a-z 0-9 _ - . : /`); `*` anywhere but at the end makes the pattern invalid.
 *
 * @example
 * ```ts
 * import { ChannelMatcher } from "./channel_pattern.ts";
 * const may = new ChannelMatcher(["alerts", "metrics.*"]);
 * may.matches("metrics.cpu"); // true
 * may.matches("alerts.eu"); // false
 * ```
 * @module
 */
import { isValidChannel } from "./channel.ts";

/**
 * A pattern that is neither a valid channel name nor a valid prefix followed by `*`.
 *
 * @example
 * ```ts
 * import { ChannelMatcher, InvalidChannelPatternError } from "./channel_pattern.ts";
 * try {
 *   new ChannelMatcher(["metrics.*.cpu"]);
 * } catch (error) {
 *   if (error instanceof InvalidChannelPatternError) console.error(error.message);
 * }
 * ```
 */
export class InvalidChannelPatternError extends Error {
  /** The pattern refused. */
  readonly pattern: string;
  /** Creates the error for `pattern`. */
  constructor(pattern: string) {
    const shown = pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern;
    super(
      `invalid channel pattern ${
        JSON.stringify(shown)
      }: an exact channel name, or a prefix ending in "*"`,
    );
    this.name = new.target.name;
    this.pattern = pattern;
  }
}

/**
 * True when `pattern` is `*`, a valid channel name, or a valid channel name followed by `*`.
 *
 * @example
 * ```ts
 * import { isValidChannelPattern } from "./channel_pattern.ts";
 * isValidChannelPattern("metrics.*"); // true
 * isValidChannelPattern("*"); // true
 * isValidChannelPattern("a*b"); // false: "*" only at the end
 * isValidChannelPattern(""); // false
 * ```
 */
export function isValidChannelPattern(pattern: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) {
    return isValidChannel(pattern.slice(0, -1));
  }
  return isValidChannel(pattern);
}

/**
 * True when `channel` matches `pattern` (which is assumed valid: see
 * {@link isValidChannelPattern}).
 *
 * @example
 * ```ts
 * import { channelPatternMatches } from "./channel_pattern.ts";
 * channelPatternMatches("metrics.*", "metrics.cpu"); // true
 * channelPatternMatches("metrics.*", "metrics"); // false
 * channelPatternMatches("metrics", "metrics"); // true
 * ```
 */
export function channelPatternMatches(pattern: string, channel: string): boolean {
  if (pattern.endsWith("*")) return channel.startsWith(pattern.slice(0, -1));
  return channel === pattern;
}

/**
 * A set of patterns compiled for fast matching: exact names in a set, prefixes in a short list
 * (a prefix already covered by a shorter one is left out).
 *
 * @example
 * ```ts
 * import { ChannelMatcher } from "./channel_pattern.ts";
 * const everything = new ChannelMatcher(["*"]);
 * everything.matches("any/channel"); // true
 * new ChannelMatcher([]).matches("news"); // false: no pattern, no channel
 * ```
 */
export class ChannelMatcher {
  /** The patterns as given, duplicates removed. */
  readonly patterns: readonly string[];
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  #all = false;

  /** Compiles `patterns`; throws {@link InvalidChannelPatternError} on the first invalid one. */
  constructor(patterns: Iterable<string>) {
    const unique = [...new Set(patterns)];
    const prefixes: string[] = [];
    for (const pattern of unique) {
      if (!isValidChannelPattern(pattern)) throw new InvalidChannelPatternError(pattern);
      if (pattern === "*") this.#all = true;
      else if (pattern.endsWith("*")) prefixes.push(pattern.slice(0, -1));
      else this.#exact.add(pattern);
    }
    // Shortest first, so that a prefix covered by an earlier one is dropped.
    prefixes.sort((a, b) => a.length - b.length);
    for (const prefix of prefixes) {
      if (!this.#prefixes.some((shorter) => prefix.startsWith(shorter))) {
        this.#prefixes.push(prefix);
      }
    }
    this.patterns = unique;
  }

  /** True when no pattern was given: nothing matches. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * True when `channel` matches at least one of the patterns.
   *
   * @example
   * ```ts
   * import { ChannelMatcher } from "./channel_pattern.ts";
   * const subs = new ChannelMatcher(["news", "tenant-7/*"]);
   * subs.matches("tenant-7/orders"); // true
   * subs.matches("tenant-8/orders"); // false
   * ```
   */
  matches(channel: string): boolean {
    if (this.#all || this.#exact.has(channel)) return true;
    for (const prefix of this.#prefixes) {
      if (channel.startsWith(prefix)) return true;
    }
    return false;
  }
}
