/**
 * The replies a v2 server sends: {@link encodeReply} writes each one as a frame payload,
 * {@link encodeMsg} is the fan-out fast path, and {@link parseReply} reads them back (for the
 * terminal client and the tests); `parseReply(encodeReply(r))` equals `r` for every reply.
 *
 * ```text
 * MSG SP channel SP seq SP data      the space before data is always written, even when empty
 * OK SP SUB SP channel SP next       next: the lowest sequence number a new message can get
 * OK SP UNSUB SP channel
 * OK SP PUB SP channel SP seq
 * OK SP AUTH SP identity             identity: the rest of the payload
 * OK SP HELLO
 * PONG [SP data]                     mirrors the PING: no data part when the PING had none
 * GAP SP channel SP from SP to       [from, to) existed but is no longer retained; from < to
 * ERR SP code SP text                code: lowercase letters, digits, "-"; text: the rest
 * ```
 *
 * Sequence numbers are canonical decimals from 0 to 2^53 − 1 (`sequence_number.ts`). The parser
 * is as strict as the encoder (a `MSG` without the space before its data is invalid), except
 * that it accepts `ERR` codes it does not know, as a later server may add some.
 *
 * @example
 * ```ts
 * import { encodeMsg, parseReply } from "./reply.ts";
 * const payload = encodeMsg("metrics", 1754000000000000, new TextEncoder().encode("cpu 93%"));
 * new TextDecoder().decode(payload); // "MSG metrics 1754000000000000 cpu 93%"
 * parseReply(payload).kind; // "msg"
 * ```
 * @module
 */
import { asciiEquals, decodeAscii, writeAscii } from "./ascii.ts";
import { CHANNEL_RULE, isValidChannel, isValidChannelBytes } from "./channel.ts";
import { InvalidFieldError } from "./field_error.ts";
import { isValidSequence, parseSequence, SEQUENCE_RULE } from "./sequence_number.ts";
import { encodeUtf8 } from "./utf8.ts";

/**
 * `MSG <channel> <seq> <data>`: one message of a subscribed channel.
 *
 * @example
 * ```ts
 * import type { MsgReply } from "./reply.ts";
 * const msg: MsgReply = { kind: "msg", channel: "news", seq: 7, data: new Uint8Array() };
 * ```
 */
export interface MsgReply {
  /** The reply. */
  readonly kind: "msg";
  /** The channel. */
  readonly channel: string;
  /** The message's sequence number. */
  readonly seq: number;
  /** The message (possibly empty); a view into the payload when parsed. */
  readonly data: Uint8Array;
}

/**
 * `OK SUB <channel> <next>`: subscribed; sent before any replayed `MSG`.
 *
 * @example
 * ```ts
 * import type { OkSubReply } from "./reply.ts";
 * const ok: OkSubReply = { kind: "ok-sub", channel: "news", next: 1754000000000000 };
 * ```
 */
export interface OkSubReply {
  /** The reply. */
  readonly kind: "ok-sub";
  /** The channel. */
  readonly channel: string;
  /** The lowest sequence number a new message of the channel can get. */
  readonly next: number;
}

/**
 * `OK UNSUB <channel>`.
 *
 * @example
 * ```ts
 * import type { OkUnsubReply } from "./reply.ts";
 * const ok: OkUnsubReply = { kind: "ok-unsub", channel: "news" };
 * ```
 */
export interface OkUnsubReply {
  /** The reply. */
  readonly kind: "ok-unsub";
  /** The channel. */
  readonly channel: string;
}

/**
 * `OK PUB <channel> <seq>`: published with that sequence number.
 *
 * @example
 * ```ts
 * import type { OkPubReply } from "./reply.ts";
 * const ok: OkPubReply = { kind: "ok-pub", channel: "news", seq: 1754000000000000 };
 * ```
 */
export interface OkPubReply {
  /** The reply. */
  readonly kind: "ok-pub";
  /** The channel. */
  readonly channel: string;
  /** The sequence number the message got. */
  readonly seq: number;
}

/**
 * `OK AUTH <identity>`.
 *
 * @example
 * ```ts
 * import type { OkAuthReply } from "./reply.ts";
 * const ok: OkAuthReply = { kind: "ok-auth", identity: "dashboard-7" };
 * ```
 */
export interface OkAuthReply {
  /** The reply. */
  readonly kind: "ok-auth";
  /** Who the token says the client is (its `sub` claim). */
  readonly identity: string;
}

