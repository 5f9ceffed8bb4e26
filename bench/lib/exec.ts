/**
 * Small process helpers shared by the benchmark runner.
 *
 * @module
 */

/** Result of a finished command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion, killing it after `timeoutMs` so a stuck tool
 * can never hang the benchmark.
 *
 * @example
 * ```ts
 * const { stdout } = await run("node", ["--version"]);
 * ```
 */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal,
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`'${cmd}' is not installed`);
    throw err;
  }
  if (signal.aborted) {
    throw new Error(`${cmd} ${args.join(" ")} did not finish within ${options.timeoutMs} ms`);
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command and returns its stdout, throwing with its stderr if it fails. */
export async function runOk(
  cmd: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  const res = await run(cmd, args, options);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${res.code}): ${res.stderr.trim()}`);
  }
  return res.stdout;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds a `bash -c` invocation that raises the open-files limit to the hard
 * limit (thousands of sockets) and pins `argv` to one CPU with taskset.
 */
export function pinned(cpu: number, argv: string[], redirects = ""): string[] {
  return [
    "-c",
    `ulimit -n "$(ulimit -Hn)" && exec taskset -c ${cpu} "$@" ${redirects}`,
    "bash",
    ...argv,
  ];
}
