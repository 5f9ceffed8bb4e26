/**
 * Builds and drives the C++ load generator (bench/loadgen/loadgen.cc), pinned
 * to CPU 1 while the server under test has CPU 0.
 *
 * @module
 */

import { pinned, runOk, sleep } from "./exec.ts";

/** CPU the load generator runs on. */
export const LOADGEN_CPU = 1;

/** One JSON result line of the load generator (fields depend on the mode). */
export type LoadgenResult = Record<string, unknown> & {
  loadgen_cpu_pct: number;
  server_cpu_pct: number;
};

/**
 * Compiles the load generator into `buildDir` unless an up-to-date binary is
 * there, and returns its path.
 *
 * @example
 * ```ts
 * const bin = await buildLoadgen("bench/loadgen/loadgen.cc", "bench/.build");
 * ```
 */
export async function buildLoadgen(source: string, buildDir: string): Promise<string> {
  const bin = `${buildDir}/loadgen`;
  const srcTime = (await Deno.stat(source)).mtime?.getTime() ?? 0;
  const binTime = await Deno.stat(bin).then((s) => s.mtime?.getTime() ?? 0, () => 0);
  if (binTime > srcTime) return bin;
  await Deno.mkdir(buildDir, { recursive: true });
  await runOk("g++", ["-O2", "-std=c++17", "-Wall", "-o", bin, source, "-lssl", "-lcrypto"], {
    timeoutMs: 180_000,
  });
  return bin;
}

function parseResult(stdout: string, stderr: string): LoadgenResult {
  const lines = stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  const last = lines.at(-1);
  if (!last) throw new Error(`load generator printed no result: ${stderr.trim()}`);
  const result = JSON.parse(last);
  if (!result.ok) throw new Error(`load generator: ${result.error}`);
  return result;
}

/** Common flags: where the server is, what to trust, whose CPU to watch. */
export interface Target {
  port: number;
  ca: string;
  pid: number;
}

function targetFlags(t: Target, timeoutS: number): string[] {
  return [
    "--port",
    String(t.port),
    "--ca",
    t.ca,
    "--server-pid",
    String(t.pid),
    "--timeout",
    String(timeoutS),
  ];
}

/**
 * Runs one bounded load generator mode (echo, latency, handshake) and returns
 * its result. `timeoutS` bounds the load generator; the runner kills it 15 s
 * later if it somehow overstays.
 */
export async function runLoadgen(
  bin: string,
  mode: string,
  target: Target,
  flags: Record<string, string | number>,
  timeoutS: number,
): Promise<LoadgenResult> {
  const args = [mode, ...targetFlags(target, timeoutS)];
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
  const out = await new Deno.Command("bash", {
    args: pinned(LOADGEN_CPU, [bin, ...args]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((timeoutS + 15) * 1000),
  }).output();
  const dec = new TextDecoder();
  return parseResult(dec.decode(out.stdout), dec.decode(out.stderr));
}

/**
 * The fan-out scenario: the load generator connects `conns` clients and says
 * ready; `whileReady` then runs (the runner samples RSS), and the load
 * generator times `rounds` broadcasts that it writes into `fifo` itself.
 */
export async function runFanout(
  bin: string,
  target: Target,
  fifo: string,
  flags: Record<string, string | number>,
  timeoutS: number,
  whileReady: (ready: Record<string, unknown>) => Promise<void>,
): Promise<LoadgenResult> {
  const args = ["fanout", ...targetFlags(target, timeoutS), "--fifo", fifo];
  for (const [k, v] of Object.entries(flags)) args.push(`--${k}`, String(v));
  const child = new Deno.Command("bash", {
    args: pinned(LOADGEN_CPU, [bin, ...args]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((timeoutS + 15) * 1000),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let goSent = false;
  const writer = child.stdin.getWriter();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const readyLine = text.split("\n").find((l) => l.includes('"event":"ready"'));
      if (readyLine && !goSent) {
        goSent = true;
        await whileReady(JSON.parse(readyLine));
        await writer.write(new TextEncoder().encode("go\n"));
      }
    }
  } finally {
    await writer.close().catch(() => {});
    await child.status;
  }
  await sleep(0);
  return parseResult(text, await stderr);
}