/**
 * `OK HELLO`: the connection speaks v2.
 *
 * @example
 * ```ts
 * import type { OkHelloReply } from "./reply.ts";
 * const ok: OkHelloReply = { kind: "ok-hello" };
 * ```
 */
export interface OkHelloReply {
  /** The reply. */
  readonly kind: "ok-hello";
}

/**
 * `PONG` or `PONG <data>`.
 *
 * @example
 * ```ts
 * import type { PongReply } from "./reply.ts";
 * const pong: PongReply = { kind: "pong", data: new TextEncoder().encode("t=1") };
 * ```
 */
export interface PongReply {
  /** The reply. */
  readonly kind: "pong";
  /** The PING's data; absent when the PING had no data part. */
  readonly data?: Uint8Array;
}

/**
 * `GAP <channel> <from> <to>`: messages numbered in `[from, to)` existed but are gone.
 *
 * @example
 * ```ts
 * import type { GapReply } from "./reply.ts";
 * const gap: GapReply = { kind: "gap", channel: "news", from: 0, to: 1754000000000000 };
 * ```
 */
export interface GapReply {
  /** The reply. */
  readonly kind: "gap";
  /** The channel. */
  readonly channel: string;
  /** First number of the range (the `<seq>` the client asked for). */
  readonly from: number;
  /** End of the range, exclusive: where the replay continues. */
  readonly to: number;
}

/**
 * `ERR <code> <text>`: one command refused; the connection stays open.
 *
 * @example
 * ```ts
 * import type { ErrReply } from "./reply.ts";
 * const err: ErrReply = { kind: "err", code: "forbidden", text: "may not publish on news" };
 * ```
 */
export interface ErrReply {
  /** The reply. */
  readonly kind: "err";
  /** One of `ERROR_CODES` from the server (any code of `a-z 0-9 -` when parsed). */
  readonly code: string;
  /** A short explanation (possibly empty). */
  readonly text: string;
}

/**
 * Any reply of a v2 server.
 *
 * @example
 * ```ts
 * import type { ServerReply } from "./reply.ts";
 * const replies: ServerReply[] = [{ kind: "ok-hello" }, { kind: "pong" }];
 * ```
 */
export type ServerReply =
  | MsgReply
  | OkSubReply
  | OkUnsubReply
  | OkPubReply
  | OkAuthReply
  | OkHelloReply
  | PongReply
  | GapReply
  | ErrReply;

/**
 * A payload that is no valid reply: a client treats it as a protocol error of the server.
 *
 * @example
 * ```ts
 * import { parseReply } from "./reply.ts";
 * const parsed = parseReply(new TextEncoder().encode("HELLO"));
 * if (parsed.kind === "invalid") console.error(`bad reply from the server: ${parsed.reason}`);
 * ```
 */
export interface InvalidReply {
  /** Marks an invalid payload. */
  readonly kind: "invalid";
  /** Why, in a few words. */
  readonly reason: string;
}

/**
 * What {@link parseReply} returns.
 *
 * @example
 * ```ts
 * import { type ParsedReply, parseReply } from "./reply.ts";
 * const parsed: ParsedReply = parseReply(new TextEncoder().encode("OK HELLO"));
 * parsed.kind; // "ok-hello"
 * ```
 */
export type ParsedReply = ServerReply | InvalidReply;

const SPACE = 0x20;
const CODE_PATTERN = /^[a-z0-9-]+$/;
/** Longest `ERR` code the parser reads (the known ones have at most 17 bytes). */
const MAX_CODE_LENGTH = 64;
const textDecoder = new TextDecoder(); // non-fatal: never throws

function digits(value: number): number {
  let count = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    count++;
  }
  return count;
}

function checkChannel(channel: string): void {
  if (!isValidChannel(channel)) throw new InvalidFieldError("channel", channel, CHANNEL_RULE);
}

function checkSequence(field: string, value: number): void {
  if (!isValidSequence(value)) throw new InvalidFieldError(field, value, SEQUENCE_RULE);
}

/**
 * Bytes of the `MSG` payload for a message of `dataBytes` bytes, without building it: what the
 * server compares with `--max-frame` before accepting a `PUB` (with `seq` = `MAX_SEQUENCE` for a
 * bound that holds whatever number the message gets).
 *
 * @example
 * ```ts
 * import { msgPayloadLength } from "./reply.ts";
 * import { MAX_SEQUENCE } from "./sequence_number.ts";
 * msgPayloadLength("news", 7, 2); // 12: "MSG news 7 hi"
 * const tooLarge = msgPayloadLength("news", MAX_SEQUENCE, 16_777_200) > 16 * 1024 * 1024; // true
 * ```
 */
