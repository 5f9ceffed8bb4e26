/**
 * What one connection still owes the client: the messages sent and not yet echoed, and
 * whether the input has ended. A server that closes while either is pending ended the
 * connection before the client was done, and the client says so (exit status 1).
 *
 * A v1 server echoes every message, unchanged and in order, interleaved with broadcasts (and
 * relayed messages of other clients). So the next echo expected is always the oldest
 * message not yet echoed: a received message equal to it is that echo, any other one is a
 * broadcast. A broadcast that happens to equal the oldest pending message is taken for its
 * echo; then a refusal of that very message goes unnoticed, the only case this misses.
 *
 * @example
 * ```ts
 * import { EchoTracker } from "./echo_tracker.ts";
 * const tracker = new EchoTracker("le32");
 * tracker.sent("a");
 * tracker.received("pushed by the operator"); // a broadcast: not the echo of "a"
 * tracker.unechoed; // 1
 * tracker.received("a");
 * tracker.endInput();
 * tracker.done; // true
 * tracker.closedEarly("interactive", "it refused a message"); // undefined: nothing is owed
 * ```
 * @module
 */
import type { Framing } from "../protocol/framing.ts";
import type { ClientMode } from "./config.ts";
import type { Conversation } from "./conversation.ts";
import { ServerClosedError } from "./errors.ts";

/**
 * Messages sent on one connection and not yet echoed, and whether the input has ended.
 *
 * @example
 * ```ts
 * import { EchoTracker } from "./echo_tracker.ts";
 * const tracker = new EchoTracker("line");
 * tracker.sent("typed\r"); // line framing: the server drops a trailing \r, so it echoes "typed"
 * tracker.received("typed");
 * tracker.unechoed; // 0
 * ```
 */
export class EchoTracker implements Conversation {
  readonly #expected: string[] = [];
  #next = 0;
  #inputEnded = false;
  readonly #framing: Framing | "websocket";

  /** Tracks a connection of this framing (`websocket`: text messages). */
  constructor(framing: Framing | "websocket") {
    this.#framing = framing;
  }

  /** v1 opens with nothing: the server speaks first only to push. */
  opening(): string[] {
    return [];
  }

  /** A line goes out as it is; its echo is now expected. */
  outgoing(line: string): string {
    this.sent(line);
    return line;
  }

  /** Every message prints as it is: an echo, or a broadcast. */
  incoming(message: string): string {
    this.received(message);
    return message;
  }

  /** v1 half-closes at once: the server echoes what is left before it closes. */
  settled(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Records `message` as sent: its echo is now expected. */
  sent(message: string): void {
    this.#expected.push(this.#echoOf(message));
  }

  /** Records a message received: the echo expected next, or a broadcast. */
  received(message: string): void {
    if (this.#next < this.#expected.length && this.#expected[this.#next] === message) {
      this.#next++;
      // Forget what was echoed now and then, in one step rather than a shift per message.
      if (this.#next > 1024 && this.#next * 2 > this.#expected.length) {
        this.#expected.splice(0, this.#next);
        this.#next = 0;
      }
    }
  }

  /** Records that the input has ended (the client half-closed or started the closing handshake). */
  endInput(): void {
    this.#inputEnded = true;
  }

  /** Messages sent and not yet echoed. */
  get unechoed(): number {
    return this.#expected.length - this.#next;
  }

  /** Whether the input has ended. */
  get inputEnded(): boolean {
    return this.#inputEnded;
  }

  /** Whether the client was done: input ended and every message echoed. */
  get done(): boolean {
    return this.#inputEnded && this.unechoed === 0;
  }

  /**
   * The error for an orderly close by the server now, or undefined when the client was done.
   * `refusal` says what a server that refuses a message does (it differs by transport).
   */
  closedEarly(
    mode: ClientMode,
    refusal: string,
    closeCode?: number,
  ): ServerClosedError | undefined {
    if (this.done) return undefined;
    const count = this.unechoed;
    const details = { unechoed: count, closeCode };
    if (count > 0) {
      const messages = `${count} message${count === 1 ? "" : "s"}`;
      return new ServerClosedError(
        `the server closed the connection before echoing ${messages}: ${refusal}`,
        details,
      );
    }
    return new ServerClosedError(
      mode === "send"
        ? "the server closed the connection before every --send message was sent " +
          "(it stopped?)"
        : "the server closed the connection while input was still open (it stopped?): " +
          "lines from now on are not sent (--reconnect would carry on)",
      details,
    );
  }

  /** What the server sends back for `message`: the same text, as its framing carries it. */
  #echoOf(message: string): string {
    // Invalid UTF-16 goes out as U+FFFD (the UTF-8 encoder's rule), so it comes back so.
    let echo = message.isWellFormed() ? message : message.toWellFormed();
    // The line decoder takes "\r\n" as the end of a line too.
    if (this.#framing === "line" && echo.endsWith("\r")) echo = echo.slice(0, -1);
    return echo;
  }
}
