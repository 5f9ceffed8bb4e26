/**
 * The benchmark scenarios of issue 4. Each group runs against a freshly
 * started server, so one scenario's heap, JIT state or lingering sockets never
 * colour the next, and yields one or more metrics.
 *
 * @module
 */

import { sleep } from "./exec.ts";
import { type LoadgenResult, runFanout, runLoadgen, type Target } from "./loadgen.ts";
import type { ServerProcess } from "./server_process.ts";

/** Run lengths for quick (default) and `--full` runs. */
export interface Settings {
  full: boolean;
  warmupS: number;
  durationS: number;
  /** Measured window of the many-connection echo rows (shorter in quick runs). */
  manyS: number;
  latencyCount: number;
  latencyWarm: number;
  fanoutConns: number;
  fanoutRounds: number;
  handshakeS: number;
  /** Clients the scale group asks for (capped by the descriptor limit). */
  scaleConns: number;
  /** The load generator spins on its own core instead of sleeping in epoll_wait. */
  busyPoll: boolean;
}

/**
 * Quick mode stays around 2 minutes for both servers; `scaleConns` overrides the clients of
 * the scale group.
 *
 * @example
 * ```ts
 * import { settings } from "./scenarios.ts";
 * settings(false).durationS; // 3
 * ```
 */
export function settings(full: boolean, scaleConns = 50_000, busyPoll = true): Settings {
  return full
    ? {
      full,
      warmupS: 2,
      durationS: 10,
      manyS: 10,
      latencyCount: 100_000,
      latencyWarm: 50_000,
      fanoutConns: 10_000,
      fanoutRounds: 20,
      handshakeS: 10,
      scaleConns,
      busyPoll,
    }
    : {
      full,
      warmupS: 1,
      durationS: 3,
      manyS: 2,
      latencyCount: 20_000,
      // A fresh server's first ~0.7 s of traffic holds stalls of 1-4 ms while V8 optimizes the
      // hot path (the slowest round trips fall at the same moments of every run, the Deno floor
      // has them too); 20,000 round trips of warm-up measure the steady state instead.
      latencyWarm: 20_000,
      fanoutConns: 5_000,
      fanoutRounds: 20,
      handshakeS: 3,
      scaleConns,
      busyPoll,
    };
}

/** Where a metric is reported: the schema, the extra figures, or the scale group's. */
export type Section = "scenarios" | "extra" | "scale";

/** A reported figure. */
export interface MetricDef {
  key: string;
  unit: string;
  higherIsBetter: boolean;
  section: Section;
}

/** Latency percentiles (µs) of one run, with the histogram they come from. */
export interface LatencySummary {
  samples: number;
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  p9999_us: number;
  max_us: number;
  /** Non-empty buckets: [lower bound in µs, count], 32 per power of two. */
  hist: [number, number][];
}

/** A figure from one run plus the CPU check that makes it trustworthy. */
export interface Measurement {
  value: number;
  loadgenCpuPct: number;
  /**
   * How loaded the load generator was: its CPU time, or with busy polling (CPU always 100%) the
   * share of the window it was not polling in vain. NaN if unknown.
   */
  loadgenBusyPct: number;
  serverCpuPct: number;
  /** How busy the server's CPU was in all (other tenants included); NaN if unknown. */
  cpu0BusyPct: number;
  /** Per-message latency of the same window, where the scenario measures it. */
  latency?: LatencySummary;
}

/** What a group needs to run. */
export interface GroupContext {
  bin: string;
  ca: string;
  server: ServerProcess;
  settings: Settings;
  log: (msg: string) => void;
  /** Adds a line to the report's notes (once). */
  note: (msg: string) => void;
}

/** The figures of one group run, by metric key. */
export type Figures = Record<string, Measurement>;

/** A set of metrics measured in one server lifetime. */
export interface Group {
  name: string;
  /** Suites it belongs to (`--suite`): `quick` is the default run. */
  suites: Suite[];
  /** The Deno floor runs this group too (with `--floor`); default true. */
  floor?: boolean;
  metrics: MetricDef[];
  run(ctx: GroupContext): Promise<Figures>;
}

/** Named sets of groups: `quick` (default), `scale` (the 50,000-client run). */
export type Suite = "quick" | "scale";

const metric = (
  key: string,
  unit: string,
  higherIsBetter: boolean,
  section: Section = "scenarios",
): MetricDef => ({ key, unit, higherIsBetter, section });

const target = (ctx: GroupContext): Target => ({
  port: ctx.server.port,
  ca: ctx.ca,
  pid: ctx.server.pid,
});

const measured = (value: number, r: LoadgenResult): Measurement => ({
  value,
  loadgenCpuPct: r.loadgen_cpu_pct,
  loadgenBusyPct: (r.loadgen_busy_pct as number | undefined) ?? r.loadgen_cpu_pct,
  serverCpuPct: r.server_cpu_pct,
  cpu0BusyPct: (r.cpu0_busy_pct as number | undefined) ?? NaN,
  latency: r.latency as LatencySummary | undefined,
});

