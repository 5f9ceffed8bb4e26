/**
 * Property-based fuzzing of the frame decoder and the reader with fast-check.
 *
 * Random frame sequences (empty, ASCII, multi-byte UTF-8, frames that outgrow the read buffer)
 * in all three framings, delivered in random read sizes, must decode to exactly the frames sent
 * with the wire bytes echoed unchanged. Random corruptions (oversize and negative headers,
 * invalid UTF-8, truncation, random byte overwrites) must fail with the right named error after
 * exactly the good frames before them, or decode correctly, as a small whole-buffer reference
 * decoder says. Nothing may hang (every feeding loop is bounded and must make progress) and the
 * read buffer may never grow past what the limits allow.
 *
 * The normal suite runs 500 cases per property (under a second in all); `deno task fuzz` runs
 * 100,000 (about a minute and a half, 15 s of it for v2). `TLSPUSH_FUZZ_RUNS=N` sets the count
 * for either, and `TLSPUSH_FUZZ_SEED=S` replays the seed of a failure fast-check reported, e.g.
 * `TLSPUSH_FUZZ_RUNS=1000000 deno task fuzz`.
 *
 * Protocol v2 has its own properties at the end: the command and reply parsers never throw on
 * any bytes, what they accept re-encodes to the same command or the very same bytes, every valid
 * command and reply round-trips, and the channel history agrees with a naive model of its limits
 * (retained messages, GAP exactly when something at or above the replay point was dropped).
 *
 * @module
 */
import fc from "fast-check";
import { assert, assertEquals } from "./assert.ts";
import {
  concatBytes,
  encodeFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  FrameTooLargeError,
  type Framing,
  HEADER_BYTES,
  InvalidUtf8Error,
  NegativeLengthError,
  ProtocolError,
  readFrames,
  TruncatedFrameError,
} from "../protocol/mod.ts";
import { ChannelHistory, ENTRY_OVERHEAD_BYTES } from "../hub/channel_history.ts";
import { isValidChannel } from "../protocol/channel.ts";
import { type ClientCommand, encodeCommand, parseCommand } from "../protocol/command.ts";
import { encodeReply, parseReply, type ServerReply } from "../protocol/reply.ts";
import { MAX_SEQUENCE } from "../protocol/sequence_number.ts";

// ---------------------------------------------------------------------------------------------
// Settings

function envNumber(name: string): number | undefined {
  try {
    const value = Deno.env.get(name);
    return value === undefined || value === "" ? undefined : Number(value);
  } catch {
    return undefined; // no --allow-env: the defaults
  }
}

/** Cases per property: small in the normal suite, large with `deno task fuzz` (`-- --long`). */
const RUNS = envNumber("TLSPUSH_FUZZ_RUNS") ?? (Deno.args.includes("--long") ? 100_000 : 500);
const SEED = envNumber("TLSPUSH_FUZZ_SEED");
const PARAMETERS: fc.Parameters<unknown> = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  // A property that hangs fails instead of blocking the suite (the loops are bounded anyway).
  interruptAfterTimeLimit: Math.max(60_000, RUNS * 50),
  markInterruptAsFailure: true,
};

const FRAMINGS: readonly Framing[] = ["le32", "be32", "line"];
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// Feeding a decoder the way a connection does, and a reference decoder to compare with

/** What decoding a whole stream gave. */
interface Outcome {
  payloads: Uint8Array[];
  /** The echoed wire bytes, joined. */
  wire: Uint8Array;
  /** Name of the protocol error, or undefined for a clean end. */
  error?: string;
  /** Largest read buffer the decoder ever held. */
  maxCapacity: number;
}

/**
 * Feeds `stream` through `readTarget()`/`commit()` as a connection does, each read taking at
 * most the next of `readSizes` (cycled), then `finish()`. Throws if a read target is empty or
 * the loop runs longer than one read per byte: that would be a hang.
 */
