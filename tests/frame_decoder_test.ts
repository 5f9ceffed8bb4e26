import { assert, assertEquals, assertInstanceOf, assertThrows } from "./assert.ts";
import {
  concatBytes,
  encodeFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  FrameTooLargeError,
  type Framing,
  InvalidUtf8Error,
  NegativeLengthError,
  TruncatedFrameError,
} from "../protocol/mod.ts";

const text = new TextDecoder();
const MESSAGES = ["hello", "", "héllo wörld ✓ 🚀", "x".repeat(300), "", "end"];

function wireOf(messages: string[], framing: Framing = "le32"): Uint8Array {
  return concatBytes(messages.map((message) => encodeFrame(message, framing)));
}

/** Feeds `chunks` to a fresh decoder; returns every payload as text and the echoed wire bytes. */
function decodeChunks(chunks: Uint8Array[], options: FrameDecoderOptions = {}) {
  const decoder = new FrameDecoder(options);
  const messages: string[] = [];
  const wire: number[] = [];
  for (const chunk of chunks) {
    const batch = decoder.push(chunk);
    for (const payload of batch.payloads) messages.push(text.decode(payload));
    wire.push(...batch.wire);
    if (batch.error) throw batch.error;
  }
  decoder.finish();
  return { messages, wire: new Uint8Array(wire) };
}

for (const framing of ["le32", "be32", "line"] as const) {
  Deno.test(`${framing}: a stream split at every byte position yields the same frames`, () => {
    const stream = wireOf(MESSAGES, framing);
    for (let split = 0; split <= stream.length; split++) {
      const { messages, wire } = decodeChunks(
        [stream.subarray(0, split), stream.subarray(split)],
        { framing, initialBufferSize: 64 },
      );
      assertEquals(messages, MESSAGES, `split at ${split}`);
      assertEquals(wire, stream, `wire bytes echoed unchanged, split at ${split}`);
    }
  });

  Deno.test(`${framing}: one byte at a time`, () => {
    const stream = wireOf(MESSAGES, framing);
    const chunks = Array.from(stream, (byte) => new Uint8Array([byte]));
    assertEquals(decodeChunks(chunks, { framing }).messages, MESSAGES);
  });
}

Deno.test("every pair of split points over a short stream", () => {
  const messages = ["ab", "", "ü"];
  const stream = wireOf(messages);
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)];
      assertEquals(decodeChunks(chunks).messages, messages, `splits ${a},${b}`);
    }
  }
});

Deno.test("many frames in one chunk come out as one batch with contiguous wire bytes", () => {
  const messages = Array.from({ length: 1000 }, (_, i) => `message ${i}`);
  const stream = wireOf(messages);
  const batch = new FrameDecoder({ initialBufferSize: 1 << 16 }).push(stream);
  assertEquals(batch.payloads.length, 1000);
  assertEquals(batch.payloads.map((p) => text.decode(p)), messages);
  assertEquals(batch.wire, stream);
});

Deno.test("empty messages are valid frames", () => {
  assertEquals(decodeChunks([wireOf(["", "", ""])]).messages, ["", "", ""]);
  assertEquals(encodeFrame(""), new Uint8Array([0, 0, 0, 0]));
});

Deno.test("the length is signed 32-bit little-endian and counts bytes, not characters", () => {
  const frame = encodeFrame("é");
  assertEquals(frame, new Uint8Array([2, 0, 0, 0, 0xc3, 0xa9]));
  assertEquals(encodeFrame("é", "be32"), new Uint8Array([0, 0, 0, 2, 0xc3, 0xa9]));
  assertEquals(encodeFrame("é", "line"), new Uint8Array([0xc3, 0xa9, 0x0a]));
});

Deno.test("a frame of exactly --max-frame bytes is accepted, one more is refused", () => {
  const max = 1000;
  const exact = "a".repeat(max);
  assertEquals(decodeChunks([wireOf([exact])], { maxFrame: max }).messages, [exact]);
  const error = assertThrows(() =>
    decodeChunks([wireOf(["a".repeat(max + 1)])], { maxFrame: max })
  );
  assertInstanceOf(error, FrameTooLargeError);
  assertEquals(error.length, max + 1);
});

Deno.test("an oversize frame is refused from its header alone, without allocating for it", () => {
  const decoder = new FrameDecoder({ maxFrame: 1 << 20 });
  const header = new Uint8Array(4);
  new DataView(header.buffer).setInt32(0, 0x7fff_ffff, true);
  const batch = decoder.push(header);
  assertInstanceOf(batch.error, FrameTooLargeError);
  assert(decoder.capacity <= 4096, `capacity stayed small: ${decoder.capacity}`);
  assertThrows(() => decoder.push(new Uint8Array(1)), FrameTooLargeError);
});

Deno.test("a negative length is a protocol error", () => {
  const header = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  assertThrows(() => decodeChunks([header]), NegativeLengthError, "-1");
  const minimum = new Uint8Array([0, 0, 0, 0x80]);
  assertThrows(() => decodeChunks([minimum]), NegativeLengthError, "-2147483648");
});

Deno.test("the frames before a bad one are still delivered", () => {
  const good = wireOf(["one", "two"]);
  const bad = new Uint8Array([...good, 0xff, 0xff, 0xff, 0xff]);
  const batch = new FrameDecoder().push(bad);
  assertEquals(batch.payloads.map((p) => text.decode(p)), ["one", "two"]);
  assertEquals(batch.wire, good);
  assertInstanceOf(batch.error, NegativeLengthError);
});

