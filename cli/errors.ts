/**
 * How the programs end: a usage error (bad flag or value) exits 2 with a hint, an expected
 * runtime failure exits 1 with one clear line, never a stack trace.
 *
 * @example
 * ```ts
 * import { runMain, UsageError } from "./errors.ts";
 * await runMain("tlspush-client", () => {
 *   throw new UsageError("--port must be a number from 0 to 65535");
 * });
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";

/**
 * A bad flag or flag value: exit status 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * throw new UsageError("--send and --listen exclude each other"); // exit status 2
 * ```
 */
export class UsageError extends Error {
  /** Creates the error with the one line to print. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs a program's main function and turns its outcome into an exit status.
 *
 * @example
 * ```ts
 * import { runMain } from "./errors.ts";
 * import { TlspushError } from "../util/errors.ts";
 * await runMain("tlspush-server", () => {
 *   throw new TlspushError("cannot listen on 127.0.0.1:9002: address already in use");
 * }); // prints "tlspush-server: cannot listen on ...", exits 1
 * ```
 */
export async function runMain(
  program: string,
  main: () => Promise<number | void> | number | void,
): Promise<never> {
  let status: number;
  try {
    status = (await main()) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${program}: ${error.message}\nTry '${program} --help' for usage.`);
      status = 2;
    } else {
      console.error(`${program}: ${describeError(error)}`);
      status = 1;
    }
  }
  Deno.exit(status);
}
