/**
 * Printing received messages, one per line, in the order they arrived. When `marked` (an
 * interactive terminal: the user types on the same screen), each message is shown after
 * `< `, with the lines of a multi-line message indented under it, so an echo does not look
 * like the line just typed. Output that goes to a pipe or file is the bare messages.
 *
 * @example
 * ```ts
 * import { MessagePrinter } from "./message_printer.ts";
 * const printer = new MessagePrinter(Deno.stdout, { marked: Deno.stdout.isTerminal() });
 * await printer.print(["hello", "world"]);
 * ```
 * @module
 */
import { encodeUtf8 } from "../protocol/utf8.ts";
import { type ByteSink, writeAll } from "../util/net.ts";

/**
 * The mark before a received message on a terminal.
 *
 * @example
 * ```ts
 * import { formatMessages, RECEIVED_MARK } from "./message_printer.ts";
 * formatMessages(["hi"], true) === `${RECEIVED_MARK}hi\n`; // true
 * ```
 */
export const RECEIVED_MARK = "< ";

/**
 * The text printed for `messages`: each on its own line, marked or not.
 *
 * @example
 * ```ts
 * import { formatMessages } from "./message_printer.ts";
 * formatMessages(["a", "b"], false); // "a\nb\n"
 * formatMessages(["two\nlines"], true); // "< two\n  lines\n"
 * ```
 */
export function formatMessages(messages: readonly string[], marked: boolean): string {
  let text = "";
  for (const message of messages) {
    text += marked
      ? RECEIVED_MARK + message.replaceAll("\n", "\n" + " ".repeat(RECEIVED_MARK.length)) + "\n"
      : message + "\n";
  }
  return text;
}

/**
 * Writes messages to a sink, one batch after the other even when batches come faster than
 * the sink takes them.
 *
 * @example
 * ```ts
 * import { MessagePrinter } from "./message_printer.ts";
 * const printer = new MessagePrinter(Deno.stdout);
 * printer.print(["first"]);
 * await printer.print(["second"]); // after "first"
 * ```
 */
export class MessagePrinter {
  readonly #sink: ByteSink;
  readonly #marked: boolean;
  #last: Promise<void> = Promise.resolve();

  /** Prints to `sink`; `marked` puts {@link RECEIVED_MARK} before each message. */
  constructor(sink: ByteSink, options: { marked?: boolean } = {}) {
    this.#sink = sink;
    this.#marked = options.marked ?? false;
  }

  /** Prints `messages` after everything printed before; resolves once written. */
  print(messages: readonly string[]): Promise<void> {
    const bytes = encodeUtf8(formatMessages(messages, this.#marked));
    this.#last = this.#last.then(() => writeAll(this.#sink, bytes));
    return this.#last;
  }

  /** Resolves once everything handed to {@link print} is written. */
  flushed(): Promise<void> {
    return this.#last;
  }
}
