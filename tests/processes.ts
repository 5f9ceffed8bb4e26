/**
 * Starting the real programs as a user would (subprocesses of `deno run`), with their output
 * collected line by line.
 *
 * @example
 * ```ts
 * import { ServerProcess } from "./processes.ts";
 * const server = await ServerProcess.start(["--certs-dir", "/tmp/x"]);
 * await server.stop();
 * ```
 * @module
 */
import { waitFor } from "./helpers.ts";
import { readLines } from "../util/lines.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Permissions the programs are run with (the same as the deno.json tasks). */
export const SERVER_PERMISSIONS = [
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys=hostname",
  "--allow-ffi",
  "--allow-env=TLSPUSH_ADMIN_TOKEN,TLSPUSH_PUBLISH_TOKEN,TLSPUSH_JWT_SECRET,REDIS_DEBUG_MAINTENANCE",
];
export const CLIENT_PERMISSIONS = ["--allow-net", "--allow-read"];

/** Environment for children: backtraces on, to prove expected failures never print one. */
const ENV = { RUST_BACKTRACE: "1", NO_COLOR: "1" };

/** The result of a program run to its end. */
export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` (a path from the repository root) to its end, feeding it `stdin`. */
export async function runProgram(
  program: string,
  args: string[],
  options: { stdin?: string; permissions?: string[]; timeoutMs?: number } = {},
): Promise<ProgramResult> {
  const permissions = options.permissions ??
    (program === "server.ts" ? SERVER_PERMISSIONS : CLIENT_PERMISSIONS);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, program, ...args],
    cwd: ROOT,
    env: ENV,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  const output = await child.output();
  clearTimeout(timer);
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** A program running in the background whose output lines are collected as they come. */
export class BackgroundProgram {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #done: Promise<[Deno.CommandStatus, void, void]>;

  /** Spawns `command` (program and arguments) in `cwd`, the repository root by default. */
  constructor(command: string[], cwd: string = ROOT) {
    this.#child = new Deno.Command(command[0], {
      args: command.slice(1),
      cwd,
      env: ENV,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#done = Promise.all([
      this.#child.status,
      collectLines(this.#child.stdout, this.stdout),
      collectLines(this.#child.stderr, this.stderr),
    ]);
  }

  /** Spawns `deno run PERMISSIONS program ARGS` from the repository root. */
  static denoRun(program: string, args: string[], permissions: string[]): BackgroundProgram {
    return new BackgroundProgram([Deno.execPath(), "run", ...permissions, program, ...args]);
  }

  /** Types a line on the program's standard input. */
  async type(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
  }

  /** Closes the program's standard input. */
  async endInput(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  /** Waits for a stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    return waitFor(
      () => this.stdout.find((line) => pattern.test(line)),
      timeoutMs,
      `${pattern} in stdout:\n${this.stdout.join("\n")}\nstderr:\n${this.stderr.join("\n")}`,
    );
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // exited already
    }
  }

  /** Waits for the exit (killing it after `timeoutMs`); returns its status. */
  async exited(timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs);
    const [status] = await this.#done;
    clearTimeout(timer);
    await this.endInput();
    return status;
  }
}

/** The server program, started and waited for until it listens. */
export class ServerProcess extends BackgroundProgram {
  port = 0;

  /** Starts `server.ts` on 127.0.0.1 with a free port and waits for its `listening on` line. */
  static async start(args: string[]): Promise<ServerProcess> {
    const server = new ServerProcess(serverCommand(args));
    await server.listening();
    return server;
  }

  /** Waits for the `listening on` line and takes the port from it. */
  protected async listening(): Promise<void> {
    const line = await this.waitForLine(/listening on 127\.0\.0\.1:\d+/);
    this.port = Number(line.match(/listening on 127\.0\.0\.1:(\d+)/)![1]);
  }

  /** The HTTPS/WebSocket port (`--ws-port 0` picks it), from its `listening on` line. */
  async webPort(): Promise<number> {
    const line = await this.waitForLine(/wss? listening on 127\.0\.0\.1:\d+/);
    return Number(line.match(/wss? listening on 127\.0\.0\.1:(\d+)/)![1]);
  }

  /** SIGTERM, then the exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    return await this.exited();
  }
}

/**
 * The server program started through `bash -c 'echo pid $$; exec deno run ...'`, so that its
 * PID is known, with `ulimit -n` at the hard limit (room for thousands of sockets), and its
 * VmRSS and open descriptors read by `cat` and `ls` (Deno itself may read /proc only with
 * --allow-all).
 */
export class MeasuredServer extends ServerProcess {
  pid = 0;

  /** Starts `server.ts` on 127.0.0.1 with free ports and waits until it listens. */
  static override async start(args: string[]): Promise<MeasuredServer> {
    const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; echo "pid $$"; exec "$@"';
    const server = new MeasuredServer(["bash", "-c", script, "bash", ...serverCommand(args)]);
    server.pid = Number((await server.waitForLine(/^pid \d+$/)).slice(4));
    await server.listening();
    return server;
  }

  /** Resident memory in KiB (VmRSS of /proc/PID/status). */
  async rssKiB(): Promise<number> {
    const status = await output("cat", [`/proc/${this.pid}/status`]);
    return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)![1]);
  }

  /** Open file descriptors (entries of /proc/PID/fd). */
  async openFds(): Promise<number> {
    return (await output("ls", [`/proc/${this.pid}/fd`])).split("\n").filter(Boolean).length;
  }
}

/** `deno run` of the server on 127.0.0.1 with free ports, then `args`. */
function serverCommand(args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    ...SERVER_PERMISSIONS,
    "server.ts",
    ...["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0", ...args],
  ];
}

/** Runs a command to its end; its stdout, or an error if it failed. */
export async function output(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!result.success) throw new Error(`${command} ${args.join(" ")} failed`);
  return new TextDecoder().decode(result.stdout);
}

async function collectLines(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  for await (const line of readLines(stream)) into.push(line);
}

/** Runs `deno ARGS` from the repository root; returns the status and all output. */
export async function runDeno(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}