function feed(decoder: FrameDecoder, stream: Uint8Array, readSizes: number[]): Outcome {
  const payloads: Uint8Array[] = [];
  const wire: Uint8Array[] = [];
  let maxCapacity = decoder.capacity;
  let offset = 0;
  let reads = 0;
  const outcome = (error?: string): Outcome => ({
    payloads,
    wire: concatBytes([new Uint8Array(0), ...wire]),
    error,
    maxCapacity,
  });
  while (offset < stream.length) {
    if (++reads > stream.length + 1) throw new Error("decoder made no progress: a hang");
    const target = decoder.readTarget();
    maxCapacity = Math.max(maxCapacity, decoder.capacity);
    if (target.length === 0) throw new Error("empty read target: a connection would spin");
    const count = Math.min(
      target.length,
      stream.length - offset,
      readSizes[reads % readSizes.length],
    );
    target.set(stream.subarray(offset, offset + count));
    offset += count;
    const batch = decoder.commit(count);
    maxCapacity = Math.max(maxCapacity, decoder.capacity);
    for (const payload of batch.payloads) payloads.push(payload.slice());
    wire.push(batch.wire.slice());
    if (batch.error) return outcome(batch.error.name);
  }
  try {
    decoder.finish();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return outcome(error.name);
  }
  return outcome();
}

/** The obvious whole-buffer decoder: what the incremental one must agree with. */
function reference(stream: Uint8Array, framing: Framing, maxFrame: number): Omit<
  Outcome,
  "maxCapacity"
> {
  const payloads: Uint8Array[] = [];
  let position = 0;
  const done = (error?: string) => ({ payloads, wire: stream.slice(0, position), error });
  const valid = (bytes: Uint8Array) => {
    try {
      strictUtf8.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  while (position < stream.length) {
    let payload: Uint8Array;
    let next: number;
    if (framing === "line") {
      const newline = stream.indexOf(0x0a, position);
      if (newline === -1) {
        return done(
          stream.length - position > maxFrame + 1 ? "FrameTooLargeError" : "TruncatedFrameError",
        );
      }
      const end = newline > position && stream[newline - 1] === 0x0d ? newline - 1 : newline;
      payload = stream.subarray(position, end);
      if (payload.length > maxFrame) return done("FrameTooLargeError");
      next = newline + 1;
    } else {
      if (stream.length - position < HEADER_BYTES) return done("TruncatedFrameError");
      const view = new DataView(stream.buffer, stream.byteOffset, stream.length);
      const length = view.getInt32(position, framing === "le32");
      if (length < 0) return done("NegativeLengthError");
      if (length > maxFrame) return done("FrameTooLargeError");
      next = position + HEADER_BYTES + length;
      if (next > stream.length) return done("TruncatedFrameError");
      payload = stream.subarray(position + HEADER_BYTES, next);
    }
    if (!valid(payload)) return done("InvalidUtf8Error");
    payloads.push(payload.slice());
    position = next;
  }
  return done();
}

/** The most a decoder with these options may hold: its read buffer, or one largest frame. */
function capacityBound(options: FrameDecoderOptions, framing: Framing): number {
  const initial = Math.max(64, options.initialBufferSize ?? 4096);
  const maxRead = Math.max(initial, options.maxReadBufferSize ?? 256 * 1024);
  // A binary frame needs its header; a line its "\r\n".
  const overhead = framing === "line" ? 2 : HEADER_BYTES;
  return Math.max(maxRead, options.maxFrame! + overhead);
}

// ---------------------------------------------------------------------------------------------
// Generators

/** One message: empty, short text of any script, or a long run that outgrows the buffers. */
const messageArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant(""), weight: 1 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 60 }), weight: 2 },
  {
    arbitrary: fc.tuple(fc.constantFrom("x", "é", "€", "🚀", "日本"), fc.nat({ max: 3000 }))
      .map(([unit, count]) => unit.repeat(count)),
    weight: 1,
  },
);

/** Read sizes: tiny (byte-at-a-time splits), medium, or larger than any buffer. */
const readSizesArb: fc.Arbitrary<number[]> = fc.array(
  fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 512 }), fc.constant(1 << 20)),
  { minLength: 1, maxLength: 20 },
);

/** Small buffers so that growth, compaction and shrinking all happen on small inputs. */
const bufferOptionsArb = fc.record({
  initialBufferSize: fc.constantFrom(64, 100, 256, 4096),
  maxReadBufferSize: fc.constantFrom(64, 512, 8192, 256 * 1024),
});

/** A message expressible in `framing` (a line frame holds no newline and no final "\r"). */
function framable(message: string, framing: Framing): string {
  return framing === "line" ? message.replace(/[\r\n]/g, " ") : message;
}

function encodeAll(messages: string[], framing: Framing): Uint8Array {
  return concatBytes([new Uint8Array(0), ...messages.map((m) => encodeFrame(m, framing))]);
}

