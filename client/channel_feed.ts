/**
 * Where the client is in each subscribed channel, kept across connections: the lowest sequence
 * number it has not yet seen. The first connection subscribes from now on (`SUB <channel>`);
 * its `OK SUB <channel> <next>` says where "now" was, and every message printed moves the mark
 * on, so a reconnect (`--reconnect`) asks for `SUB <channel> <mark>` and gets exactly what it
 * missed, once, or a `GAP` for what is no longer retained.
 *
 * @example
 * ```ts
 * import { ChannelFeed } from "./channel_feed.ts";
 * const feed = new ChannelFeed(["metrics"]);
 * feed.subscribeCommands(); // ["SUB metrics"]
 * feed.subscribed("metrics", 40);
 * feed.accept("metrics", 41); // true: new, printed
 * feed.accept("metrics", 41); // false: already printed
 * feed.subscribeCommands(); // ["SUB metrics 42"]
 * ```
 * @module
 */

/**
 * The resume point of every subscribed channel.
 *
 * @example
 * ```ts
 * import { ChannelFeed } from "./channel_feed.ts";
 * const feed = new ChannelFeed(["a", "b"]);
 * feed.channels; // ["a", "b"]
 * ```
 */
export class ChannelFeed {
  /** The channels, in the order given. */
  readonly channels: readonly string[];
  /** Per channel: the lowest number not seen yet; absent until the first `OK SUB`. */
  readonly #next = new Map<string, number>();

  /** Follows `channels`. */
  constructor(channels: readonly string[]) {
    this.channels = channels;
  }

  /** Whether `channel` is one of the subscribed channels. */
  has(channel: string): boolean {
    return this.channels.includes(channel);
  }

  /** The `SUB` commands of a new connection: from the resume point where there is one. */
  subscribeCommands(): string[] {
    return this.channels.map((channel) => {
      const next = this.#next.get(channel);
      return next === undefined ? `SUB ${channel}` : `SUB ${channel} ${next}`;
    });
  }

  /** `OK SUB <channel> <next>`: the first subscription starts the mark there. */
  subscribed(channel: string, next: number): void {
    if (!this.#next.has(channel)) this.#next.set(channel, next);
  }

  /**
   * A `MSG` of `channel` numbered `seq`: true when it is new (print it), false when it was seen
   * already (numbers only grow, so anything below the mark was).
   */
  accept(channel: string, seq: number): boolean {
    const next = this.#next.get(channel);
    if (next !== undefined && seq < next) return false;
    this.#next.set(channel, seq + 1);
    return true;
  }

  /** A `GAP <channel> <from> <to>`: nothing below `to` will come, do not ask for it again. */
  skipTo(channel: string, to: number): void {
    if ((this.#next.get(channel) ?? 0) < to) this.#next.set(channel, to);
  }

  /** Whether a message numbered `seq` on `channel` was printed already. */
  seen(channel: string, seq: number): boolean {
    const next = this.#next.get(channel);
    return next !== undefined && seq < next;
  }
}
