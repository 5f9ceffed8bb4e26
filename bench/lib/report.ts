/**
 * Turns measurements into the issue 4 JSON schema and a markdown table.
 *
 * @module
 */

import type { MachineInfo } from "./machine.ts";
import type { Measurement, MetricDef } from "./scenarios.ts";
import type { ServerKind } from "./server_process.ts";

/** One entry of `scenarios` (ratio = tlspush / reference). */
export interface ScenarioEntry {
  unit: string;
  tlspush: number | null;
  reference: number | null;
  ratio: number | null;
  higher_is_better: boolean;
}

/** Per metric and server: the load generator's and the server's CPU. */
export type CpuCheck = Record<
  string,
  Partial<
    Record<
      ServerKind,
      { loadgen_cpu_pct: number; server_cpu_pct: number; cpu0_busy_pct: number | null }
    >
  >
>;

/** The file written to bench/results/latest.json. */
export interface BenchReport {
  date: string;
  mode: "quick" | "full";
  machine: MachineInfo;
  scenarios: Record<string, ScenarioEntry>;
  aes_gcm_ceiling_mb_s: number;
  extra: Record<string, ScenarioEntry>;
  cpu_check: CpuCheck;
  errors: string[];
}

/** Measurements collected so far: metric key -> server -> figure. */
export type Collected = Record<string, Partial<Record<ServerKind, Measurement>>>;

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

/** Builds the report from what was collected. */
export function buildReport(
  metrics: MetricDef[],
  collected: Collected,
  base: Omit<BenchReport, "scenarios" | "extra" | "cpu_check">,
): BenchReport {
  const report: BenchReport = { ...base, scenarios: {}, extra: {}, cpu_check: {} };
  for (const m of metrics) {
    const got = collected[m.key] ?? {};
    const t = got.tlspush?.value ?? null;
    const r = got.reference?.value ?? null;
    report[m.section][m.key] = {
      unit: m.unit,
      tlspush: t === null ? null : round(t),
      reference: r === null ? null : round(r),
      ratio: t !== null && r !== null && r !== 0 ? Math.round((t / r) * 1000) / 1000 : null,
      higher_is_better: m.higherIsBetter,
    };
    for (const kind of ["tlspush", "reference"] as const) {
      const g = got[kind];
      if (!g || Number.isNaN(g.loadgenCpuPct)) continue;
      report.cpu_check[m.key] ??= {};
      report.cpu_check[m.key][kind] = {
        loadgen_cpu_pct: g.loadgenCpuPct,
        server_cpu_pct: g.serverCpuPct,
        cpu0_busy_pct: Number.isNaN(g.cpu0BusyPct) ? null : g.cpu0BusyPct,
      };
    }
  }
  return report;
}

/** A load generator above this share of its core may be the bottleneck. */
export const SATURATED_PCT = 90;

const fmt = (x: number | null) => (x === null ? "—" : x.toLocaleString("en-US"));

/** The markdown table printed on stdout. */
export function markdownTable(report: BenchReport): string {
  const rows = [
    "| scenario | unit | tlspush | reference | ratio t/r | better | loadgen CPU % (t / r) " +
    "| server CPU % (t / r) | CPU 0 busy % (t / r) |",
    "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
  ];
  let saturated = false;
  const entries = [...Object.entries(report.scenarios), ...Object.entries(report.extra)];
  for (const [key, e] of entries) {
    const cpu = report.cpu_check[key] ?? {};
    const lg = (k: ServerKind) => {
      const v = cpu[k]?.loadgen_cpu_pct;
      if (v === undefined) return "—";
      if (v >= SATURATED_PCT) saturated = true;
      return `${Math.round(v)}${v >= SATURATED_PCT ? " †" : ""}`;
    };
    const sv = (k: ServerKind) => {
      const v = cpu[k]?.server_cpu_pct;
      return v === undefined || v < 0 ? "—" : String(Math.round(v));
    };
    const busy = (k: ServerKind) => {
      const v = cpu[k]?.cpu0_busy_pct;
      return v === undefined || v === null || v < 0 ? "—" : String(Math.round(v));
    };
    const name = key in report.extra ? `${key} (extra)` : key;
    rows.push(
      `| ${name} | ${e.unit} | ${fmt(e.tlspush)} | ${fmt(e.reference)} | ${fmt(e.ratio)} | ` +
        `${e.higher_is_better ? "higher" : "lower"} | ${lg("tlspush")} / ${lg("reference")} | ` +
        `${sv("tlspush")} / ${sv("reference")} | ${busy("tlspush")} / ${busy("reference")} |`,
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
  ];
  notes.push(
    "CPU 0 busy % is everything that ran on the server's core (kernel network work and other " +
      "processes included): near 100% with server CPU % well below it means the server shared " +
      "its core, and its figure is understated.",
  );
  if (saturated) {
    notes.push(
      `† load generator at ≥ ${SATURATED_PCT}% of its core: that figure may be bounded by the ` +
        "load generator, not the server (see server CPU %).",
    );
  }
  return rows.join("\n") + "\n" + notes.join("\n") + "\n";
}
