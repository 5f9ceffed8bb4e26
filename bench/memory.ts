/**
 * Memory of the tlspush server, measured (issue 3): resident set size (VmRSS of
 * /proc/PID/status) of a real server process
 *
 * 1. at rest, then with 1,000 idle TLS clients (the per-connection cost), then after they left,
 *    over a few connect/leave cycles (memory that climbs every cycle would be a leak);
 * 2. in a fresh server, while one client that never reads is flooded with broadcasts at the
 *    default 8 MiB `--max-pending` (peak VmRSS, sampled and as the kernel's VmHWM), and after
 *    that client has been cut off as a slow consumer.
 *
 * The clients live in this process and the server in its own, so the figures are the server's
 * alone. Linux only (it reads /proc). Loopback only.
 *
 * @example
 * ```sh
 * deno run -A bench/memory.ts                 # 1,000 idle clients, 48 MiB of broadcasts
 * deno run -A bench/memory.ts --clients 5000  # raises `ulimit -n` for both processes itself
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { connectToServer } from "../client/connect.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SERVER_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys=hostname",
  "--allow-ffi",
];

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "1000" },
    cycles: { type: "string", default: "3" },
    "flood-mib": { type: "string", default: "48" },
    "line-kib": { type: "string", default: "64" },
    "settle-ms": { type: "string", default: "3000" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});
const CLIENTS = Number(flags.clients);
const CYCLES = Math.max(1, Number(flags.cycles));
const FLOOD_MIB = Number(flags["flood-mib"]);
const LINE_KIB = Number(flags["line-kib"]);
const SETTLE_MS = Number(flags["settle-ms"]);

/** A server process with its PID, port, log lines and a writer on its standard input. */
class Server {
  readonly log: string[] = [];
  pid = 0;
  port = 0;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output: Promise<void>;

  constructor(args: string[]) {
    // bash raises the descriptor limit for the server and prints the PID it then becomes.
    const script = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; echo "pid $$"; exec "$@"';
    this.#child = new Deno.Command("bash", {
      args: [
        "-c",
        script,
        "bash",
        Deno.execPath(),
        "run",
        ...SERVER_PERMISSIONS,
        "server.ts",
        ...args,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout;
    this.#output = (async () => {
      let rest = "";
      for await (const text of stdout.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        this.log.push(...lines);
      }
    })();
  }

  static async start(args: string[]): Promise<Server> {
    const server = new Server(args);
    server.pid = Number((await server.waitForLog(/^pid \d+$/)).slice(4));
    const listening = await server.waitForLog(/listening on 127\.0\.0\.1:\d+/);
    server.port = Number(listening.match(/:(\d+) /)![1]);
    return server;
  }

  waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return poll(() => this.log.find((line) => pattern.test(line)), timeoutMs, String(pattern));
  }

  count(pattern: RegExp): number {
    return this.log.filter((line) => pattern.test(line)).length;
  }

  /** VmRSS and VmHWM (peak) in KiB. */
  memory(): { rss: number; hwm: number } {
    const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const field = (name: string) =>
      Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m"))![1]);
    return { rss: field("VmRSS"), hwm: field("VmHWM") };
  }

  /** Broadcasts each line (the operator typing on standard input). */
  async type(lines: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(lines));
  }

  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#output;
  }
}

async function poll<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Samples VmRSS every 100 ms for `ms`, returns the last value (the heap settles after GC). */
async function settledRss(server: Server, ms = SETTLE_MS): Promise<number> {
  const deadline = Date.now() + ms;
  let rss = server.memory().rss;
  while (Date.now() < deadline) {
    await sleep(100);
    rss = server.memory().rss;
  }
  return rss;
}

