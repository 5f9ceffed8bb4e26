/**
 * The server log: one event a line on stdout, each with an ISO timestamp.
 *
 * @example
 * ```ts
 * import { Logger } from "./logger.ts";
 * new Logger().info("listening on 0.0.0.0:9002"); // 2026-11-27T08:00:00.000Z listening on ...
 * ```
 * @module
 */

/**
 * Writes timestamped event lines.
 *
 * @example
 * ```ts
 * import { Logger } from "./logger.ts";
 * const lines: string[] = [];
 * const logger = new Logger({ verbose: true, write: (line) => lines.push(line) });
 * logger.error("accept failed: too many open files"); // "<ISO time> error: accept failed: ..."
 * ```
 */
export class Logger {
  readonly #write: (line: string) => void;
  readonly #listeners = new Set<(line: string) => void>();
  /** Whether per-message lines are wanted (`--verbose`). */
  readonly verbose: boolean;

  /** Logs through `write` (default: stdout). */
  constructor(options: { verbose?: boolean; write?: (line: string) => void } = {}) {
    this.verbose = options.verbose ?? false;
    this.#write = options.write ?? ((line) => console.log(line));
  }

  /** Logs one event. */
  info(event: string): void {
    const line = `${new Date().toISOString()} ${event}`;
    this.#write(line);
    for (const listener of this.#listeners) listener(line);
  }

  /**
   * Calls `listener` with every line logged from now on (the dashboard's live log); returns the
   * function that stops it.
   *
   * @example
   * ```ts
   * import { Logger } from "./logger.ts";
   * const logger = new Logger();
   * const stop = logger.subscribe((line) => console.error(line));
   * stop();
   * ```
   */
  subscribe(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Logs one error event. */
  error(event: string): void {
    this.info(`error: ${event}`);
  }
}

/**
 * Formats a byte count for logs: `512 B`, `1.5 KiB`, `3.0 MiB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./logger.ts";
 * formatBytes(512); // "512 B"
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A count with its noun, singular for one: `1 client`, `3 clients`.
 *
 * @example
 * ```ts
 * import { plural } from "./logger.ts";
 * plural(1, "message"); // "1 message"
 * plural(0, "connection"); // "0 connections"
 * ```
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