/** A header of `length` in `framing` (le32 or be32). */
function headerOf(length: number, framing: Framing): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  new DataView(bytes.buffer).setInt32(0, length, framing === "le32");
  return bytes;
}

/** Byte sequences no UTF-8 decoder may accept. */
const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe],
  [0x80], // lone continuation byte
  [0xc3, 0x28], // lead byte without its continuation
  [0xc0, 0x80], // overlong NUL
  [0xe0, 0x80, 0xaf], // overlong "/"
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xe2, 0x82], // truncated "€"
];

/** A corruption that must end decoding with a known error, after the good frames before it. */
type Corruption =
  | { kind: "oversize"; excess: number; tail: boolean }
  | { kind: "negative"; length: number }
  | { kind: "invalid-utf8"; before: string; bad: number[]; after: string }
  | { kind: "truncated"; message: string; keep: number };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({
    kind: fc.constant("oversize" as const),
    excess: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
    tail: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("negative" as const),
    length: fc.integer({ min: -(2 ** 31), max: -1 }),
  }),
  fc.record({
    kind: fc.constant("invalid-utf8" as const),
    before: fc.string({ unit: "grapheme", maxLength: 10 }),
    bad: fc.constantFrom(...INVALID_UTF8),
    after: fc.string({ unit: "grapheme", maxLength: 10 }),
  }),
  fc.record({
    kind: fc.constant("truncated" as const),
    message: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
    keep: fc.nat(),
  }),
);

/** The corrupt bytes and the error they must cause (null: the framing cannot express it). */
function corrupt(
  corruption: Corruption,
  framing: Framing,
  maxFrame: number,
): { bytes: Uint8Array; error: string } | null {
  const line = framing === "line";
  switch (corruption.kind) {
    case "oversize": {
      if (line) {
        // A line longer than the limit, with or without its newline (without one, it must be
        // longer than the limit plus a "\r" before it is surely too long).
        const excess = Math.max(2, Math.min(corruption.excess, 5000));
        const body = new Uint8Array(maxFrame + excess).fill(0x61);
        return {
          bytes: corruption.tail ? concatBytes([body, new Uint8Array([0x0a])]) : body,
          error: "FrameTooLargeError",
        };
      }
      // Only the header: the decoder must refuse from it alone, without waiting for a payload.
      const length = Math.min(maxFrame + corruption.excess, 2 ** 31 - 1);
      return { bytes: headerOf(length, framing), error: "FrameTooLargeError" };
    }
    case "negative":
      return line
        ? null
        : { bytes: headerOf(corruption.length, framing), error: "NegativeLengthError" };
    case "invalid-utf8": {
      const payload = concatBytes([
        encoder.encode(framable(corruption.before, framing)),
        new Uint8Array(corruption.bad),
        encoder.encode(framable(corruption.after, framing)),
      ]);
      if (payload.length > maxFrame) return null;
      const bytes = line
        ? concatBytes([payload, new Uint8Array([0x0a])])
        : concatBytes([headerOf(payload.length, framing), payload]);
      return { bytes, error: "InvalidUtf8Error" };
    }
    case "truncated": {
      const frame = encodeFrame(framable(corruption.message, framing), framing);
      if (frame.length - (line ? 1 : HEADER_BYTES) > maxFrame) return null;
      // Cut strictly inside the frame (for a line: anywhere before its newline).
      const keep = 1 + (corruption.keep % (frame.length - 1));
      return { bytes: frame.subarray(0, keep), error: "TruncatedFrameError" };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Properties

Deno.test("fuzz: random frames cut at random read boundaries decode exactly, wire echoed unchanged", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FRAMINGS),
      fc.array(messageArb, { maxLength: 40 }),
      readSizesArb,
      bufferOptionsArb,
      (framing, rawMessages, readSizes, buffers) => {
        const messages = rawMessages.map((message) => framable(message, framing));
        const stream = encodeAll(messages, framing);
        const maxFrame = 1 << 20;
        const decoder = new FrameDecoder({ framing, maxFrame, ...buffers });
        const outcome = feed(decoder, stream, readSizes);
        assertEquals(outcome.error, undefined);
        assertEquals(outcome.payloads, messages.map((message) => encoder.encode(message)));
        assertEquals(outcome.wire, stream);
        assertEquals(decoder.buffered, 0);
      },
    ),
    PARAMETERS,
  );
});