/** The descriptor limit of this process (soft). */
function openFileLimit(): number {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const soft = limits.match(/^Max open files\s+(\d+|unlimited)/m)?.[1];
  return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

async function main(): Promise<void> {
  if (openFileLimit() < CLIENTS + 100) {
    if (Deno.env.get("TLSPUSH_MEMORY_REEXEC")) {
      throw new Error(`ulimit -n is ${openFileLimit()}: too low for ${CLIENTS} clients`);
    }
    // Raise our own limit by running again under bash with `ulimit -n` at the hard limit.
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        'ulimit -n "$(ulimit -Hn)"; exec "$@"',
        "bash",
        Deno.execPath(),
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        ...Deno.args,
      ],
      env: { TLSPUSH_MEMORY_REEXEC: "1" },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    Deno.exit((await child.status).code);
  }

  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-memory-" });
  const caFile = `${certsDir}/ca.pem`;
  const common = ["--hostname", "127.0.0.1", "--port", "0", "--no-ws", "--certs-dir", certsDir];
  const rows: [string, string, string][] = [];
  const figures: Record<string, number> = {};

  // 1. Idle clients, connected and gone again CYCLES times (a leak would climb every cycle).
  console.error(`idle: starting a server, then ${CYCLES} x ${CLIENTS} TLS clients...`);
  const idle = await Server.start([...common, "--max-connections", String(CLIENTS + 10)]);
  const baseline = await settledRss(idle);
  const withClients: number[] = [];
  const afterLeft: number[] = [];
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const conns: Deno.Conn[] = [];
    for (let wave = 0; wave < CLIENTS; wave += 50) {
      const batch = [];
      for (let i = wave; i < Math.min(CLIENTS, wave + 50); i++) {
        batch.push(connectToServer({ hostname: "localhost", port: idle.port, caFile }));
      }
      conns.push(...await Promise.all(batch));
    }
    await poll(
      () => idle.count(/ connected from /) >= cycle * CLIENTS || undefined,
      60_000,
      `${CLIENTS} clients connected`,
    );
    withClients.push(await settledRss(idle));
    for (const conn of conns) {
      await conn.closeWrite().catch(() => {});
      conn.close();
    }
    await poll(
      () => idle.count(/ closed: /) >= cycle * CLIENTS || undefined,
      60_000,
      "all closed",
    );
    afterLeft.push(await settledRss(idle));
  }
  const perConnection = (withClients[0] - baseline) / CLIENTS;
  await idle.stop();
  rows.push(["server at rest", `${mib(baseline)} MiB`, ""]);
  rows.push([
    `${CLIENTS.toLocaleString("en")} idle TLS clients`,
    `${mib(withClients[0])} MiB`,
    `+${mib(withClients[0] - baseline)} MiB: ${perConnection.toFixed(1)} KiB per connection`,
  ]);
  rows.push(["after they all left", `${mib(afterLeft[0])} MiB`, ""]);
  const cycles = withClients.map((kib, i) => `${mib(kib)} / ${mib(afterLeft[i])}`).join(", ");
  Object.assign(figures, {
    restKiB: baseline,
    idleClients: CLIENTS,
    idleKiB: withClients,
    perConnectionKiB: Number(perConnection.toFixed(1)),
    afterIdleLeftKiB: afterLeft,
  });

  // 2. One never-reading client flooded with broadcasts at the default --max-pending (8 MiB).
  console.error(
    `flood: a fresh server, one client that never reads, ${FLOOD_MIB} MiB of broadcasts...`,
  );
  const flood = await Server.start(common);
  const floodBaseline = await settledRss(flood);
  const sleeper = await connectToServer({ hostname: "localhost", port: flood.port, caFile });
  await flood.waitForLog(/ connected from /);
  const line = "x".repeat(LINE_KIB * 1024 - 1) + "\n";
  const lines = Math.ceil((FLOOD_MIB * 1024) / LINE_KIB);
  let peakSampled = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakSampled = Math.max(peakSampled, flood.memory().rss);
      await sleep(5);
    }
  })();
  let typed = 0;
  for (; typed < lines && flood.count(/slow consumer/) === 0; typed++) await flood.type(line);
  const cut = await flood.waitForLog(/slow consumer/, 10_000).catch(() =>
    `not cut off: ${typed} lines typed (raise --flood-mib)`
  );
  await sleep(500);
  sampling = false;
  await sampler;
  const peakHwm = flood.memory().hwm;
  const afterCut = await settledRss(flood);
  sleeper.close();
  await flood.stop();
  const sentMiB = (typed * LINE_KIB) / 1024;
  rows.push(["fresh server at rest", `${mib(floodBaseline)} MiB`, ""]);
  rows.push([
    "flooding 1 never-reading client (--max-pending 8 MiB)",
    `${mib(Math.max(peakSampled, peakHwm))} MiB peak`,
    `VmHWM ${mib(peakHwm)} MiB, sampled ${mib(peakSampled)} MiB; ` +
    `${sentMiB.toFixed(0)} MiB broadcast in ${LINE_KIB} KiB lines before the cut`,
  ]);
  rows.push(["after it was cut off", `${mib(afterCut)} MiB`, ""]);
  Object.assign(figures, {
    floodRestKiB: floodBaseline,
    floodPeakKiB: Math.max(peakSampled, peakHwm),
    floodBroadcastMiB: sentMiB,
    afterCutKiB: afterCut,
  });
  await Deno.remove(certsDir, { recursive: true });

  const width = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length), 8));
  const print = (row: string[]) =>
    console.log(`| ${row.map((cell, i) => cell.padEnd(width[i])).join(" | ")} |`);
  console.log(`tlspush server memory (VmRSS), Deno ${Deno.version.deno}, ${Deno.build.os}`);
  print(["server state", "VmRSS", "note"]);
  console.log(`|${width.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) print(row);
  console.log(
    `${CYCLES} connect/leave cycles of ${CLIENTS} clients, MiB with them / after: ${cycles}`,
  );
  console.log(`cut-off line: ${cut.replace(/^\S+ /, "")}`);
  if (flags.json) console.log(JSON.stringify(figures));
}

if (import.meta.main) await main();
