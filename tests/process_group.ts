/**
 * A command started in its own session and process group, as a terminal starts a foreground
 * job, so a test can signal the whole group the way Ctrl-C does (`kill -INT -PGID`): `npx`,
 * `deno task` and the program each get the signal, and forward it as they would.
 *
 * @example
 * ```ts
 * import { ProcessGroup } from "./process_group.ts";
 * const job = new ProcessGroup([Deno.execPath(), "task", "server", "--port", "0"]);
 * await job.waitForLine(/listening on/);
 * job.signalGroup("SIGINT"); // what Ctrl-C in a terminal does
 * const status = await job.exited();
 * ```
 * @module
 */
import { waitFor } from "./helpers.ts";
import { readLines } from "../util/lines.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A job in its own process group, with its output lines collected as they come. */
export class ProcessGroup {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Whether every process holding the output pipes has gone (the whole job, not only its leader). */
  outputClosed = false;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output: Promise<unknown>;

  /** Spawns `command` in `cwd` (the repository root by default) as a new session. */
  constructor(command: string[], cwd: string = ROOT) {
    this.#child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd,
      env: { RUST_BACKTRACE: "1", NO_COLOR: "1" },
      detached: true, // setsid(): its own session and process group
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#output = Promise.all([
      collect(this.#child.stdout, this.stdout),
      collect(this.#child.stderr, this.stderr),
    ]).then(() => this.outputClosed = true);
  }

  /** The leader's process id, which is also the process group id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends `signal` to every process of the group, as a terminal does on Ctrl-C. */
  signalGroup(signal: Deno.Signal): void {
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch {
      // the whole group has exited already
    }
  }

  /** Types a line on the job's standard input. */
  async type(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  /** Waits for a stdout line matching `pattern`; fails at once if the job ends without one. */
  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    try {
      return await waitFor(
        () => {
          const line = this.stdout.find((line) => pattern.test(line));
          if (line === undefined && this.outputClosed) throw new Error(`the job ended`);
          return line;
        },
        timeoutMs,
        String(pattern),
      );
    } catch (error) {
      throw new Error(
        `no line ${pattern}: ${(error as Error).message}\nstdout:\n${this.stdout.join("\n")}\n` +
          `stderr:\n${this.stderr.join("\n")}`,
      );
    }
  }

  /** The leader's exit status (killing the group after `timeoutMs`). */
  async exited(timeoutMs = 30_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => this.signalGroup("SIGKILL"), timeoutMs);
    try {
      return await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until every process of the job has closed its output (killing it after `timeoutMs`). */
  async allExited(timeoutMs = 30_000): Promise<void> {
    const timer = setTimeout(() => this.signalGroup("SIGKILL"), timeoutMs);
    try {
      await this.#output;
      await this.#child.status;
    } finally {
      clearTimeout(timer);
      await this.#stdin.close().catch(() => {});
    }
  }

  /** Kills whatever is left of the group and waits for it (cleanup after a failed test). */
  async kill(): Promise<void> {
    this.signalGroup("SIGKILL");
    await this.allExited(5_000).catch(() => {});
  }
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  for await (const line of readLines(stream)) into.push(line);
}