export function msgPayloadLength(channel: string, seq: number, dataBytes: number): number {
  return 4 + channel.length + 1 + digits(seq) + 1 + dataBytes;
}

/**
 * Builds the payload `MSG <channel> <seq> <data>`: the ASCII prefix written byte by byte and the
 * data copied once, never decoded or re-encoded. Build it once per message and hand the same
 * bytes (or one frame per framing) to every subscriber. Throws {@link InvalidFieldError} for an
 * invalid channel or sequence number.
 *
 * @example
 * ```ts
 * import { encodeMsg } from "./reply.ts";
 * const payload = encodeMsg("news", 1754000000000000, new Uint8Array());
 * new TextDecoder().decode(payload); // "MSG news 1754000000000000 " (the space is always there)
 * ```
 */
export function encodeMsg(channel: string, seq: number, data: Uint8Array): Uint8Array {
  checkChannel(channel);
  checkSequence("seq", seq);
  const seqText = String(seq);
  const out = new Uint8Array(4 + channel.length + 1 + seqText.length + 1 + data.length);
  let offset = writeAscii(out, 0, "MSG ");
  offset = writeAscii(out, offset, channel);
  out[offset++] = SPACE;
  offset = writeAscii(out, offset, seqText);
  out[offset++] = SPACE;
  out.set(data, offset);
  return out;
}

/** ASCII `head`, then (when given) one space and `tail`. */
function assemble(head: string, tail?: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + (tail === undefined ? 0 : 1 + tail.length));
  const offset = writeAscii(out, 0, head);
  if (tail !== undefined) {
    out[offset] = SPACE;
    out.set(tail, offset + 1);
  }
  return out;
}

/**
 * Encodes any reply as the payload of one frame. Throws {@link InvalidFieldError} for a field
 * the grammar cannot carry: an invalid channel, a sequence number outside 0 to 2^53 − 1, a
 * `GAP` whose `from` is not below its `to`, an `ERR` code outside `a-z 0-9 -`.
 *
 * @example
 * ```ts
 * import { encodeReply } from "./reply.ts";
 * const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
 * text(encodeReply({ kind: "ok-sub", channel: "news", next: 1754000000000000 })); // "OK SUB news 1754000000000000"
 * text(encodeReply({ kind: "gap", channel: "news", from: 0, to: 1754000000000000 })); // "GAP news 0 1754000000000000"
 * text(encodeReply({ kind: "err", code: "bad-channel", text: "channel names are ..." }));
 * ```
 */
export function encodeReply(reply: ServerReply): Uint8Array {
  switch (reply.kind) {
    case "msg":
      return encodeMsg(reply.channel, reply.seq, reply.data);
    case "ok-sub":
      checkChannel(reply.channel);
      checkSequence("next", reply.next);
      return assemble(`OK SUB ${reply.channel} ${reply.next}`);
    case "ok-unsub":
      checkChannel(reply.channel);
      return assemble(`OK UNSUB ${reply.channel}`);
    case "ok-pub":
      checkChannel(reply.channel);
      checkSequence("seq", reply.seq);
      return assemble(`OK PUB ${reply.channel} ${reply.seq}`);
    case "ok-auth":
      return assemble("OK AUTH", encodeUtf8(reply.identity));
    case "ok-hello":
      return assemble("OK HELLO");
    case "pong":
      return assemble("PONG", reply.data);
    case "gap":
      checkChannel(reply.channel);
      checkSequence("from", reply.from);
      checkSequence("to", reply.to);
      if (reply.from >= reply.to) {
        throw new InvalidFieldError("to", reply.to, "a GAP's <to> is above its <from>");
      }
      return assemble(`GAP ${reply.channel} ${reply.from} ${reply.to}`);
    case "err":
      if (!CODE_PATTERN.test(reply.code)) {
        throw new InvalidFieldError("code", reply.code, "codes are a-z, 0-9 and -");
      }
      return assemble(`ERR ${reply.code}`, encodeUtf8(reply.text));
  }
}

/** Reads single-space-separated fields of a payload, left to right. */
class Fields {
  position = 0;
  constructor(readonly payload: Uint8Array) {}

