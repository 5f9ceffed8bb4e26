/**
 * `deno task compile`: `deno compile` for the server and the client (see `compile_targets.ts`),
 * with one clear line instead of Deno's chain of causes and `Stack backtrace:` when the runtime
 * base (`denort`) cannot be downloaded. Any other failure is shown as Deno reported it, with
 * its exit status; a success prints what Deno printed.
 *
 * @example
 * ```sh
 * deno task compile                       # dist/tlspush-server and dist/tlspush-client
 * deno task compile --output-dir /tmp/bin
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { COMPILE_TARGETS, type CompileTarget } from "./compile_targets.ts";
import { RuntimeBaseError, runtimeBaseFailure } from "./runtime_base_error.ts";

const USAGE = `Usage: deno task compile [--output-dir DIR]

Compiles tlspush-server and tlspush-client into DIR (default dist), each with the
permissions its deno task has. Needs Deno's runtime base (denort), which deno compile
downloads from dl.deno.land (or takes from DENORT_BIN).

  --output-dir DIR  where the executables are written (default dist)
  --help            show this help`;

/**
 * The exit status and the whole output (stdout, then stderr) of one `deno` run.
 *
 * @example
 * ```ts
 * import type { DenoResult } from "./compile.ts";
 * const result: DenoResult = { code: 0, output: "Compile server.ts to dist/tlspush-server\n" };
 * ```
 */
export interface DenoResult {
  /** The exit status. */
  code: number;
  /** What it printed. */
  output: string;
}

/**
 * Runs `deno ARGS`; tests pass their own.
 *
 * @example
 * ```ts
 * import type { DenoRunner } from "./compile.ts";
 * const offline: DenoRunner = () => Promise.resolve({ code: 1, output: "error: ..." });
 * ```
 */
export type DenoRunner = (args: string[]) => Promise<DenoResult>;

/**
 * `deno compile` failed for a reason other than the runtime base: its own output says why.
 *
 * @example
 * ```ts
 * import { CompileError } from "./compile.ts";
 * const error = new CompileError("server.ts", { code: 1, output: "error: TS2322 ..." });
 * error.result.code; // 1
 * ```
 */
export class CompileError extends Error {
  /** Creates the error for `entry` with what Deno printed. */
  constructor(entry: string, readonly result: DenoResult) {
    super(`deno compile ${entry} failed with status ${result.code}`);
    this.name = "CompileError";
  }
}

/**
 * The `deno` arguments that compile `target` into `outputDir`.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * import { COMPILE_TARGETS } from "./compile_targets.ts";
 * compileArgs(COMPILE_TARGETS[1], "dist");
 * // ["compile", "--allow-net", "--allow-read", "--output", "dist/tlspush-client", "client.ts"]
 * ```
 */
export function compileArgs(target: CompileTarget, outputDir: string): string[] {
  return [
    "compile",
    ...(target.unstable ?? []),
    ...target.permissions,
    "--output",
    `${outputDir}/${target.output}`,
    target.entry,
  ];
}

/**
 * Runs the `deno` that runs this script, collecting its output. It runs in this script's working
 * directory, the repository root under `deno task`, where the entry points are.
 */
const runDeno: DenoRunner = async (args) => {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
};

/**
 * Compiles every target into `outputDir`; resolves with what Deno printed for each. Throws a
 * {@link RuntimeBaseError} when the runtime base could not be had, a {@link CompileError} for
 * any other failure.
 *
 * @example
 * ```ts
 * import { compileAll } from "./compile.ts";
 * const outputs = await compileAll({ outputDir: "dist" });
 * ```
 */
export async function compileAll(options: {
  outputDir: string;
  run?: DenoRunner;
  targets?: readonly CompileTarget[];
}): Promise<string[]> {
  const run = options.run ?? runDeno;
  const outputs: string[] = [];
  for (const target of options.targets ?? COMPILE_TARGETS) {
    const result = await run(compileArgs(target, options.outputDir));
    if (result.code !== 0) {
      throw runtimeBaseFailure(result.output) ?? new CompileError(target.entry, result);
    }
    outputs.push(result.output);
  }
  return outputs;
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { "output-dir": { type: "string", default: "dist" }, help: { type: "boolean" } },
    }));
  } catch (error) {
    console.error(`compile: ${(error as Error).message}\nTry 'deno task compile --help'.`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    for (const output of await compileAll({ outputDir: values["output-dir"] })) {
      await Deno.stderr.write(new TextEncoder().encode(output));
    }
  } catch (error) {
    if (error instanceof RuntimeBaseError) {
      console.error(`compile: ${error.message}`);
      Deno.exit(1);
    }
    if (error instanceof CompileError) {
      await Deno.stderr.write(new TextEncoder().encode(error.result.output));
      Deno.exit(error.result.code);
    }
    throw error;
  }
}
