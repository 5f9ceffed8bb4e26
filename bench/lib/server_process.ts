/**
 * Starts a server under test pinned to CPU 0, with its standard input on a
 * FIFO (so the load generator can write broadcast lines itself and time them
 * precisely) and its log in a file (so logging costs a write, not a pipe the
 * runner must drain while it should be idle).
 *
 * @module
 */

import { runOk, sleep } from "./exec.ts";
import type { BenchCerts } from "./certs.ts";

/**
 * Which implementation to run: tlspush, the Node.js reference, or the Deno floor (a minimal
 * Deno TLS echo, bench/reference/deno_floor.ts: what the runtime itself costs).
 */
export type ServerKind = "tlspush" | "reference" | "floor";

/** CPU the servers run on; the load generator gets the other one. */
export const SERVER_CPU = 0;

/** A running server. */
export interface ServerProcess {
  kind: ServerKind;
  pid: number;
  port: number;
  /** FIFO that is the server's standard input. */
  fifo: string;
  /** Resident set size now, in KiB (from /proc/PID/status). */
  rssKiB(): Promise<number>;
  /** Throws if the server has exited. */
  assertAlive(): void;
  /** Last lines of the server's log, for error messages. */
  logTail(lines?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with a problem or null. */
  stop(): Promise<string | null>;
}

function command(kind: ServerKind, certs: BenchCerts, profileDir?: string): string[] {
  const flags = [
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--cert",
    certs.cert,
    "--key",
    certs.key,
  ];
  if (kind === "reference") return ["node", "bench/reference/server.mjs", ...flags];
  if (kind === "floor") {
    return [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "bench/reference/deno_floor.ts",
      ...flags,
    ];
  }
  // As `deno task server` runs it (--allow-ffi lets it force-close sockets
  // for its handshake timeout), minus the HTTPS/WebSocket side, which the
  // reference does not have and whose fixed default port may be taken, and
  // with no connection cap so 10,000 fan-out clients are all admitted.
  return [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-sys",
    "--allow-env",
    "--allow-ffi",
    ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
    "server.ts",
    ...flags,
    "--no-ws",
    "--max-connections",
    "0",
  ];
}

/**
 * Starts `kind` from `root` and waits (at most 30 s) for its
 * `listening on HOST:PORT` line.
 *
 * @example
 * ```ts
 * const server = await startServer("reference", certs, ".", tmp, "echo");
 * await server.stop();
 * ```
 */
export async function startServer(
  kind: ServerKind,
  certs: BenchCerts,
  root: string,
  tmp: string,
  tag: string,
  profileDir?: string,
): Promise<ServerProcess> {
  const fifo = `${tmp}/${kind}-${tag}.stdin`;
  const logPath = `${tmp}/${kind}-${tag}.log`;
  await runOk("mkfifo", [fifo]);
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n "$(ulimit -Hn)" && exec taskset -c ${SERVER_CPU} "$@" <"$FIFO" >"$LOG" 2>&1`,
      "bash",
      ...command(kind, certs, profileDir),
    ],
    cwd: root,
    env: { FIFO: fifo, LOG: logPath },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Opening a FIFO read-write never blocks, and holding a writer means the
  // server never sees end of input while the benchmark runs.
  const stdinHolder = await Deno.open(fifo, { read: true, write: true });
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => (exited = s));

  const logTail = async (lines = 15): Promise<string> => {
    try {
      const text = await Deno.readTextFile(logPath);
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  };
  const describeExit = async (s: Deno.CommandStatus) =>
    `${kind} server exited (code ${s.code}${s.signal ? `, signal ${s.signal}` : ""}); ` +
    `its log ends:\n${await logTail()}`;

  let port = 0;
  const until = Date.now() + 30_000;
  while (port === 0) {
    if (exited) {
      stdinHolder.close();
      throw new Error(await describeExit(exited));
    }
    if (Date.now() > until) {
      child.kill("SIGKILL");
      await status;
      stdinHolder.close();
      throw new Error(
        `${kind} server printed no 'listening on' line within 30 s:\n${await logTail()}`,
      );
    }
    const m = (await logTail(50)).match(/listening on \[?[^\s\]]*\]?:(\d+)/);
    if (m) port = Number(m[1]);
    else await sleep(50);
  }

  return {
    kind,
    pid: child.pid,
    port,
    fifo,
    async rssKiB() {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const m = text.match(/VmRSS:\s+(\d+) kB/);
      if (!m) throw new Error(`no VmRSS for ${kind} server`);
      return Number(m[1]);
    },
    assertAlive() {
      if (exited) throw new Error(`${kind} server exited (code ${exited.code})`);
    },
    logTail,
    async stop() {
      if (exited) {
        stdinHolder.close();
        return await describeExit(exited);
      }
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const s = await status;
      clearTimeout(killer);
      stdinHolder.close();
      if (s.code !== 0) return `${kind} server did not exit 0 on SIGTERM (code ${s.code})`;
      return null;
    },
  };
}
