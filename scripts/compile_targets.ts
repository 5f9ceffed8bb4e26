/**
 * What `deno task compile` builds: each program, the file it is written to, and the
 * permissions compiled into it (the same as its `deno task`, so the binary and the task accept
 * the same flags: `--certs-dir` anywhere, the same environment variables).
 *
 * @example
 * ```ts
 * import { COMPILE_TARGETS } from "./compile_targets.ts";
 * for (const target of COMPILE_TARGETS) console.log(`${target.entry} -> dist/${target.output}`);
 * ```
 * @module
 */

/**
 * One program to compile.
 *
 * @example
 * ```ts
 * import type { CompileTarget } from "./compile_targets.ts";
 * const target: CompileTarget = {
 *   entry: "client.ts",
 *   output: "tlspush-client",
 *   permissions: ["--allow-net", "--allow-read"],
 * };
 * ```
 */
export interface CompileTarget {
  /** The entry point, from the repository root. */
  readonly entry: string;
  /** The executable's file name, in the output directory. */
  readonly output: string;
  /** The `--allow-*` flags compiled into it. */
  readonly permissions: readonly string[];
  /** Unstable features it needs (`--unstable-net`: a port shared across a certificate reload). */
  readonly unstable?: readonly string[];
}

/**
 * The environment variables the server reads: its admin, publish and JWT secrets, and the one
 * the `redis` client package reads when it loads.
 *
 * @example
 * ```ts
 * import { SERVER_ENV } from "./compile_targets.ts";
 * const flag = `--allow-env=${SERVER_ENV.join(",")}`;
 * ```
 */
export const SERVER_ENV: readonly string[] = [
  "TLSPUSH_ADMIN_TOKEN",
  "TLSPUSH_PUBLISH_TOKEN",
  "TLSPUSH_JWT_SECRET",
  "REDIS_DEBUG_MAINTENANCE",
];

/**
 * The server, then the client, with the permissions of `deno task server` / `deno task client`.
 *
 * @example
 * ```ts
 * import { COMPILE_TARGETS } from "./compile_targets.ts";
 * COMPILE_TARGETS.map((target) => target.output); // ["tlspush-server", "tlspush-client"]
 * ```
 */
export const COMPILE_TARGETS: readonly CompileTarget[] = [
  {
    entry: "server.ts",
    output: "tlspush-server",
    unstable: ["--unstable-net"],
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-sys=hostname",
      "--allow-ffi",
      `--allow-env=${SERVER_ENV.join(",")}`,
    ],
  },
  { entry: "client.ts", output: "tlspush-client", permissions: ["--allow-net", "--allow-read"] },
];