/** A figure with no CPU check of its own (memory, counts). */
const plain = (value: number): Measurement => ({
  value,
  loadgenCpuPct: NaN,
  loadgenBusyPct: NaN,
  serverCpuPct: NaN,
  cpu0BusyPct: NaN,
});

const busy = (ctx: GroupContext) => ({ "busy-poll": ctx.settings.busyPoll ? 1 : 0 });

/** Pipelined echo: `window` frames in flight on each connection. */
function echoGroup(
  name: string,
  size: number,
  conns: number,
  window: number,
  pick: (r: LoadgenResult) => Record<string, number>,
  metrics: MetricDef[],
  many = false,
): Group {
  return {
    name,
    suites: ["quick"],
    metrics,
    async run(ctx) {
      const s = ctx.settings;
      const duration = many ? s.manyS : s.durationS;
      const r = await runLoadgen(ctx.bin, "echo", target(ctx), {
        size,
        conns,
        window,
        warmup: s.warmupS,
        duration,
        concurrency: 128,
        ...busy(ctx),
      }, s.warmupS + duration + 60);
      ctx.log(`${r.protocol} ${r.cipher}`);
      return Object.fromEntries(
        Object.entries(pick(r)).map(([k, v]) => [k, measured(v, r)]),
      );
    },
  };
}

const MSGS = "msgs/s";

/** A many-connection echo row: `conns` connections with `window` frames in flight on each. */
function manyGroup(key: string, size: number, conns: number, window: number): Group {
  return echoGroup(
    key,
    size,
    conns,
    window,
    (r) => ({
      [key]: r.msgs_per_s as number,
    }),
    [metric(key, MSGS, true)],
    true,
  );
}

