/**
 * What one connection's messages mean, whatever carries them: the frames it opens with, what a
 * line of input becomes on the wire, what a received message prints as, and whether the client
 * was done when the server closed. Protocol v1 is `EchoTracker` (a line goes out as it
 * is and comes back as its echo); protocol v2 is `V2Conversation` (SUB, PUB, MSG, OK, GAP, ERR).
 *
 * @example
 * ```ts
 * import type { Conversation } from "./conversation.ts";
 * function send(conversation: Conversation, line: string, write: (text: string) => void) {
 *   write(conversation.outgoing(line));
 * }
 * ```
 * @module
 */
import type { ClientMode } from "./config.ts";
import type { ClientError } from "./errors.ts";

/**
 * One connection's conversation with the server.
 *
 * @example
 * ```ts
 * import type { Conversation } from "./conversation.ts";
 * function opened(conversation: Conversation, write: (text: string) => void): void {
 *   for (const frame of conversation.opening()) write(frame);
 * }
 * ```
 */
export interface Conversation {
  /** What to send first, before any input (v2: `HELLO`, the `SUB`s). */
  opening(): string[];
  /** The message to send for one line of input. */
  outgoing(line: string): string;
  /** What a received message prints as; undefined prints nothing. Throws a `ClientError`. */
  incoming(message: string): string | undefined;
  /** Resolves true once nothing sent waits for an answer; false when `stop` aborts first. */
  settled(stop: AbortSignal): Promise<boolean>;
  /** The input has ended (the client is about to half-close or close). */
  endInput(): void;
  /** Messages sent and not answered yet (v1: not echoed). */
  readonly unechoed: number;
  /**
   * The error for an orderly close by the server now, or undefined when the client was done.
   * `refusal` says what a server that refuses a message does (it differs by transport).
   */
  closedEarly(mode: ClientMode, refusal: string, closeCode?: number): ClientError | undefined;
}
