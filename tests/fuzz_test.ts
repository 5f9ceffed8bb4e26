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
 * 100,000 (about a minute). `TLSPUSH_FUZZ_RUNS=N` sets the count for either, and
 * `TLSPUSH_FUZZ_SEED=S` replays the seed of a failure fast-check reported, e.g.
 * `TLSPUSH_FUZZ_RUNS=1000000 deno task fuzz`.
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
