/**
 * Recognising, in the output of a failed `deno compile`, that the runtime base (`denort`)
 * could not be had, and saying so in one line with what to do. `deno compile` downloads that
 * base from dl.deno.land; offline, or behind a network that does not reach it, it ends in a
 * chain of causes and a `Stack backtrace:` that tell a user little.
 *
 * @example
 * ```ts
 * import { runtimeBaseFailure } from "./runtime_base_error.ts";
 * const output = "error: Writing deno compile executable to temporary file 'x'\n" +
 *   "Caused by:\n    0: Setting up base binary.\n" +
 *   "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x.zip): " +
 *   "client error (Connect): dns error: failed to lookup address information\n";
 * runtimeBaseFailure(output)?.message; // "could not download Deno's runtime base (denort) ..."
 * ```
 * @module
 */

/**
 * `deno compile` could not get its runtime base; the message is the one line to show.
 *
 * @example
 * ```ts
 * import { RuntimeBaseError } from "./runtime_base_error.ts";
 * throw new RuntimeBaseError("could not download Deno's runtime base (denort) from ...");
 * ```
 */
export class RuntimeBaseError extends Error {
  /** Creates the error with the one line to print. */
  constructor(message: string) {
    super(message);
    this.name = "RuntimeBaseError";
  }
}

const DOWNLOAD_FAILED = /error sending request for url \(([^)]+)\)(?::\s*(.*))?/;
const DENORT_MISSING = /Could not find denort at '([^']*)'/;

/** What a user can do when the download fails. */
const REMEDY = "run deno task compile on a machine that reaches dl.deno.land, or download that " +
  "file there, unzip it and run again with DENORT_BIN=/path/to/denort " +
  "(deno task bundle needs no download)";

/**
 * The {@link RuntimeBaseError} that a failed `deno compile`'s `output` shows, or `undefined`
 * when it failed for another reason (a type error, an unwritable output...).
 *
 * @example
 * ```ts
 * import { runtimeBaseFailure } from "./runtime_base_error.ts";
 * runtimeBaseFailure("error: TS2322 [ERROR]: Type 'string' is not assignable"); // undefined
 * ```
 */
export function runtimeBaseFailure(output: string): RuntimeBaseError | undefined {
  // Colours off, and the backtrace (whose numbered frames look like causes) cut away.
  // deno-lint-ignore no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*m/g, "").split(/^Stack backtrace:/m)[0];
  const download = text.match(DOWNLOAD_FAILED);
  if (download) {
    const reason = lastCause(text) ?? download[2]?.trim() ?? "request failed";
    return new RuntimeBaseError(
      `could not download Deno's runtime base (denort) from ${download[1]} (${reason}): ${REMEDY}`,
    );
  }
  const missing = text.match(DENORT_MISSING);
  if (missing) {
    return new RuntimeBaseError(
      `DENORT_BIN names ${missing[1]}, which does not exist: point it at an unzipped denort of ` +
        `this Deno version (${Deno.version.deno}), or unset it to download the runtime base`,
    );
  }
  if (/Setting up base binary/.test(text)) {
    return new RuntimeBaseError(
      `could not set up Deno's runtime base (denort): ${lastCause(text) ?? "unknown cause"}`,
    );
  }
  return undefined;
}

/** The innermost of Deno's numbered `Caused by:` lines, the most specific reason. */
function lastCause(text: string): string | undefined {
  const causes = [...text.matchAll(/^\s*\d+: (.+)$/gm)].map((match) => match[1].trim());
  return causes.at(-1);
}
