/**
 * The periodic traffic summary: while messages flow, one log line per interval with what came in
 * and went out since the previous line; nothing while the server is quiet.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { startTrafficReport } from "./traffic_report.ts";
 * const stop = startTrafficReport(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Logger(), 10_000);
 * stop(); // at shutdown
 * ```
 * @module
 */
import type { Hub } from "./hub.ts";
import { formatBytes, type Logger } from "../util/logger.ts";

/**
 * Logs a summary every `intervalMs` while there is traffic; returns the function that stops it.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { startTrafficReport } from "./traffic_report.ts";
 * const logger = new Logger({ write: (line) => console.error(line) });
 * const stop = startTrafficReport(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), logger, 1000);
 * // "... traffic in the last 1 s: in 3 messages (15 B), out 3 messages (15 B); 1 connected"
 * stop();
 * ```
 */
export function startTrafficReport(hub: Hub, logger: Logger, intervalMs: number): () => void {
  let last = { ...hub.totals };
  const timer = setInterval(() => {
    const now = { ...hub.totals };
    const messagesIn = now.messagesIn - last.messagesIn;
    const messagesOut = now.messagesOut - last.messagesOut;
    if (messagesIn === 0 && messagesOut === 0) return;
    logger.info(
      `traffic in the last ${intervalMs / 1000} s: ` +
        `in ${messagesIn} messages (${formatBytes(now.bytesIn - last.bytesIn)}), ` +
        `out ${messagesOut} messages (${formatBytes(now.bytesOut - last.bytesOut)}); ` +
        `${hub.size} connected`,
    );
    last = now;
  }, intervalMs);
  Deno.unrefTimer(timer as unknown as number);
  return () => clearInterval(timer);
}
