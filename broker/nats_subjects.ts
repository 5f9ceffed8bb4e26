/**
 * How the NATS broker names things: one JetStream stream per deployment (`PREFIX_channels`)
 * holding the subjects `PREFIX.ch.CHANNEL`, and the core subject `PREFIX.presence` for
 * heartbeats. A channel name becomes one subject token: characters other than
 * `A-Z a-z 0-9 _ -` are percent-encoded (a `.` would split it into tokens, and `a..b` is not
 * a valid subject at all).
 *
 * @example
 * ```ts
 * import { channelOfSubject, subjectOfChannel } from "./nats_subjects.ts";
 * subjectOfChannel("tlspush", "chat.room-1"); // "tlspush.ch.chat%2Eroom-1"
 * channelOfSubject("tlspush", "tlspush.ch.chat%2Eroom-1"); // "chat.room-1"
 * ```
 * @module
 */

/**
 * The subject a channel's messages are published on.
 *
 * @example
 * ```ts
 * import { subjectOfChannel } from "./nats_subjects.ts";
 * subjectOfChannel("blue", "a/b:c"); // "blue.ch.a%2Fb%3Ac"
 * ```
 */
export function subjectOfChannel(prefix: string, channel: string): string {
  let token = "";
  for (const byte of new TextEncoder().encode(channel)) {
    const char = String.fromCharCode(byte);
    token += /[A-Za-z0-9_-]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${prefix}.ch.${token}`;
}

/**
 * The channel of a subject made by `subjectOfChannel`, or undefined for any other subject.
 *
 * @example
 * ```ts
 * import { channelOfSubject } from "./nats_subjects.ts";
 * channelOfSubject("blue", "blue.ch.metrics"); // "metrics"
 * channelOfSubject("blue", "green.ch.metrics"); // undefined
 * ```
 */
export function channelOfSubject(prefix: string, subject: string): string | undefined {
  const head = `${prefix}.ch.`;
  if (!subject.startsWith(head)) return undefined;
  try {
    return decodeURIComponent(subject.slice(head.length));
  } catch {
    return undefined;
  }
}

/**
 * The wildcard of every channel subject of a deployment (the stream's subjects).
 *
 * @example
 * ```ts
 * import { channelWildcard } from "./nats_subjects.ts";
 * channelWildcard("tlspush"); // "tlspush.ch.>"
 * ```
 */
export function channelWildcard(prefix: string): string {
  return `${prefix}.ch.>`;
}

/**
 * The JetStream stream of a deployment.
 *
 * @example
 * ```ts
 * import { streamName } from "./nats_subjects.ts";
 * streamName("tlspush"); // "tlspush_channels"
 * ```
 */
export function streamName(prefix: string): string {
  return `${prefix}_channels`;
}

/**
 * The core subject of a deployment's heartbeats.
 *
 * @example
 * ```ts
 * import { presenceSubject } from "./nats_subjects.ts";
 * presenceSubject("tlspush"); // "tlspush.presence"
 * ```
 */
export function presenceSubject(prefix: string): string {
  return `${prefix}.presence`;
}
