/**
 * What became of a published message, as a value every source can act on: the log line of an
 * operator's message, the JSON of the publish API, the `OK PUB` or `ERR` of a v2 client.
 *
 * @example
 * ```ts
 * import type { PublishResult } from "./publish_result.ts";
 * function answer(result: PublishResult): string {
 *   return result.refused ? `ERR ${result.refused.code} ${result.refused.reason}` : `seq ${result.seq}`;
 * }
 * ```
 * @module
 */

/** Why a message was not published: too large for `--max-frame`, or no broker to carry it. */
export interface PublishRefusal {
  /** `too-large` or `unavailable` (the `ERR` codes of protocol v2). */
  code: "too-large" | "unavailable";
  /** One line for the user. */
  reason: string;
}

/** What became of one published message. */
export interface PublishResult {
  /** Set when it was refused: nothing was sent. */
  refused?: PublishRefusal;
  /** Its sequence number in its channel, once published. */
  seq?: number;
  /** Peers it was offered to (every subscriber but its sender). */
  offered: number;
  /** Peers it was queued for. */
  delivered: number;
  /** Peers whose connection cannot carry it (a newline under `--framing line`). */
  skipped: number;
  /** Peers cut off as slow consumers instead of taking it. */
  cutOff: number;
}
