/**
 * The commands a v2 client sends, as a pure function of bytes: {@link parseCommand} turns one
 * frame payload into a typed {@link ClientCommand} or a typed {@link CommandRefusal} (the `ERR`
 * code and text to answer with); it never throws and never allocates more than the command's
 * fields. {@link encodeCommand} is its inverse, for clients and tests.
 *
 * The grammar (SP is one space, byte 0x20; verbs are uppercase ASCII, exactly as written):
 *
 * ```text
 * HELLO SP tlspush/2            switch to v2 (also accepted, and answered, once in v2)
 * SUB SP channel [SP seq]       subscribe; with seq: replay retained messages >= seq first
 * UNSUB SP channel
 * PUB SP channel [SP data]      "PUB ch" without the space publishes empty data
 * PING [SP data]                answered PONG, echoing the data part as sent (see below)
 * AUTH SP token                 the token holds no space (a JWT in compact form has none)
 * ```
 *
 * - Exactly one space separates arguments: `SUB  news` has an empty channel (`bad-channel`).
 * - `data` is every byte after its one space: it may hold spaces and newlines and may be empty.
 * - `seq` is canonical decimal, 0 to 2^53 − 1 (see `sequence_number.ts`); `SUB ch 0` replays
 *   everything retained.
 * - `PING` and `PING ` differ: the first has no data (answered `PONG`), the second has empty
 *   data (answered `PONG `). The server mirrors what was sent, so a client may use either.
 *
 * Refusals, checked in this order: empty payload, unknown verb (a lowercase or mixed-case verb
 * is unknown, with a hint), a missing argument (`bad-command`), the channel (`bad-channel`),
 * then extra arguments, the sequence number, the token, the HELLO version (`bad-command`).
 * Refusal texts are fixed strings: they never echo the peer's bytes.
 *
 * `data` fields are views into the payload, not copies: the frame decoder reuses its buffer on
 * the next read, so `slice()` what must outlive the current batch (what a PUB retains in
 * history, for example).
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * const command = parseCommand(new TextEncoder().encode("PUB metrics cpu 93%"));
 * if (command.kind === "pub") console.log(command.channel, new TextDecoder().decode(command.data));
 * if (command.kind === "refused") console.log(`ERR ${command.code} ${command.text}`);
 * ```
 * @module
 */
import { asciiEquals, decodeAscii, writeAscii } from "./ascii.ts";
import { CHANNEL_RULE, isValidChannel, isValidChannelBytes } from "./channel.ts";
import type { ErrorCode } from "./error_code.ts";
import { InvalidFieldError } from "./field_error.ts";
import { ALPN_V2 } from "./negotiation.ts";
import { isValidSequence, parseSequence, SEQUENCE_RULE } from "./sequence_number.ts";
import { encodeUtf8 } from "./utf8.ts";

/**
 * `HELLO tlspush/2`: switch to (or confirm) v2.
 *
 * @example
 * ```ts
 * import type { HelloCommand } from "./command.ts";
 * const hello: HelloCommand = { kind: "hello" };
 * ```
 */
export interface HelloCommand {
  /** The verb. */
  readonly kind: "hello";
}

/**
 * `SUB <channel>` or `SUB <channel> <seq>`.
 *
 * @example
 * ```ts
 * import type { SubCommand } from "./command.ts";
 * const resume: SubCommand = { kind: "sub", channel: "metrics", from: 1754000000000001 };
 * ```
 */
export interface SubCommand {
  /** The verb. */
  readonly kind: "sub";
  /** The channel to subscribe to. */
  readonly channel: string;
  /** Replay retained messages numbered `>= from` first; absent: new messages only. */
  readonly from?: number;
}

/**
 * `UNSUB <channel>`.
 *
 * @example
 * ```ts
 * import type { UnsubCommand } from "./command.ts";
 * const stop: UnsubCommand = { kind: "unsub", channel: "metrics" };
 * ```
 */
export interface UnsubCommand {
  /** The verb. */
  readonly kind: "unsub";
  /** The channel to leave. */
  readonly channel: string;
}

/**
 * `PUB <channel> <data>`.
 *
 * @example
 * ```ts
 * import type { PubCommand } from "./command.ts";
 * const pub: PubCommand = { kind: "pub", channel: "news", data: new TextEncoder().encode("hi") };
 * ```
 */
export interface PubCommand {
  /** The verb. */
  readonly kind: "pub";
  /** The channel to publish on. */
  readonly channel: string;
  /** The message (UTF-8, possibly empty); a view into the payload when parsed. */
  readonly data: Uint8Array;
}

/**
 * `PING` or `PING <data>`.
 *
 * @example
 * ```ts
 * import type { PingCommand } from "./command.ts";
 * const bare: PingCommand = { kind: "ping" }; // answered "PONG"
 * const withData: PingCommand = { kind: "ping", data: new TextEncoder().encode("t=1") };
 * ```
 */