Deno.test("a stream that ends mid-frame is a TruncatedFrameError, a clean end is not", () => {
  const stream = wireOf(["complete", "cut short"]);
  for (let cut = stream.length - 1; cut > 12; cut--) {
    const decoder = new FrameDecoder();
    decoder.push(stream.subarray(0, cut));
    const error = assertThrows(() => decoder.finish(), TruncatedFrameError);
    assertEquals(error.received, cut - 12);
  }
  const decoder = new FrameDecoder();
  decoder.push(stream);
  decoder.finish();
  const headerOnly = new FrameDecoder();
  headerOnly.push(new Uint8Array([5, 0]));
  assertThrows(() => headerOnly.finish(), TruncatedFrameError);
});

Deno.test("invalid UTF-8 is a protocol error, never replaced", () => {
  const invalid = [
    [0xc3], // lone lead byte
    [0xff], // never valid
    [0x80], // lone continuation
    [0xc0, 0xaf], // overlong "/"
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [...new TextEncoder().encode("x".repeat(200)), 0xfe], // past the ASCII fast path
  ];
  for (const bytes of invalid) {
    const frame = new Uint8Array(4 + bytes.length);
    frame[0] = bytes.length;
    frame.set(bytes, 4);
    assertThrows(() => decodeChunks([frame]), InvalidUtf8Error, undefined, `${bytes}`);
  }
});

Deno.test("a multi-byte character split across chunks is reassembled", () => {
  const message = "€𝄞";
  const stream = wireOf([message]);
  for (let split = 5; split < stream.length; split++) {
    const chunks = [stream.subarray(0, split), stream.subarray(split)];
    assertEquals(decodeChunks(chunks).messages, [message]);
  }
});

Deno.test("a large frame gets a buffer of exactly its size, and a quiet connection gives it back", () => {
  const decoder = new FrameDecoder({ initialBufferSize: 4096 });
  const big = "b".repeat(1 << 20);
  const stream = wireOf([big]);
  let offset = 0;
  let received = 0;
  while (offset < stream.length) {
    const target = decoder.readTarget();
    const count = Math.min(target.length, 65536, stream.length - offset);
    target.set(stream.subarray(offset, offset + count));
    offset += count;
    const batch = decoder.commit(count);
    received += batch.payloads.length;
    if (batch.payloads.length) assertEquals(batch.payloads[0].length, 1 << 20);
  }
  assertEquals(received, 1);
  assertEquals(decoder.capacity, (1 << 20) + 4);
  decoder.push(encodeFrame("small")); // a read far smaller than the buffer: traffic went quiet
  decoder.readTarget();
  assertEquals(decoder.capacity, 4096);
});

Deno.test("line framing: CRLF is accepted, an overlong line is refused", () => {
  const crlf = new TextEncoder().encode("one\r\ntwo\n\n");
  assertEquals(decodeChunks([crlf], { framing: "line" }).messages, ["one", "two", ""]);
  const long = new TextEncoder().encode("z".repeat(50));
  assertThrows(
    () => decodeChunks([long], { framing: "line", maxFrame: 10 }),
    FrameTooLargeError,
  );
  assertThrows(() => encodeFrame("a\nb", "line"), Error, "newline");
});

Deno.test("takeWire copies a small batch and hands over a buffer filled by a large frame", () => {
  const decoder = new FrameDecoder({ initialBufferSize: 150_000, maxReadBufferSize: 150_000 });
  decoder.push(encodeFrame("small"));
  const small = decoder.takeWire();
  assertEquals(small, encodeFrame("small"));
  // A large frame and the start of the next one arrive in one read.
  const big = encodeFrame("B".repeat(100_000));
  const next = encodeFrame("next");
  const target = decoder.readTarget();
  target.set(big);
  target.set(next.subarray(0, 6), big.length);
  assertEquals(decoder.commit(big.length + 6).payloads.length, 1);
  const kept = decoder.takeWire();
  assert(kept.length === big.length && kept.every((byte, i) => byte === big[i]));
  // The decoder must not write into the buffer it handed over, and keeps the partial frame.
  const rest = decoder.push(next.subarray(6));
  assertEquals(rest.payloads.map((p) => text.decode(p)), ["next"]);
  assert(kept.every((byte, i) => byte === big[i]), "the kept bytes are untouched");
  assertEquals(small, encodeFrame("small"));
});

Deno.test("line framing: a long line handed over by takeWire keeps the long line after it", () => {
  const first = "a".repeat(300_000);
  const second = "b".repeat(150_000);
  const bytesOf = (value: string) => new TextEncoder().encode(value);
  const direct = new FrameDecoder({ framing: "line", initialBufferSize: 4096 });
  direct.push(bytesOf(first));
  const target = direct.readTarget();
  const rest = bytesOf("\n" + second.slice(0, 100_000));
  target.set(rest);
  assertEquals(direct.commit(rest.length).payloads.length, 1);
  assert(target.length >= rest.length);
  // Hands over the big buffer while 100 KB of the next line are pending.
  assertEquals(direct.takeWire().length, first.length + 1);
  const end = direct.push(bytesOf(second.slice(100_000) + "\n"));
  assertEquals(end.payloads.map((p) => p.length), [second.length]);
});

Deno.test("line framing: a 4 MiB line arriving 4 KiB at a time, then the next line", () => {
  const decoder = new FrameDecoder({ framing: "line", maxFrame: 4 << 20 });
  const chunk = new Uint8Array(4096).fill(0x61);
  for (let i = 0; i < 1024; i++) assertEquals(decoder.push(chunk).payloads.length, 0);
  const lines = decoder.push(new TextEncoder().encode("\nnext\n"));
  assertEquals(lines.payloads.map((p) => p.length), [4 << 20, 4]);
});