Deno.test("fuzz: each kind of corruption fails with its named error after exactly the good frames", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FRAMINGS),
      fc.array(messageArb, { maxLength: 10 }),
      corruptionArb,
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
      readSizesArb,
      bufferOptionsArb,
      fc.integer({ min: 16, max: 20_000 }),
      (framing, rawGood, corruption, rawAfter, readSizes, buffers, maxFrame) => {
        const good = rawGood.map((m) => framable(m, framing)).filter((m) =>
          encoder.encode(m).length <= maxFrame
        );
        const bad = corrupt(corruption, framing, maxFrame);
        fc.pre(bad !== null);
        // Valid frames after the corruption must never come out (a truncation ends the stream).
        const after = corruption.kind === "truncated"
          ? new Uint8Array(0)
          : encodeAll(rawAfter.map((m) => framable(m, framing)), framing);
        const goodBytes = encodeAll(good, framing);
        const stream = concatBytes([goodBytes, bad!.bytes, after]);
        const options = { framing, maxFrame, ...buffers };
        const outcome = feed(new FrameDecoder(options), stream, readSizes);
        assertEquals(outcome.error, bad!.error, `${corruption.kind} in ${framing}`);
        assertEquals(outcome.payloads, good.map((m) => encoder.encode(m)));
        assertEquals(outcome.wire, goodBytes, "the wire bytes of exactly the good frames");
      },
    ),
    PARAMETERS,
  );
});

Deno.test("fuzz: randomly damaged streams decode as the reference decoder says, never hang", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FRAMINGS),
      fc.array(messageArb, { maxLength: 12 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat(),
      readSizesArb,
      bufferOptionsArb,
      fc.integer({ min: 0, max: 5000 }),
      (framing, rawMessages, damage, cut, readSizes, buffers, maxFrame) => {
        const clean = encodeAll(rawMessages.map((m) => framable(m, framing)), framing);
        const stream = clean.slice(0, clean.length === 0 ? 0 : cut % (clean.length + 1));
        for (const [at, byte] of damage) if (stream.length > 0) stream[at % stream.length] = byte;
        const options = { framing, maxFrame, ...buffers };
        const outcome = feed(new FrameDecoder(options), stream, readSizes);
        const expected = reference(stream, framing, maxFrame);
        assertEquals(outcome.error, expected.error);
        assertEquals(outcome.payloads, expected.payloads);
        assertEquals(outcome.wire, expected.wire);
      },
    ),
    PARAMETERS,
  );
});

Deno.test("fuzz: readFrames over a connection with random short reads yields the same as the reference", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...FRAMINGS),
      fc.array(messageArb, { maxLength: 12 }),
      fc.option(corruptionArb, { nil: undefined }),
      readSizesArb,
      fc.integer({ min: 16, max: 5000 }),
      async (framing, rawMessages, corruption, readSizes, maxFrame) => {
        const good = rawMessages.map((m) => framable(m, framing));
        const bad = corruption && corrupt(corruption, framing, maxFrame);
        const stream = concatBytes([encodeAll(good, framing), bad ? bad.bytes : new Uint8Array(0)]);
        const expected = reference(stream, framing, maxFrame);
        let offset = 0;
        let reads = 0;
        const source = {
          read(buffer: Uint8Array): Promise<number | null> {
            if (++reads > stream.length + 2) throw new Error("reader made no progress: a hang");
            if (offset === stream.length) return Promise.resolve(null);
            const count = Math.min(
              buffer.length,
              stream.length - offset,
              readSizes[reads % readSizes.length],
            );
            buffer.set(stream.subarray(offset, offset + count));
            offset += count;
            return Promise.resolve(count);
          },
        };
        const payloads: Uint8Array[] = [];
        let error: string | undefined;
        try {
          for await (const payload of readFrames(source, { framing, maxFrame })) {
            payloads.push(payload);
          }
        } catch (thrown) {
          assert(thrown instanceof ProtocolError, `a named protocol error, got ${thrown}`);
          error = thrown.name;
        }
        assertEquals(error, expected.error);
        assertEquals(payloads, expected.payloads);
      },
    ),
    PARAMETERS,
  );
});

