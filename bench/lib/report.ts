/**
 * Turns measurements into the issue 4 JSON schema (extended by issue 14: rounds, which side was
 * saturated, latency per scenario, the scale group) and markdown tables.
 *
 * @module
 */

import type { MachineInfo } from "./machine.ts";
import type { LatencySummary, Measurement, MetricDef } from "./scenarios.ts";
import type { ServerKind } from "./server_process.ts";

/**
 * What limited a figure: the server's core, the load generator's, both, neither (latency), or
 * `shared`: the server's core was busy with other work (other processes), so the figure is
 * understated and says little.
 */
export type Bound = "server" | "loadgen" | "both" | "neither" | "shared";

/** One round's figures of a metric. */
export interface RoundEntry {
  tlspush: number | null;
  reference: number | null;
  ratio: number | null;
}

/**
 * One entry of `scenarios` (ratio = tlspush / reference; with several rounds the values are
 * medians and the ratio is the median of the per-round ratios).
 */
export interface ScenarioEntry {
  unit: string;
  tlspush: number | null;
  reference: number | null;
  ratio: number | null;
  higher_is_better: boolean;
  /** Every round, in order (one entry without `--rounds`). */
  rounds?: RoundEntry[];
  /** False when a side was bound by the load generator: the ratio then says nothing. */
  compared?: boolean;
  /** The Deno floor (`--floor`): a minimal Deno TLS echo, what the runtime itself allows. */
  floor?: number | null;
  /** floor / reference, the median of per-round ratios. */
  floor_ratio?: number | null;
}

/** Per metric and server: the load generator's and the server's CPU, and what limited it. */
export type CpuCheck = Record<
  string,
  Partial<
    Record<
      ServerKind,
      {
        loadgen_cpu_pct: number;
        loadgen_busy_pct: number | null;
        server_cpu_pct: number;
        cpu0_busy_pct: number | null;
        bound: Bound;
      }
    >
  >
>;

/** Latency of one scenario for both servers, and the ratios of its percentiles. */
export interface LatencyEntry {
  tlspush: LatencySummary | null;
  reference: LatencySummary | null;
  floor?: LatencySummary | null;
  ratio_p50: number | null;
  ratio_p99: number | null;
  ratio_p999: number | null;
}

/** The file written to bench/results/latest.json. */
export interface BenchReport {
  date: string;
  mode: "quick" | "full";
  /** Which groups ran (`--suite`, or the one `--group`). */
  suite: string;
  /** Rounds per group, tlspush and reference alternating which goes first. */
  rounds: number;
  machine: MachineInfo;
  scenarios: Record<string, ScenarioEntry>;
  aes_gcm_ceiling_mb_s: number;
  extra: Record<string, ScenarioEntry>;
  /** The scale group (`--suite scale`): present when it ran. */
  scale: Record<string, ScenarioEntry>;
  cpu_check: CpuCheck;
  /** Per-message latency of each scenario that measures it (the median round's). */
  latency: Record<string, LatencyEntry>;
  errors: string[];
  notes: string[];
}

/** Measurements collected so far: metric key -> server -> one figure per round. */
export type Collected = Record<string, Partial<Record<ServerKind, Measurement[]>>>;

/** A load generator or server above this share of its core counts as saturated. */
export const SATURATED_PCT = 90;

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);
const ratioOf = (t: number | null, r: number | null) =>
  t !== null && r !== null && r !== 0 ? Math.round((t / r) * 1000) / 1000 : null;

