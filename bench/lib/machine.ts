/**
 * What the figures were measured on, and the physical ceiling for bulk
 * transfer: AES-128-GCM on one core as `openssl speed` measures it.
 *
 * @module
 */

import { run, runOk } from "./exec.ts";
import { SERVER_CPU } from "./server_process.ts";

/** Machine and software versions recorded with the results. */
export interface MachineInfo {
  cpu_model: string;
  cores: number;
  kernel: string;
  deno: string;
  node: string;
  openssl: string;
}

/** Collects the machine description. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown";
  const node = await run("node", ["--version"]).then((r) => r.stdout.trim(), () => "missing");
  const openssl = await run("openssl", ["version"]).then((r) => r.stdout.trim(), () => "missing");
  return {
    cpu_model: model,
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    node,
    openssl,
  };
}

/**
 * AES-128-GCM throughput of one core in MB/s (10^6 bytes), on 16 KiB blocks
 * (a full TLS record), pinned to the server's CPU.
 */
export async function aesGcmCeilingMBs(seconds: number): Promise<number> {
  const out = await runOk("taskset", [
    "-c",
    String(SERVER_CPU),
    "openssl",
    "speed",
    "-mr",
    "-seconds",
    String(seconds),
    "-bytes",
    "16384",
    "-evp",
    "aes-128-gcm",
  ], { timeoutMs: 60_000 });
  // Machine-readable line: +F:<n>:<alg>:<bytes per second>
  const line = out.split("\n").find((l) => l.startsWith("+F:"));
  const value = Number(line?.split(":").at(-1));
  if (!Number.isFinite(value)) throw new Error(`cannot parse openssl speed output: ${out}`);
  return value / 1e6;
}
