/**
 * `deno task bench [--full] [--only tlspush|reference] [--suite quick|scale|all] [--rounds N]`:
 * runs the scenarios of issues 4 and 14 against tlspush and the Node.js reference server in the
 * same run, server pinned to CPU 0 and load generator to CPU 1, then prints markdown tables and
 * writes bench/results/latest.json.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { run } from "./lib/exec.ts";
import { makeCerts } from "./lib/certs.ts";
import { buildLoadgen } from "./lib/loadgen.ts";
import { aesGcmCeilingMBs, machineInfo } from "./lib/machine.ts";
import { type ServerKind, type ServerProcess, startServer } from "./lib/server_process.ts";
import { type Group, GROUPS, settings, type Suite } from "./lib/scenarios.ts";
import { buildReport, type Collected, markdownTable, textHistogram } from "./lib/report.ts";

const USAGE =
  `usage: deno task bench [--full] [--only tlspush|reference] [--suite S] [--group NAME] [--out FILE]
  --full            longer runs and 10,000 fan-out clients (default: quick, about 2 minutes)
  --only KIND       run one server only: tlspush, reference or floor (ratios are then null)
  --suite S         quick (default), scale (50,000 idle clients and broadcasts), or all
  --group NAME      run one scenario group only (${GROUPS.map((g) => g.name).join(", ")})
  --rounds N        run every group N times, tlspush and reference alternating which goes
                    first; values are medians, ratios the median of per-round ratios (default 1)
  --scale-clients N clients of the scale group (default 50000; capped by ulimit -Hn)
  --no-busy-poll    let the load generator sleep in epoll_wait instead of spinning
  --floor           also run the Deno floor (bench/reference/deno_floor.ts, a minimal Deno TLS
                    echo): what the runtime itself costs, as floor/reference in the table
  --profile DIR     write a V8 CPU profile of each tlspush server run into DIR
  --out FILE        where to write the JSON (default bench/results/latest.json)`;

const benchDir = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function usageError(message: string): never {
  console.error(`error: ${message}\nhint: run with --help for usage`);
  Deno.exit(2);
}

function parseFlags() {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      strict: true,
      options: {
        full: { type: "boolean", default: false },
        only: { type: "string" },
        suite: { type: "string", default: "quick" },
        group: { type: "string" },
        rounds: { type: "string", default: "1" },
        "scale-clients": { type: "string", default: "50000" },
        "no-busy-poll": { type: "boolean", default: false },
        floor: { type: "boolean", default: false },
        profile: { type: "string" },
        out: { type: "string", default: `${benchDir}/results/latest.json` },
        help: { type: "boolean", default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    if (values.only !== undefined && !["tlspush", "reference", "floor"].includes(values.only)) {
      usageError(`--only must be tlspush, reference or floor, got '${values.only}'`);
    }
    const kinds: ServerKind[] = values.only
      ? [values.only as ServerKind]
      : ["tlspush", "reference"];
    if (values.floor && !kinds.includes("floor")) kinds.push("floor");
    const suite = values.suite;
    if (suite !== "quick" && suite !== "scale" && suite !== "all") {
      usageError(`--suite must be quick, scale or all, got '${suite}'`);
    }
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
      usageError(`--rounds must be 1..20, got '${values.rounds}'`);
    }
    const scaleClients = Number(values["scale-clients"]);
    if (!Number.isInteger(scaleClients) || scaleClients < 1 || scaleClients > 1_000_000) {
      usageError(`--scale-clients must be 1..1000000, got '${values["scale-clients"]}'`);
    }
    const groups = values.group
      ? GROUPS.filter((g) => g.name === values.group)
      : GROUPS.filter((g) => suite === "all" || g.suites.includes(suite as Suite));
    if (groups.length === 0) usageError(`no scenario group named '${values.group}'`);
    return {
      full: values.full,
      kinds,
      out: values.out,
      groups,
      profile: values.profile,
      suite: values.group ?? suite,
      rounds,
      scaleClients,
      busyPoll: !values["no-busy-poll"],
    };
  } catch (err) {
    usageError((err as Error).message);
  }
}

/** Fails early, in one line, when a tool the run needs is missing. */
async function checkPrerequisites(kinds: ServerKind[]): Promise<void> {
  const tools = ["g++", "taskset", "openssl", "mkfifo", "bash"];
  if (kinds.includes("reference")) tools.push("node");
  for (const tool of tools) {
    const found = await run("bash", ["-c", `command -v ${tool}`]).then((r) => r.code === 0);
    if (!found) throw new Error(`'${tool}' is not installed; the benchmark needs it`);
  }
  if (navigator.hardwareConcurrency < 2) {
    throw new Error("the benchmark needs 2 CPUs (server on CPU 0, load generator on CPU 1)");
  }
  if (kinds.includes("tlspush")) {
    await Deno.stat(`${root}/server.ts`).catch(() => {
      throw new Error(`${root}/server.ts not found; run with --only reference`);
    });
  }
}

