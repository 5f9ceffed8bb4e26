/**
 * The client's outgoing messages as a channel that outlives connections: one task reads the
 * input (stdin lines or `--send` values) ahead, and whichever connection is current takes
 * messages from it. A message is taken only by a connection that is still open, so a reconnect
 * resumes with the next unsent line instead of losing or repeating one.
 *
 * @example
 * ```ts
 * import { InputChannel } from "./input_channel.ts";
 * const channel = new InputChannel(["a", "b"]);
 * await channel.take(); // "a"
 * ```
 * @module
 */

/**
 * Most messages read ahead of the connection before reading input pauses.
 *
 * @example
 * ```ts
 * import { InputChannel, READ_AHEAD } from "./input_channel.ts";
 * const channel = new InputChannel(["a"]); // holds at most READ_AHEAD messages not yet taken
 * console.log(READ_AHEAD); // 1024
 * ```
 */
export const READ_AHEAD = 1024;

/**
 * What {@link InputChannel.take} returns at end of input.
 *
 * @example
 * ```ts
 * import { END_OF_INPUT, InputChannel } from "./input_channel.ts";
 * const channel = new InputChannel([]);
 * (await channel.take()) === END_OF_INPUT; // true
 * ```
 */
export const END_OF_INPUT: unique symbol = Symbol("end of input");

/**
 * A buffered, resumable queue of messages read from `source`.
 *
 * @example
 * ```ts
 * import { readLines } from "../util/lines.ts";
 * import { InputChannel } from "./input_channel.ts";
 * const channel = new InputChannel(readLines(Deno.stdin.readable));
 * const connectionClosed = new AbortController();
 * const next = await channel.take(connectionClosed.signal); // a line, END_OF_INPUT or undefined
 * ```
 */
export class InputChannel {
  readonly #items: string[] = [];
  #ended = false;
  #error: unknown;
  #notify: (() => void) | undefined;
  #space: (() => void) | undefined;

  /** Starts reading `source` ahead into the channel. */
  constructor(source: AsyncIterable<string> | Iterable<string>) {
    this.#fill(source);
  }

  /**
   * The next message, or {@link END_OF_INPUT}; undefined when `signal` aborts first (no
   * message is consumed then). Rejects if reading the input failed.
   */
  async take(signal?: AbortSignal): Promise<string | typeof END_OF_INPUT | undefined> {
    while (true) {
      if (this.#items.length > 0) {
        const item = this.#items.shift()!;
        this.#space?.();
        return item;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return END_OF_INPUT;
      if (signal?.aborted) return undefined;
      const wake = () => this.#wake();
      signal?.addEventListener("abort", wake, { once: true });
      await new Promise<void>((resolve) => this.#notify = resolve);
      signal?.removeEventListener("abort", wake);
    }
  }

  async #fill(source: AsyncIterable<string> | Iterable<string>): Promise<void> {
    try {
      for await (const item of source) {
        this.#items.push(item);
        this.#wake();
        if (this.#items.length >= READ_AHEAD) {
          await new Promise<void>((resolve) => this.#space = resolve);
          this.#space = undefined;
        }
      }
    } catch (error) {
      this.#error = error;
    }
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const notify = this.#notify;
    this.#notify = undefined;
    notify?.();
  }
}
