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
  latencyCount: number;
  latencyWarm: number;
  fanoutConns: number;
  fanoutRounds: number;
  handshakeS: number;
}

/** Quick mode stays well under 4 minutes for both servers. */
export function settings(full: boolean): Settings {
  return full
    ? {
      full,
      warmupS: 2,
      durationS: 10,
      latencyCount: 100_000,
      latencyWarm: 5_000,
      fanoutConns: 10_000,
      fanoutRounds: 20,
      handshakeS: 10,
    }
    : {
      full,
      warmupS: 1,
      durationS: 3,
      latencyCount: 20_000,
      latencyWarm: 2_000,
      fanoutConns: 5_000,
      fanoutRounds: 20,
      handshakeS: 3,
    };
}

/** Where a metric is reported: the schema, or the extra figures. */
export type Section = "scenarios" | "extra";

/** A reported figure. */
export interface MetricDef {
  key: string;
  unit: string;
  higherIsBetter: boolean;
  section: Section;
}

/** A figure from one run plus the CPU check that makes it trustworthy. */
export interface Measurement {
  value: number;
  loadgenCpuPct: number;
  serverCpuPct: number;
  /** How busy the server's CPU was in all (other tenants included); NaN if unknown. */
  cpu0BusyPct: number;
}

/** What a group needs to run. */
export interface GroupContext {
  bin: string;
  ca: string;
  server: ServerProcess;
  settings: Settings;
  log: (msg: string) => void;
}

/** A set of metrics measured in one server lifetime. */
export interface Group {
  name: string;
  metrics: MetricDef[];
  run(ctx: GroupContext): Promise<Record<string, Measurement>>;
}

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
  serverCpuPct: r.server_cpu_pct,
  cpu0BusyPct: (r.cpu0_busy_pct as number | undefined) ?? NaN,
});

/** Pipelined echo: `window` frames in flight on each connection. */
function echoGroup(
  name: string,
  size: number,
  conns: number,
  window: number,
  pick: (r: LoadgenResult) => Record<string, number>,
  metrics: MetricDef[],
): Group {
  return {
    name,
    metrics,
    async run(ctx) {
      const s = ctx.settings;
      const r = await runLoadgen(ctx.bin, "echo", target(ctx), {
        size,
        conns,
        window,
        warmup: s.warmupS,
        duration: s.durationS,
      }, s.warmupS + s.durationS + 30);
      ctx.log(`${r.protocol} ${r.cipher}`);
      return Object.fromEntries(
        Object.entries(pick(r)).map(([k, v]) => [k, measured(v, r)]),
      );
    },
  };
}

const MSGS = "msgs/s";

/** All groups, in run order. */
export const GROUPS: Group[] = [
  echoGroup("echo_64b_1conn", 64, 1, 256, (r) => ({
    echo_64b_1conn: r.msgs_per_s as number,
  }), [metric("echo_64b_1conn", MSGS, true)]),
  echoGroup("echo_64b_100conn", 64, 100, 256, (r) => ({
    echo_64b_100conn: r.msgs_per_s as number,
  }), [metric("echo_64b_100conn", MSGS, true)]),
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
      }, 120);
      return {
        latency_p50: measured(r.p50_us as number, r),
        latency_p99: measured(r.p99_us as number, r),
        latency_p999: measured(r.p999_us as number, r),
      };
    },
  },
  {
    name: "connections",
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
        },
        s.full ? 300 : 180,
        async (ready) => {
          ctx.server.assertAlive();
          await sleep(1000); // idle clients: let the server settle, then sample
          after = await ctx.server.rssKiB();
          ctx.log(
            `${ready.conns} clients connected in ${ready.connect_s} s; RSS ${before} -> ${after} KiB`,
          );
        },
      );
      return {
        fanout_p50: measured((r.p50_us as number) / 1000, r),
        fanout_p99: measured((r.p99_us as number) / 1000, r),
        rss_per_conn: {
          value: (after - before) / s.fanoutConns,
          loadgenCpuPct: NaN,
          serverCpuPct: NaN,
          cpu0BusyPct: NaN,
        },
      };
    },
  },
  {
    name: "handshakes",
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
];