/** A failed scenario's message, with whether the server died and its last log lines. */
async function explain(err: Error, server: ServerProcess): Promise<string> {
  let state = "";
  try {
    server.assertAlive();
  } catch (e) {
    state = ` (${(e as Error).message})`;
  }
  return `${err.message}${state}; server log ends:\n${await server.logTail(8)}`;
}

async function main(): Promise<number> {
  const flags = parseFlags();
  const s = settings(flags.full, flags.scaleClients, flags.busyPoll);
  const started = Date.now();
  const log = (msg: string) =>
    console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

  await checkPrerequisites(flags.kinds);
  log("building the load generator");
  const bin = await buildLoadgen(`${benchDir}/loadgen/loadgen.cc`, `${benchDir}/.build`);
  const tmp = await Deno.makeTempDir({ prefix: "tlspush-bench-" });
  let current: ServerProcess | null = null;
  const onSignal = async () => {
    log("interrupted; stopping");
    await current?.stop();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  const errors: string[] = [];
  const notes: string[] = [];
  const collected: Collected = {};
  try {
    const certs = await makeCerts(tmp);
    const machine = await machineInfo();
    log(`${machine.cpu_model}, ${machine.cores} cores; deno ${machine.deno}, node ${machine.node}`);
    const ceiling = await aesGcmCeilingMBs(flags.full ? 3 : 1);
    log(`AES-128-GCM one core: ${Math.round(ceiling)} MB/s`);

    const runGroup = async (round: number, group: Group, kind: ServerKind): Promise<void> => {
      const tag = flags.rounds > 1 ? ` (round ${round + 1}/${flags.rounds})` : "";
      log(`${group.name}: ${kind}${tag}`);
      const ctxLog = (msg: string) => log(`  ${kind}: ${msg}`);
      try {
        const server = current = await startServer(
          kind,
          certs,
          root,
          tmp,
          `${group.name}-r${round}`,
          flags.profile,
        );
        const figures = await group.run({
          bin,
          ca: certs.ca,
          server,
          settings: s,
          log: ctxLog,
          note: (msg) => notes.includes(msg) || notes.push(msg),
        })
          .catch(async (err) => {
            throw new Error(await explain(err as Error, server));
          });
        for (const [key, m] of Object.entries(figures)) {
          ((collected[key] ??= {})[kind] ??= [])[round] = m;
          const l = m.latency;
          ctxLog(
            `${key} = ${Math.round(m.value * 100) / 100}` +
              (Number.isNaN(m.loadgenCpuPct)
                ? ""
                : ` (loadgen busy ${Math.round(m.loadgenBusyPct)}%, server ${
                  Math.round(m.serverCpuPct)
                }% CPU)`) +
              (l && key === group.metrics[0].key
                ? `; latency p50 ${l.p50_us} p99 ${l.p99_us} p99.9 ${l.p999_us} µs`
                : ""),
          );
        }
      } catch (err) {
        const msg = `${group.name} / ${kind}: ${(err as Error).message}`;
        errors.push(msg);
        log(`ERROR ${msg}`);
      } finally {
        const problem = await current?.stop();
        if (problem) {
          errors.push(`${group.name} / ${kind}: ${problem}`);
          log(`ERROR ${problem}`);
        }
        current = null;
      }
    };

    for (let round = 0; round < flags.rounds; round++) {
      for (const group of flags.groups) {
        // Alternate which server goes first, so that drift within a round favours neither.
        const kinds = round % 2 === 0 ? flags.kinds : [...flags.kinds].reverse();
        for (const kind of kinds) {
          if (kind === "floor" && group.floor === false) continue;
          await runGroup(round, group, kind);
        }
      }
    }

    const report = buildReport(GROUPS.flatMap((g) => g.metrics), collected, {
      date: new Date().toISOString(),
      mode: flags.full ? "full" : "quick",
      suite: flags.suite,
      rounds: flags.rounds,
      machine,
      aes_gcm_ceiling_mb_s: Math.round(ceiling),
      errors,
      notes,
    });
    await Deno.mkdir(flags.out.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(flags.out, JSON.stringify(report, null, 2) + "\n");
    console.log(markdownTable(report));
    for (const key of ["latency_p50", "echo_64b_1000conn_w1"]) {
      const e = report.latency[key];
      if (!e) continue;
      const servers = {
        ...(e.tlspush ? { tlspush: e.tlspush } : {}),
        ...(e.reference ? { reference: e.reference } : {}),
        ...(e.floor ? { floor: e.floor } : {}),
      };
      console.log(textHistogram(`latency histogram, ${key}`, servers));
    }
    log(`wrote ${flags.out}`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  for (const e of errors) console.error(`error: ${e.split("\n")[0]}`);
  return errors.length === 0 ? 0 : 1;
}

try {
  Deno.exit(await main());
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  Deno.exit(1);
}