export interface PingCommand {
  /** The verb. */
  readonly kind: "ping";
  /** What follows `PING ` (possibly empty); absent when the payload was just `PING`. */
  readonly data?: Uint8Array;
}

/**
 * `AUTH <token>`.
 *
 * @example
 * ```ts
 * import type { AuthCommand } from "./command.ts";
 * const auth: AuthCommand = { kind: "auth", token: "eyJhbGciOiJIUzI1NiJ9.e30.sig" };
 * ```
 */
export interface AuthCommand {
  /** The verb. */
  readonly kind: "auth";
  /** The token as sent (not yet verified). */
  readonly token: string;
}

/**
 * Any well-formed client command.
 *
 * @example
 * ```ts
 * import type { ClientCommand } from "./command.ts";
 * function describe(command: ClientCommand): string {
 *   return command.kind === "sub" ? `subscribe to ${command.channel}` : command.kind;
 * }
 * ```
 */
export type ClientCommand =
  | HelloCommand
  | SubCommand
  | UnsubCommand
  | PubCommand
  | PingCommand
  | AuthCommand;

/**
 * A payload that is not a valid command: answer `ERR <code> <text>` and keep the connection.
 *
 * @example
 * ```ts
 * import type { CommandRefusal } from "./command.ts";
 * const refusal: CommandRefusal = { kind: "refused", code: "bad-command", text: "unknown command" };
 * ```
 */
export interface CommandRefusal {
  /** Marks a refusal. */
  readonly kind: "refused";
  /** `bad-command` or `bad-channel` (the parser's two codes). */
  readonly code: ErrorCode;
  /** A short fixed explanation, without the peer's bytes. */
  readonly text: string;
}

/**
 * What {@link parseCommand} returns.
 *
 * @example
 * ```ts
 * import { type ParsedCommand, parseCommand } from "./command.ts";
 * const parsed: ParsedCommand = parseCommand(new TextEncoder().encode("PING"));
 * parsed.kind; // "ping"
 * ```
 */
export type ParsedCommand = ClientCommand | CommandRefusal;

/**
 * The verbs, as sent.
 *
 * @example
 * ```ts
 * import { COMMAND_VERBS } from "./command.ts";
 * COMMAND_VERBS.join(" "); // "HELLO SUB UNSUB PUB PING AUTH"
 * ```
 */
export const COMMAND_VERBS = ["HELLO", "SUB", "UNSUB", "PUB", "PING", "AUTH"] as const;

const SPACE = 0x20;
const EMPTY = new Uint8Array(0);
const textDecoder = new TextDecoder(); // non-fatal: the payload was validated by the decoder
const LONGEST_VERB = 5;

function refuse(code: ErrorCode, text: string): CommandRefusal {
  return Object.freeze({ kind: "refused", code, text }); // shared: one object per refusal
}

const EMPTY_COMMAND = refuse("bad-command", "empty command");
const UNKNOWN_VERB = refuse("bad-command", `unknown command (verbs: ${COMMAND_VERBS.join(" ")})`);
const BAD_CHANNEL = refuse("bad-channel", CHANNEL_RULE);
const BAD_SEQUENCE = refuse("bad-command", SEQUENCE_RULE);
const BAD_HELLO = refuse("bad-command", `unsupported protocol: this server speaks ${ALPN_V2}`);
const NO_SPACE_IN_TOKEN = refuse("bad-command", "a token holds no spaces");
const NEEDS: Record<string, CommandRefusal> = {
  SUB: refuse("bad-command", "SUB needs a channel"),
  UNSUB: refuse("bad-command", "UNSUB needs a channel"),
  PUB: refuse("bad-command", "PUB needs a channel"),
  AUTH: refuse("bad-command", "AUTH needs a token"),
  HELLO: refuse("bad-command", `HELLO needs the protocol: HELLO ${ALPN_V2}`),
};
const TOO_MANY: Record<string, CommandRefusal> = {
  SUB: refuse("bad-command", "too many arguments: SUB <channel> [<seq>]"),
  UNSUB: refuse("bad-command", "too many arguments: UNSUB <channel>"),
};
const CASE_HINT: ReadonlyMap<string, CommandRefusal> = new Map(
  COMMAND_VERBS.map((verb) => [verb, refuse("bad-command", `commands are uppercase: ${verb}`)]),
);

/** The verb in `payload[0, end)` as text when it is short ASCII, else "" (unknown). */
function verbText(payload: Uint8Array, end: number): string {
  if (end > LONGEST_VERB) return "";
  for (let i = 0; i < end; i++) if (payload[i] >= 0x80) return "";
  return decodeAscii(payload, 0, end);
}

function endOfArgument(payload: Uint8Array, start: number): number {
  const space = payload.indexOf(SPACE, start);
  return space === -1 ? payload.length : space;
}

