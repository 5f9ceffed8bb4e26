/**
 * The periodic traffic summary: while messages flow, one log line per interval with what came in
 * and went out since the previous line; nothing while the server is quiet.
 *
 * @example
 * ```ts
 * import { startTrafficReport } from "./traffic_report.ts";
 * // const stop = startTrafficReport(hub, logger, 10_000); ... stop();
 * ```
 * @module
 */
import type { Hub } from "../hub/hub.ts";
import { formatBytes, type Logger } from "./logger.ts";

/** Logs a summary every `intervalMs` while there is traffic; returns the function that stops it. */
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