  /** The next field, up to the next space or the end; then skips that one space. */
  next(): [start: number, end: number] {
    const start = this.position;
    const space = this.payload.indexOf(SPACE, start);
    const end = space === -1 ? this.payload.length : space;
    this.position = space === -1 ? this.payload.length + 1 : space + 1;
    return [start, end];
  }

  /** True when the last field ended at the end of the payload (no space after it). */
  get done(): boolean {
    return this.position > this.payload.length;
  }
}

function invalid(reason: string): InvalidReply {
  return { kind: "invalid", reason };
}

/** A channel field, or undefined. */
function channelField(fields: Fields): string | undefined {
  if (fields.done) return undefined;
  const [start, end] = fields.next();
  return isValidChannelBytes(fields.payload, start, end)
    ? decodeAscii(fields.payload, start, end)
    : undefined;
}

/** A sequence number field, or undefined. */
function sequenceField(fields: Fields): number | undefined {
  if (fields.done) return undefined;
  const [start, end] = fields.next();
  return parseSequence(fields.payload, start, end);
}

/**
 * Parses one reply payload. Pure and total: any bytes give a reply or an {@link InvalidReply},
 * never an exception. `data` fields are views into `payload`.
 *
 * @example
 * ```ts
 * import { parseReply } from "./reply.ts";
 * const reply = parseReply(new TextEncoder().encode("GAP news 5 9"));
 * if (reply.kind === "gap") console.error(`lost ${reply.channel} [${reply.from}, ${reply.to})`);
 * ```
 */
export function parseReply(payload: Uint8Array): ParsedReply {
  const fields = new Fields(payload);
  const [verbStart, verbEnd] = fields.next();
  const is = (text: string) => asciiEquals(payload, verbStart, verbEnd, text);
  if (is("MSG")) {
    const channel = channelField(fields);
    if (channel === undefined) return invalid("MSG without a valid channel");
    const seq = sequenceField(fields);
    if (seq === undefined) return invalid("MSG without a valid sequence number");
    if (fields.done) return invalid("MSG without the space before its data");
    return { kind: "msg", channel, seq, data: payload.subarray(fields.position) };
  }
  if (is("OK")) {
    if (fields.done) return invalid("OK without what it confirms");
    const [start, end] = fields.next();
    const what = (text: string) => asciiEquals(payload, start, end, text);
    if (what("HELLO")) return fields.done ? { kind: "ok-hello" } : invalid("OK HELLO with more");
    if (what("AUTH")) {
      if (fields.done) return invalid("OK AUTH without an identity");
      return { kind: "ok-auth", identity: textDecoder.decode(payload.subarray(fields.position)) };
    }
    if (!what("SUB") && !what("UNSUB") && !what("PUB")) return invalid("unknown OK");
    const channel = channelField(fields);
    if (channel === undefined) return invalid("OK without a valid channel");
    if (what("UNSUB")) {
      return fields.done ? { kind: "ok-unsub", channel } : invalid("OK UNSUB with more");
    }
    const seq = sequenceField(fields);
    if (seq === undefined || !fields.done) return invalid("OK without a valid sequence number");
    return what("SUB") ? { kind: "ok-sub", channel, next: seq } : { kind: "ok-pub", channel, seq };
  }
  if (is("PONG")) {
    return fields.done
      ? { kind: "pong" }
      : { kind: "pong", data: payload.subarray(fields.position) };
  }
  if (is("GAP")) {
    const channel = channelField(fields);
    if (channel === undefined) return invalid("GAP without a valid channel");
    const from = sequenceField(fields);
    const to = sequenceField(fields);
    if (from === undefined || to === undefined || !fields.done) {
      return invalid("GAP without two valid sequence numbers");
    }
    if (from >= to) return invalid("GAP whose <from> is not below its <to>");
    return { kind: "gap", channel, from, to };
  }
  if (is("ERR")) {
    if (fields.done) return invalid("ERR without a code");
    const [start, end] = fields.next();
    const code = end - start <= MAX_CODE_LENGTH ? decodeAscii(payload, start, end) : "";
    if (!CODE_PATTERN.test(code)) return invalid("ERR with an invalid code");
    if (fields.done) return invalid("ERR without the space before its text");
    return { kind: "err", code, text: textDecoder.decode(payload.subarray(fields.position)) };
  }
  return invalid("unknown reply");
}