/** All groups, in run order. */
export const GROUPS: Group[] = [
  echoGroup("echo_64b_1conn", 64, 1, 256, (r) => ({
    echo_64b_1conn: r.msgs_per_s as number,
  }), [metric("echo_64b_1conn", MSGS, true)]),
  echoGroup("echo_64b_100conn", 64, 100, 256, (r) => ({
    echo_64b_100conn: r.msgs_per_s as number,
  }), [metric("echo_64b_100conn", MSGS, true)]),
  // The regime of real push servers: many connections, few frames in flight on each.
  manyGroup("echo_64b_100conn_w64", 64, 100, 64),
  manyGroup("echo_64b_100conn_w8", 64, 100, 8),
  manyGroup("echo_64b_1000conn_w1", 64, 1000, 1),
  manyGroup("echo_1k_1000conn_w4", 1024, 1000, 4),
  echoGroup("echo_1k_1conn", 1024, 1, 256, (r) => ({
    echo_1k_1conn: r.msgs_per_s as number,
    echo_1k_1conn_mb_s: r.mb_per_s as number,
  }), [metric("echo_1k_1conn", MSGS, true), metric("echo_1k_1conn_mb_s", "MB/s", true, "extra")]),
  // 1 MiB frames, 4 in flight: MB/s of payload one way (each byte is also
  // decrypted and re-encrypted by the server on its way back).
  echoGroup("bulk_1m", 1 << 20, 1, 4, (r) => ({
    bulk_1m: r.mb_per_s as number,
  }), [metric("bulk_1m", "MB/s", true)]),
  {
    name: "latency",
    suites: ["quick"],
    metrics: [
      metric("latency_p50", "µs", false),
      metric("latency_p99", "µs", false),
      metric("latency_p999", "µs", false, "extra"),
    ],
    async run(ctx) {
      const s = ctx.settings;
      const r = await runLoadgen(ctx.bin, "latency", target(ctx), {
        size: 64,
        count: s.latencyCount,
        "warm-count": s.latencyWarm,
        ...busy(ctx),
      }, 120);
      ctx.log(`slowest round trips [ms into the run, µs]: ${JSON.stringify(r.slowest_ms_us)}`);
      return {
        latency_p50: measured(r.p50_us as number, r),
        latency_p99: measured(r.p99_us as number, r),
        latency_p999: measured(r.p999_us as number, r),
      };
    },
  },
  {
    name: "connections",
    suites: ["quick"],
    metrics: [
      metric("fanout_p50", "ms", false),
      metric("fanout_p99", "ms", false),
      metric("rss_per_conn", "KiB", false),
    ],
    async run(ctx) {
      const s = ctx.settings;
      await sleep(500); // let start-up allocation settle before the baseline
      const before = await ctx.server.rssKiB();
      let after = before;
      const r = await runFanout(
        ctx.bin,
        target(ctx),
        ctx.server.fifo,
        {
          conns: s.fanoutConns,
          rounds: s.fanoutRounds,
          "line-bytes": 100,
          gap: 0.1,
          concurrency: 64,
          ...busy(ctx),
        },
        s.full ? 300 : 180,
        sampleRss(ctx, 1000, before, (kib) => after = kib),
      );
      return {
        fanout_p50: measured((r.p50_us as number) / 1000, r),
        fanout_p99: measured((r.p99_us as number) / 1000, r),
        rss_per_conn: plain((after - before) / s.fanoutConns),
      };
    },
  },
  {
    name: "handshakes",
    suites: ["quick"],
    metrics: [
      metric("handshakes", "handshakes/s", true),
      metric("handshakes_per_server_cpu_s", "per server CPU-s", true, "extra"),
    ],
    async run(ctx) {
      const s = ctx.settings;
      // 128 in flight: a handshake waits on Nagle and delayed ACKs on the
      // server side, so few concurrent ones would measure latency, not work.
      const r = await runLoadgen(ctx.bin, "handshake", target(ctx), {
        concurrency: 128,
        warmup: 0.5,
        duration: s.handshakeS,
      }, s.handshakeS + 30);
      if ((r.errors as number) > 0) ctx.log(`${r.errors} connection errors, last: ${r.last_error}`);
      const perS = r.per_s as number;
      return {
        handshakes: measured(perS, r),
        // Handshakes per second of server CPU: the server's capacity even
        // where one load generator core cannot saturate it.
        handshakes_per_server_cpu_s: measured(perS / (r.server_cpu_pct / 100), r),
      };
    },
  },
  {
    // Issue 14: as many idle TLS clients as one instance is asked to hold (50,000 by default;
    // the descriptor limit may cap it), then broadcasts to all of them while a new client
    // connects and is served.
    name: "scale",
    suites: ["scale"],
    floor: false, // the floor is a throughput and latency baseline, not a server to hold clients
    metrics: [
      metric("scale_clients", "clients", true, "scale"),
      metric("scale_connect_s", "s", false, "scale"),
      metric("scale_rss_mib", "MiB", false, "scale"),
      metric("scale_rss_per_conn", "KiB", false, "scale"),
      metric("scale_fanout_p50", "ms", false, "scale"),
      metric("scale_fanout_p99", "ms", false, "scale"),
      metric("scale_client_p50", "ms", false, "scale"),
      metric("scale_client_p99", "ms", false, "scale"),
      metric("scale_probe_max", "ms", false, "scale"),
    ],
    async run(ctx) {
      const s = ctx.settings;
      const limit = await descriptorLimit();
      // Both processes need one descriptor per client, plus a few of their own.
      const conns = Math.min(s.scaleConns, limit - 200);
      if (conns < s.scaleConns) {
        const why = `scale: ${s.scaleConns} clients asked for, ${conns} held: ulimit -Hn is ` +
          `${limit} here and cannot be raised without CAP_SYS_RESOURCE (see bench/README.md)`;
        ctx.log(why);
        ctx.note(why);
      }
      await sleep(500);
      const before = await ctx.server.rssKiB();
      let after = before;
      const rounds = 10;
      const r = await runFanout(
        ctx.bin,
        target(ctx),
        ctx.server.fifo,
        {
          conns,
          rounds,
          "line-bytes": 100,
          gap: 0.3,
          concurrency: 128,
          // ~28,000 ephemeral ports per source address towards one server port.
          sources: Math.ceil(conns / 25_000),
          probe: 1,
          ...busy(ctx),
        },
        600,
        sampleRss(ctx, 2000, before, (kib) => after = kib),
      );
      const clients = r.clients as LatencySummary;
      const probe = r.probe as LatencySummary;
      ctx.log(
        `probe (handshake + echo during a broadcast): p50 ${probe.p50_us / 1000} ms, max ${
          probe.max_us / 1000
        } ms; served before the broadcast reached every client in ${r.probes_before_last_client} of ${rounds} rounds`,
      );
      return {
        scale_clients: plain(conns),
        scale_connect_s: plain(r.connect_s as number),
        scale_rss_mib: plain(after / 1024),
        scale_rss_per_conn: plain((after - before) / conns),
        scale_fanout_p50: measured((r.p50_us as number) / 1000, r),
        scale_fanout_p99: measured((r.p99_us as number) / 1000, r),
        scale_client_p50: measured(clients.p50_us / 1000, r),
        scale_client_p99: measured(clients.p99_us / 1000, r),
        scale_probe_max: plain(probe.max_us / 1000),
      };
    },
  },
];

/**
 * What runs once the load generator's clients are all connected and idle: let the server settle
 * for `settleMs`, then sample its RSS (handed to `keep`) and log it.
 */
function sampleRss(
  ctx: GroupContext,
  settleMs: number,
  before: number,
  keep: (kib: number) => void,
): (ready: Record<string, unknown>) => Promise<void> {
  return async (ready) => {
    ctx.server.assertAlive();
    await sleep(settleMs);
    const after = await ctx.server.rssKiB();
    keep(after);
    ctx.log(
      `${ready.conns} clients connected in ${ready.connect_s} s; RSS ${before} -> ${after} KiB`,
    );
  };
}

/** The hard limit on open files here: what `ulimit -n` can be raised to without privileges. */
async function descriptorLimit(): Promise<number> {
  const out = await new Deno.Command("bash", { args: ["-c", "ulimit -Hn"], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? 1 << 20 : Number(text);
}