Deno.test("fuzz: the read buffer never grows past the read-buffer cap or one largest frame", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...FRAMINGS),
      fc.array(messageArb, { maxLength: 10 }),
      fc.option(corruptionArb, { nil: undefined }),
      readSizesArb,
      bufferOptionsArb,
      fc.integer({ min: 16, max: 20_000 }),
      (framing, rawMessages, corruption, readSizes, buffers, maxFrame) => {
        const good = rawMessages.map((m) => framable(m, framing)).filter((m) =>
          encoder.encode(m).length <= maxFrame
        );
        const bad = corruption && corrupt(corruption, framing, maxFrame);
        const stream = concatBytes([encodeAll(good, framing), bad ? bad.bytes : new Uint8Array(0)]);
        const options = { framing, maxFrame, ...buffers };
        const outcome = feed(new FrameDecoder(options), stream, readSizes);
        const bound = capacityBound(options, framing);
        assert(
          outcome.maxCapacity <= bound,
          `${framing}: read buffer reached ${outcome.maxCapacity} bytes, bound ${bound}`,
        );
      },
    ),
    PARAMETERS,
  );
});

Deno.test("after a refused header the decoder never allocates what it claimed", () => {
  for (const framing of ["le32", "be32"] as const) {
    for (const length of [2 ** 30, 2 ** 31 - 1]) {
      const decoder = new FrameDecoder({ framing, maxFrame: 1000 });
      const batch = decoder.push(headerOf(length, framing));
      assert(batch.error instanceof FrameTooLargeError);
      let thrown: unknown;
      try {
        decoder.push(new Uint8Array([1, 2, 3]));
      } catch (error) {
        thrown = error;
      }
      assert(thrown instanceof FrameTooLargeError, "the decoder keeps refusing");
      assert(
        decoder.capacity <= capacityBound({ maxFrame: 1000 }, framing),
        `${framing}: ${decoder.capacity} bytes allocated for a refused ${length}-byte header`,
      );
    }
  }
});

Deno.test("the named errors carry what the log needs", () => {
  const decoder = new FrameDecoder({ maxFrame: 10 });
  const tooLarge = decoder.push(headerOf(11, "le32")).error;
  assert(tooLarge instanceof FrameTooLargeError);
  assertEquals([tooLarge.length, tooLarge.maxFrame], [11, 10]);
  const negative = new FrameDecoder({ framing: "be32" }).push(headerOf(-7, "be32")).error;
  assert(negative instanceof NegativeLengthError);
  assertEquals(negative.length, -7);
  const utf8 = new FrameDecoder().push(concatBytes([headerOf(1, "le32"), new Uint8Array([0xff])]));
  assert(utf8.error instanceof InvalidUtf8Error);
  const truncated = new FrameDecoder();
  truncated.push(headerOf(5, "le32"));
  try {
    truncated.finish();
    assert(false, "finish must throw");
  } catch (error) {
    assert(error instanceof TruncatedFrameError);
    assertEquals(error.received, HEADER_BYTES);
  }
});

// ---------------------------------------------------------------------------------------------
// Protocol v2: commands, replies, history

/** The v2 parser properties are cheap (microseconds a case): they run four times as many. */
const V2_PARAMETERS: fc.Parameters<unknown> = { ...PARAMETERS, numRuns: RUNS * 4 };

const CHANNEL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:/".split(
  "",
);

/** Valid channel names, short ones most often, up to the 128-byte limit. */
const channelArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("news", "broadcast", "a", "metrics.cpu", "t/7:x_y-z"), weight: 2 },
  {
    arbitrary: fc.string({ unit: fc.constantFrom(...CHANNEL_CHARS), minLength: 1, maxLength: 12 }),
    weight: 3,
  },
  {
    arbitrary: fc.string({ unit: fc.constantFrom(...CHANNEL_CHARS), minLength: 1, maxLength: 128 }),
    weight: 1,
  },
);

/** Sequence numbers: small, clock-like, and at the 2^53 - 1 edge. */
const seqArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 9, 10, MAX_SEQUENCE, MAX_SEQUENCE - 1),
  fc.nat({ max: 1000 }),
  fc.integer({ min: 1_700_000_000_000_000, max: 2_000_000_000_000_000 }),
  fc.integer({ min: 0, max: MAX_SEQUENCE }),
);