/**
 * Parses one v2 frame payload (already valid UTF-8) into a command or a refusal. Pure, total
 * (never throws, whatever the bytes), and O(payload length).
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * parseCommand(bytes("SUB metrics 1754000000000000")); // { kind: "sub", channel: "metrics", from: 1754000000000000 }
 * parseCommand(bytes("sub metrics")); // { kind: "refused", code: "bad-command", text: "commands are uppercase: SUB" }
 * parseCommand(bytes("SUB météo")); // { kind: "refused", code: "bad-channel", ... }
 * ```
 */
export function parseCommand(payload: Uint8Array): ParsedCommand {
  const length = payload.length;
  if (length === 0) return EMPTY_COMMAND;
  const verbEnd = endOfArgument(payload, 0);
  const verb = verbText(payload, verbEnd);
  const hasArguments = verbEnd < length;
  const start = verbEnd + 1; // first byte of the arguments, when there are any
  switch (verb) {
    case "SUB":
    case "UNSUB":
    case "PUB": {
      if (!hasArguments) return NEEDS[verb];
      const channelEnd = endOfArgument(payload, start);
      if (!isValidChannelBytes(payload, start, channelEnd)) return BAD_CHANNEL;
      const channel = decodeAscii(payload, start, channelEnd);
      const more = channelEnd < length;
      if (verb === "PUB") {
        return { kind: "pub", channel, data: more ? payload.subarray(channelEnd + 1) : EMPTY };
      }
      if (!more) return { kind: verb === "SUB" ? "sub" : "unsub", channel };
      if (verb === "UNSUB") return TOO_MANY.UNSUB;
      const seqStart = channelEnd + 1;
      if (payload.indexOf(SPACE, seqStart) !== -1) return TOO_MANY.SUB;
      const from = parseSequence(payload, seqStart, length);
      return from === undefined ? BAD_SEQUENCE : { kind: "sub", channel, from };
    }
    case "PING":
      return hasArguments ? { kind: "ping", data: payload.subarray(start) } : { kind: "ping" };
    case "AUTH": {
      if (!hasArguments || start === length) return NEEDS.AUTH;
      if (payload.indexOf(SPACE, start) !== -1) return NO_SPACE_IN_TOKEN;
      return { kind: "auth", token: textDecoder.decode(payload.subarray(start)) };
    }
    case "HELLO":
      if (!hasArguments) return NEEDS.HELLO;
      return asciiEquals(payload, start, length, ALPN_V2) ? { kind: "hello" } : BAD_HELLO;
    default:
      return CASE_HINT.get(verb.toUpperCase()) ?? UNKNOWN_VERB;
  }
}

function checkChannel(channel: string): void {
  if (!isValidChannel(channel)) throw new InvalidFieldError("channel", channel, CHANNEL_RULE);
}

/** `head` (ASCII) followed, when `data` is given, by one space and `data`. */
function assemble(head: string, data?: Uint8Array): Uint8Array {
  if (data === undefined) {
    const out = new Uint8Array(head.length);
    writeAscii(out, 0, head);
    return out;
  }
  const out = new Uint8Array(head.length + 1 + data.length);
  out[writeAscii(out, 0, head)] = SPACE;
  out.set(data, head.length + 1);
  return out;
}

/**
 * Encodes a command as the payload of one frame; `parseCommand(encodeCommand(c))` equals `c`.
 * A `PUB` is always written with the space before its data, even when the data is empty.
 * Throws {@link InvalidFieldError} for a field the grammar cannot carry (invalid channel,
 * sequence number outside 0 to 2^53 − 1, empty token or one with a space).
 *
 * @example
 * ```ts
 * import { encodeCommand } from "./command.ts";
 * import { encodeFrame } from "./framing.ts";
 * const frame = encodeFrame(encodeCommand({ kind: "sub", channel: "metrics", from: 0 }), "line");
 * new TextDecoder().decode(frame); // "SUB metrics 0\n"
 * ```
 */
export function encodeCommand(command: ClientCommand): Uint8Array {
  switch (command.kind) {
    case "hello":
      return assemble(`HELLO ${ALPN_V2}`);
    case "sub":
      checkChannel(command.channel);
      if (command.from === undefined) return assemble(`SUB ${command.channel}`);
      if (!isValidSequence(command.from)) {
        throw new InvalidFieldError("seq", command.from, SEQUENCE_RULE);
      }
      return assemble(`SUB ${command.channel} ${command.from}`);
    case "unsub":
      checkChannel(command.channel);
      return assemble(`UNSUB ${command.channel}`);
    case "pub":
      checkChannel(command.channel);
      return assemble(`PUB ${command.channel}`, command.data);
    case "ping":
      return assemble("PING", command.data);
    case "auth":
      if (command.token === "" || command.token.includes(" ")) {
        throw new InvalidFieldError(
          "token",
          command.token,
          "a token is not empty and has no spaces",
        );
      }
      return assemble("AUTH", encodeUtf8(command.token));
  }
}