/** Median of the finite numbers given; null when there are none. */
export function median(values: number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Which side limited a measurement. */
export function boundOf(m: Measurement): Bound {
  const server = m.serverCpuPct >= SATURATED_PCT;
  const loadgen = m.loadgenBusyPct >= SATURATED_PCT;
  if (server && loadgen) return "both";
  if (server) return "server";
  // Everything on CPU 0 but the server: more than a sixth of the core went to someone else.
  if (m.cpu0BusyPct - m.serverCpuPct > SHARED_PCT) return "shared";
  return loadgen ? "loadgen" : "neither";
}

/** CPU 0 busy beyond the server's own CPU by more than this: the core was shared. */
export const SHARED_PCT = 15;

/** The measurement of the round whose value is the median (ties: the earlier). */
function medianRound(ms: Measurement[]): Measurement {
  const sorted = [...ms].sort((a, b) => a.value - b.value);
  return sorted[(sorted.length - 1) >> 1];
}

/** Builds the report from what was collected. */
export function buildReport(
  metrics: MetricDef[],
  collected: Collected,
  base: Omit<BenchReport, "scenarios" | "extra" | "scale" | "cpu_check" | "latency">,
): BenchReport {
  const report: BenchReport = {
    ...base,
    scenarios: {},
    extra: {},
    scale: {},
    cpu_check: {},
    latency: {},
  };
  for (const m of metrics) {
    const got = collected[m.key] ?? {};
    if (m.section === "scale" && !got.tlspush && !got.reference) continue;
    const ts = got.tlspush ?? [];
    const rs = got.reference ?? [];
    const rounds: RoundEntry[] = [];
    for (let i = 0; i < Math.max(ts.length, rs.length); i++) {
      const t = ts[i]?.value ?? null;
      const r = rs[i]?.value ?? null;
      rounds.push({
        tlspush: t === null ? null : round(t),
        reference: r === null ? null : round(r),
        ratio: ratioOf(t, r),
      });
    }
    const t = median(ts.map((x) => x.value));
    const r = median(rs.map((x) => x.value));
    const fs = got.floor ?? [];
    const perRound = median(rounds.map((x) => x.ratio ?? NaN));
    const loadgenBound = [...ts, ...rs].some((x) => {
      const b = boundOf(x);
      return m.higherIsBetter && (b === "loadgen" || b === "both") && x.serverCpuPct < 95;
    });
    report[m.section][m.key] = {
      unit: m.unit,
      tlspush: t === null ? null : round(t),
      reference: r === null ? null : round(r),
      ratio: perRound !== null ? Math.round(perRound * 1000) / 1000 : ratioOf(t, r),
      higher_is_better: m.higherIsBetter,
      rounds,
      compared: !loadgenBound,
    };
    if (fs.length > 0) {
      const f = median(fs.map((x) => x.value));
      const e = report[m.section][m.key];
      e.floor = f === null ? null : round(f);
      const perRoundFloor = median(fs.map((x, i) => ratioOf(x.value, rs[i]?.value ?? null) ?? NaN));
      e.floor_ratio = perRoundFloor === null ? null : Math.round(perRoundFloor * 1000) / 1000;
    }
    for (const kind of ["tlspush", "reference", "floor"] as const) {
      const list = got[kind] ?? [];
      const withCpu = list.filter((g) => !Number.isNaN(g.loadgenCpuPct));
      if (withCpu.length === 0) continue;
      const mid = medianRound(withCpu);
      report.cpu_check[m.key] ??= {};
      report.cpu_check[m.key][kind] = {
        loadgen_cpu_pct: mid.loadgenCpuPct,
        loadgen_busy_pct: Number.isNaN(mid.loadgenBusyPct) ? null : mid.loadgenBusyPct,
        server_cpu_pct: mid.serverCpuPct,
        cpu0_busy_pct: Number.isNaN(mid.cpu0BusyPct) ? null : mid.cpu0BusyPct,
        bound: boundOf(mid),
      };
    }
    // One latency entry per scenario that measured it (the first metric of its group).
    const lat = (list: Measurement[]) => {
      const with_ = list.filter((x) => x.latency);
      return with_.length ? medianRound(with_).latency! : null;
    };
    const lt = lat(ts);
    const lr = lat(rs);
    const lf = lat(fs);
    const seen = Object.values(report.latency).some((e) =>
      (lt !== null && e.tlspush === lt) || (lr !== null && e.reference === lr)
    );
    if ((lt || lr) && !seen) {
      report.latency[m.key] = {
        tlspush: lt,
        reference: lr,
        ratio_p50: ratioOf(lt?.p50_us ?? null, lr?.p50_us ?? null),
        ratio_p99: ratioOf(lt?.p99_us ?? null, lr?.p99_us ?? null),
        ratio_p999: ratioOf(lt?.p999_us ?? null, lr?.p999_us ?? null),
        ...(lf ? { floor: lf } : {}),
      };
    }
  }
  return report;
}

const fmt = (x: number | null) => (x === null ? "—" : x.toLocaleString("en-US"));

/** The markdown tables printed on stdout: figures, then latency per scenario. */
export function markdownTable(report: BenchReport): string {
  const withFloor = [...Object.values(report.scenarios), ...Object.values(report.extra)].some((
    e,
  ) => e.floor !== undefined);
  const rows = [
    "| scenario | unit | tlspush | reference | ratio t/r | better | bound (t / r) " +
    "| loadgen busy % (t / r) | server CPU % (t / r) | CPU 0 busy % (t / r) |" +
    (withFloor ? " Deno floor | floor/r |" : ""),
    "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |" +
    (withFloor ? " ---: | ---: |" : ""),
  ];
  let uncompared = false;
  const entries = [
    ...Object.entries(report.scenarios),
    ...Object.entries(report.extra),
    ...Object.entries(report.scale),
  ].filter(([, e]) => e.tlspush !== null || e.reference !== null);
  for (const [key, e] of entries) {
    const cpu = report.cpu_check[key] ?? {};
    const num = (v: number | null | undefined) =>
      v === undefined || v === null || v < 0 ? "—" : String(Math.round(v));
    const both = (f: (k: ServerKind) => string) => `${f("tlspush")} / ${f("reference")}`;
    const name = key in report.extra
      ? `${key} (extra)`
      : key in report.scale
      ? `${key} (scale)`
      : key;
    let ratio = fmt(e.ratio);
    if (e.compared === false) {
      ratio += " †";
      uncompared = true;
    }
    const spread = (e.rounds?.length ?? 0) > 1 && e.rounds!.some((r) => r.ratio !== null)
      ? ` (${e.rounds!.map((r) => fmt(r.ratio)).join(", ")})`
      : "";
    rows.push(
      `| ${name} | ${e.unit} | ${fmt(e.tlspush)} | ${fmt(e.reference)} | ${ratio}${spread} | ` +
        `${e.higher_is_better ? "higher" : "lower"} | ${both((k) => cpu[k]?.bound ?? "—")} | ` +
        `${both((k) => num(cpu[k]?.loadgen_busy_pct))} | ` +
        `${both((k) => num(cpu[k]?.server_cpu_pct))} | ${
          both((k) => num(cpu[k]?.cpu0_busy_pct))
        } |`,
    );
  }
  const bulk = report.scenarios.bulk_1m;
  const ceiling = report.aes_gcm_ceiling_mb_s;
  const pct = (v: number | null) => (v === null ? "—" : `${Math.round((100 * v) / ceiling)}%`);
  const notes = [
    "",
    `AES-128-GCM ceiling (openssl speed, one core, 16 KiB blocks): ${fmt(round(ceiling))} MB/s; ` +
    `bulk_1m is ${pct(bulk?.tlspush ?? null)} of it for tlspush, ${pct(bulk?.reference ?? null)} ` +
    `for the reference.`,
    `bound: which core was saturated (≥ ${SATURATED_PCT}%): the server's, the load ` +
    "generator's, or neither (the figure is latency-bound: too little in flight to fill either); " +
    `shared: other work took more than ${SHARED_PCT}% of the server's core (figure understated). ` +
    "loadgen busy % is the share of the window the load generator was not polling in vain.",
    "CPU 0 busy % is everything that ran on the server's core (kernel network work and other " +
    "processes included): near 100% with server CPU % well below it means the server shared " +
    "its core, and its figure is understated.",
  ];
  if (report.rounds > 1) {
    notes.push(
      `${report.rounds} rounds, tlspush and reference alternating which goes first: values are ` +
        "medians, the ratio is the median of the per-round ratios (listed in brackets).",
    );
  }
  if (uncompared) {
    notes.push(
      "† bound by the load generator (busy ≥ " + SATURATED_PCT + "% while the server was not " +
        "saturated): that ratio measures the load generator, not the servers.",
    );
  }
  for (const n of report.notes) notes.push(n);
  return rows.join("\n") + "\n" + notes.join("\n") + "\n\n" + latencyTable(report);
}

/** Latency per scenario: p50 / p99 / p99.9 of both servers and their ratios (lower is better). */
export function latencyTable(report: BenchReport): string {
  const entries = Object.entries(report.latency);
  if (entries.length === 0) return "";
  const us = (v: number | undefined) => (v === undefined ? "—" : fmt(round(v)));
  const rows = [
    "| latency, µs (lower is better) | p50 t / r | p99 t / r | p99.9 t / r | ratio p50 | ratio p99 | ratio p99.9 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [key, e] of entries) {
    const pair = (f: (l: LatencySummary) => number) =>
      `${us(e.tlspush ? f(e.tlspush) : undefined)} / ${
        us(e.reference ? f(e.reference) : undefined)
      }`;
    const floor = e.floor
      ? ` ${us(e.floor.p50_us)} / ${us(e.floor.p99_us)} / ${us(e.floor.p999_us)} |`
      : "";
    rows.push(
      `| ${key} | ${pair((l) => l.p50_us)} | ${pair((l) => l.p99_us)} | ${
        pair((l) => l.p999_us)
      } | ${fmt(e.ratio_p50)} | ${fmt(e.ratio_p99)} | ${fmt(e.ratio_p999)} |${floor}`,
    );
  }
  if (entries.some(([, e]) => e.floor)) {
    rows[0] += " Deno floor p50 / p99 / p99.9 |";
    rows[1] += " ---: |";
  }
  return rows.join("\n") + "\n";
}

/** Bin edges of the text histogram, µs: 1-2-5 per decade. */
const EDGES = [10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

/**
 * A latency histogram as text: one line per bin (1-2-5 per decade), the share of messages of
 * each server in it and a bar.
 *
 * @example
 * ```ts
 * import { textHistogram } from "./report.ts";
 * console.log(textHistogram("ping-pong", {
 *   tlspush: { hist: [[80, 900], [500, 1]] }, reference: { hist: [[90, 950]] },
 * }));
 * ```
 */
export function textHistogram(
  title: string,
  byServer: Partial<Record<ServerKind, Pick<LatencySummary, "hist">>>,
): string {
  const kinds = (["tlspush", "reference", "floor"] as const).filter((k) => byServer[k]);
  const bins = (hist: [number, number][]) => {
    const counts = new Array(EDGES.length + 1).fill(0);
    let total = 0;
    for (const [lower, count] of hist) {
      let i = 0;
      while (i < EDGES.length && lower >= EDGES[i]) i++;
      counts[i] += count;
      total += count;
    }
    return counts.map((c) => (total ? c / total : 0));
  };
  const shares = kinds.map((k) => bins(byServer[k]!.hist));
  const label = (i: number) =>
    i === 0
      ? `< ${EDGES[0]}`
      : i === EDGES.length
      ? `≥ ${EDGES.at(-1)}`
      : `${EDGES[i - 1]}–${EDGES[i]}`;
  const last = Math.max(...shares.map((s) => s.findLastIndex((x) => x > 0)));
  const first = Math.min(...shares.map((s) => s.findIndex((x) => x > 0)));
  const lines = [`${title} (µs; share of messages, each █ = 4%)`];
  for (let i = Math.max(0, first); i <= last; i++) {
    const cells = kinds.map((k, j) => {
      const v = shares[j][i];
      const pctText = v === 0 ? "0" : v < 0.0001 ? "<0.01" : (v * 100).toFixed(2);
      return `${k.padEnd(9)} ${pctText.padStart(6)}% ${"█".repeat(Math.round(v * 25)).padEnd(25)}`;
    });
    lines.push(`${label(i).padStart(14)}  ${cells.join("  ")}`);
  }
  return lines.join("\n") + "\n";
}