/** Data: any text (spaces, newlines, any script) or any bytes, often empty. */
const dataArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(0)),
  fc.string({ unit: "grapheme", maxLength: 40 }).map((text) => encoder.encode(text)),
  fc.constantFrom(" ", "  ", "\n", " \r\n ", "MSG x 1 y").map((text) => encoder.encode(text)),
  fc.uint8Array({ maxLength: 40 }),
);

const tokenArb: fc.Arbitrary<string> = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 })
  .filter((token) => !token.includes(" "));

const commandArb: fc.Arbitrary<ClientCommand> = fc.oneof(
  fc.constant({ kind: "hello" as const }),
  channelArb.map((channel) => ({ kind: "sub" as const, channel })),
  fc.tuple(channelArb, seqArb).map(([channel, from]) => ({ kind: "sub" as const, channel, from })),
  channelArb.map((channel) => ({ kind: "unsub" as const, channel })),
  fc.tuple(channelArb, dataArb).map(([channel, data]) => ({ kind: "pub" as const, channel, data })),
  fc.constant({ kind: "ping" as const }),
  dataArb.map((data) => ({ kind: "ping" as const, data })),
  tokenArb.map((token) => ({ kind: "auth" as const, token })),
);

const replyArb: fc.Arbitrary<ServerReply> = fc.oneof(
  fc.tuple(channelArb, seqArb, dataArb).map(([channel, seq, data]) => ({
    kind: "msg" as const,
    channel,
    seq,
    data,
  })),
  fc.tuple(channelArb, seqArb).map(([channel, next]) => ({
    kind: "ok-sub" as const,
    channel,
    next,
  })),
  channelArb.map((channel) => ({ kind: "ok-unsub" as const, channel })),
  fc.tuple(channelArb, seqArb).map(([channel, seq]) => ({ kind: "ok-pub" as const, channel, seq })),
  fc.string({ unit: "grapheme", maxLength: 30 }).map((identity) => ({
    kind: "ok-auth" as const,
    identity,
  })),
  fc.constant({ kind: "ok-hello" as const }),
  fc.constant({ kind: "pong" as const }),
  dataArb.map((data) => ({ kind: "pong" as const, data })),
  fc.tuple(channelArb, seqArb, seqArb).filter(([, a, b]) => a !== b).map(([channel, a, b]) => ({
    kind: "gap" as const,
    channel,
    from: Math.min(a, b),
    to: Math.max(a, b),
  })),
  // Narrow ranges: one edited digit turns them empty or backwards.
  fc.tuple(channelArb, fc.nat({ max: 30 }), fc.integer({ min: 1, max: 3 })).map((
    [channel, from, width],
  ) => ({ kind: "gap" as const, channel, from, to: from + width })),
  fc.tuple(
    fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), minLength: 1 }),
    fc.string({ unit: "grapheme", maxLength: 40 }),
  ).map(([code, text]) => ({ kind: "err" as const, code, text })),
);

/** Text that looks like commands or replies: verbs, single and double spaces, near-miss fields. */
const commandLikeArb: fc.Arbitrary<Uint8Array> = fc.array(
  fc.oneof(
    fc.constantFrom(
      "HELLO",
      "SUB",
      "UNSUB",
      "PUB",
      "PING",
      "AUTH",
      "sub",
      "Sub",
      "MSG",
      "OK",
      "PONG",
      "GAP",
      "ERR",
      "tlspush/2",
      "bad-command",
    ),
    fc.constantFrom(" ", " ", " ", "  ", "\n", "\t", "", "*"),
    channelArb,
    seqArb.map(String),
    fc.constantFrom("0", "00", "007", "-1", "+1", "9007199254740992", "1e3", "é", "🚀"),
    fc.string({ unit: "grapheme", maxLength: 5 }),
  ),
  { maxLength: 8 },
).map((parts) => encoder.encode(parts.join("")));

/** Bytes a near miss is made of: separators, digits and signs, case, UTF-8 fragments. */
const NEAR_MISS_BYTES = [
  0x20,
  0x20,
  0x30,
  0x31,
  0x39,
  0x2b,
  0x2d,
  0x2a,
  0x61,
  0x41,
  0x0a,
  0x09,
  0xc3,
];

/** An edit at a byte position, or (`field`) at the start of a space-separated field. */
type Mutation = {
  kind: "truncate" | "delete" | "insert" | "replace";
  at: number;
  field: boolean;
  byte: number;
};

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("truncate", "delete", "insert", "replace"),
  at: fc.nat(),
  field: fc.boolean(),
  byte: fc.oneof(fc.constantFrom(...NEAR_MISS_BYTES), fc.integer({ min: 0, max: 255 })),
});

