/**
 * Public sequence numbers on JetStream: `base + stream sequence`, where `base` is the stream's
 * creation time in microseconds since the Unix epoch. JetStream numbers a stream's messages
 * 1, 2, 3, ... and starts again at 1 when a server that lost its data recreates the stream, so
 * the stream sequence alone would be reused. The creation time is stored with the stream
 * (every instance reads the same value, it survives a restart with data) and a recreated
 * stream is newer: its numbers start above every number of the old one, as long as the old
 * stream took fewer messages than microseconds went by (JetStream stores far fewer than a
 * million messages a second). About 1.8e15 today, below 2^53 (9.0e15) until the year 2255.
 * (`first_seq` would do this inside JetStream, but needs nats-server 2.10; Debian ships 2.9.)
 *
 * @example
 * ```ts
 * import { streamBase } from "./stream_epoch.ts";
 * const base = streamBase("2026-12-02T07:51:44.144179917Z"); // 1796197904144179
 * const seq = base + 42; // the public number of stream message 42
 * ```
 * @module
 */

/**
 * The base of a stream created at `created` (JetStream's RFC 3339 time with nanoseconds), in
 * microseconds since the Unix epoch. Throws `RangeError` for a time it cannot read.
 *
 * @example
 * ```ts
 * import { streamBase } from "./stream_epoch.ts";
 * streamBase("2024-01-01T00:00:00Z"); // 1704067200000000
 * streamBase("2024-01-01T00:00:00.5Z"); // 1704067200500000
 * ```
 */
export function streamBase(created: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(created);
  const seconds = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
  if (!match || !Number.isFinite(seconds)) {
    throw new RangeError(`stream creation time '${created}'`);
  }
  const micros = Number((match[2] ?? "").slice(0, 6).padEnd(6, "0"));
  return seconds * 1000 + micros;
}