/** A valid command or reply, then one to three small edits: the payloads parsers get wrong. */
const nearMissArb: fc.Arbitrary<Uint8Array> = fc.tuple(
  fc.oneof(commandArb.map(encodeCommand), replyArb.map(encodeReply)),
  fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
).map(([valid, mutations]) => {
  let bytes = Array.from(valid);
  for (const { kind, at, field, byte } of mutations) {
    const fieldStarts = [0, ...bytes.flatMap((b, i) => b === 0x20 ? [i + 1] : [])];
    const i = field ? fieldStarts[at % fieldStarts.length] : at % (bytes.length + 1);
    if (kind === "truncate") bytes = bytes.slice(0, i);
    else if (kind === "insert") bytes.splice(i, 0, byte);
    else if (i < bytes.length) bytes.splice(i, 1, ...(kind === "replace" ? [byte] : []));
  }
  return new Uint8Array(bytes);
});

/** Arbitrary payloads for the parsers: raw bytes, any text, command-like text, near misses. */
const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 200 }), weight: 1 },
  {
    arbitrary: fc.string({ unit: "binary", maxLength: 100 }).map((text) => encoder.encode(text)),
    weight: 1,
  },
  { arbitrary: commandLikeArb, weight: 2 },
  { arbitrary: nearMissArb, weight: 4 },
);

Deno.test("fuzz v2: parseCommand never throws; what it accepts re-encodes to the same command", () => {
  fc.assert(
    fc.property(payloadArb, (payload) => {
      const parsed = parseCommand(payload);
      if (parsed.kind === "refused") {
        assert(parsed.code === "bad-command" || parsed.code === "bad-channel", parsed.code);
        assert(parsed.text.length > 0 && !/[\r\n]/.test(parsed.text), parsed.text);
        return;
      }
      if ("channel" in parsed) assert(isValidChannel(parsed.channel), parsed.channel);
      // The token of an AUTH is decoded text: only valid UTF-8 comes back byte for byte.
      if (parsed.kind === "auth" && !strictDecodable(payload)) return;
      assertEquals(parseCommand(encodeCommand(parsed)), parsed);
    }),
    V2_PARAMETERS,
  );
});

Deno.test("fuzz v2: every valid command round-trips through encodeCommand and parseCommand", () => {
  fc.assert(
    fc.property(commandArb, (command) => {
      assertEquals(parseCommand(encodeCommand(command)), command);
    }),
    V2_PARAMETERS,
  );
});

Deno.test("fuzz v2: parseReply never throws; what it accepts is exactly what encodeReply writes", () => {
  fc.assert(
    fc.property(payloadArb, (payload) => {
      const parsed = parseReply(payload);
      if (parsed.kind === "invalid") {
        assert(parsed.reason.length > 0);
        return;
      }
      // One spelling per reply: the parser accepts only the encoder's canonical form (texts of
      // OK AUTH and ERR are decoded, so that holds for valid UTF-8).
      if ((parsed.kind === "ok-auth" || parsed.kind === "err") && !strictDecodable(payload)) return;
      assertEquals(encodeReply(parsed), payload);
    }),
    V2_PARAMETERS,
  );
});

Deno.test("fuzz v2: every valid reply round-trips through encodeReply and parseReply", () => {
  fc.assert(
    fc.property(replyArb, (reply) => {
      const payload = encodeReply(reply);
      assertEquals(parseReply(payload), reply);
      // A reply is never mistaken for a command, nor a command for a reply.
      assertEquals(parseCommand(payload).kind, "refused");
    }),
    V2_PARAMETERS,
  );
});

function strictDecodable(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A message as the naive model of the history sees it. */
interface ModelMessage {
  channel: string;
  seq: number;
  time: number;
  cost: number;
  alive: boolean;
}

/** The history's limits applied the obvious way, over every message ever appended. */
class HistoryModel {
  readonly messages: ModelMessage[] = [];
  constructor(readonly limits: { maxMessages: number; maxAgeMs: number; maxBytes: number }) {}

  expire(now: number): void {
    if (this.limits.maxAgeMs === 0) return;
    for (const m of this.messages) {
      if (m.alive && now - m.time >= this.limits.maxAgeMs) m.alive = false;
    }
  }

  append(channel: string, seq: number, bytes: number, now: number): void {
    this.expire(now);
    const cost = bytes + ENTRY_OVERHEAD_BYTES;
    this.messages.push({ channel, seq, time: now, cost, alive: true });
    const mine = () => this.messages.filter((m) => m.alive && m.channel === channel);
    if (this.limits.maxMessages === 0 || cost > this.limits.maxBytes) {
      for (const m of mine()) m.alive = false;
      return;
    }
    if (mine().length > this.limits.maxMessages) mine()[0].alive = false;
    const total = () => this.messages.reduce((sum, m) => sum + (m.alive ? m.cost : 0), 0);
    while (total() > this.limits.maxBytes) this.messages.find((m) => m.alive)!.alive = false;
  }

  replay(channel: string, from: number, next: number, now: number) {
    this.expire(now);
    const mine = this.messages.filter((m) => m.channel === channel && m.seq >= from);
    const seqs = mine.filter((m) => m.alive).map((m) => m.seq);
    const dropped = mine.some((m) => !m.alive);
    return { gap: dropped ? { from, to: seqs[0] ?? next } : undefined, seqs };
  }

  get size(): number {
    return this.messages.filter((m) => m.alive).length;
  }
}

type HistoryOp =
  | { op: "append"; channel: number; step: number; bytes: number }
  | { op: "tick"; ms: number }
  | { op: "replay"; channel: number; pick: number; delta: number };

const historyOpArb: fc.Arbitrary<HistoryOp> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      channel: fc.nat({ max: 3 }),
      step: fc.integer({ min: 1, max: 1000 }),
      bytes: fc.nat({ max: 300 }),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.nat({ max: 40 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("replay" as const),
      channel: fc.nat({ max: 4 }),
      pick: fc.nat(),
      delta: fc.integer({ min: -1, max: 1 }),
    }),
    weight: 3,
  },
);

Deno.test("fuzz v2: the channel history agrees with a naive model; a small tombstone cap never hides a gap", () => {
  fc.assert(
    fc.property(
      fc.record({
        maxMessages: fc.nat({ max: 5 }),
        maxAgeMs: fc.constantFrom(0, 1, 25, 100),
        maxBytes: fc.constantFrom(Infinity, 2000, 600, 150),
      }),
      fc.nat({ max: 3 }),
      fc.array(historyOpArb, { maxLength: 60 }),
      (limits, maxTombstones, ops) => {
        let now = 1000;
        const clock = () => now;
        const model = new HistoryModel(limits);
        const exact = new ChannelHistory<number>({ ...limits, maxTombstones: 1000, now: clock });
        const capped = new ChannelHistory<number>({ ...limits, maxTombstones, now: clock });
        const last = [0, 0, 0, 0, 0];
        const seen: number[] = [];
        for (const op of ops) {
          if (op.op === "tick") {
            now += op.ms;
          } else if (op.op === "append") {
            const seq = last[op.channel] += op.step;
            seen.push(seq);
            model.append(`c${op.channel}`, seq, op.bytes, now);
            exact.append(`c${op.channel}`, seq, seq, op.bytes);
            capped.append(`c${op.channel}`, seq, seq, op.bytes);
          } else {
            const channel = `c${op.channel}`;
            const from = seen.length === 0
              ? 0
              : Math.max(0, seen[op.pick % seen.length] + op.delta);
            const next = last[op.channel] + 1;
            const expected = model.replay(channel, from, next, now);
            const got = exact.replayFrom(channel, from, next);
            assertEquals(got.gap, expected.gap, `gap of ${channel} from ${from}`);
            assertEquals(got.messages.map((m) => m.seq), expected.seqs);
            assert(got.messages.every((m) => m.value === m.seq));
            const conservative = capped.replayFrom(channel, from, next);
            assertEquals(conservative.messages.map((m) => m.seq), expected.seqs);
            if (expected.gap) {
              assertEquals(conservative.gap, expected.gap, "a capped store hid a gap");
            }
            if (conservative.gap) {
              assert(conservative.gap.from < conservative.gap.to);
              assertEquals(conservative.gap.to, expected.seqs[0] ?? next);
            }
          }
          assertEquals(exact.size, model.size);
          assertEquals(capped.size, model.size);
          assert(exact.bytes <= limits.maxBytes);
        }
      },
    ),
    PARAMETERS,
  );
});
