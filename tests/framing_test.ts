import { assertEquals, assertThrows } from "./assert.ts";
import { encodeFrame, MAX_HEADER_LENGTH } from "../protocol/framing.ts";
import { UnframeableMessageError } from "../protocol/errors.ts";

Deno.test("encodeFrame writes a signed 32-bit length in the framing's byte order, then the bytes", () => {
  assertEquals([...encodeFrame("hé", "le32")], [3, 0, 0, 0, 0x68, 0xc3, 0xa9]);
  assertEquals([...encodeFrame("hé", "be32")], [0, 0, 0, 3, 0x68, 0xc3, 0xa9]);
  assertEquals([...encodeFrame("", "le32")], [0, 0, 0, 0], "an empty message is a valid frame");
  assertEquals([...encodeFrame(new Uint8Array([1, 2]))], [2, 0, 0, 0, 1, 2], "le32 by default");
  const big = encodeFrame(new Uint8Array(0x01020304 >> 8), "be32");
  assertEquals([...big.subarray(0, 4)], [0, 0x01, 0x02, 0x03]);
  assertEquals(MAX_HEADER_LENGTH, 2 ** 31 - 1);
});

Deno.test("line framing ends a message with a newline and cannot carry one inside", () => {
  assertEquals([...encodeFrame("ok", "line")], [0x6f, 0x6b, 0x0a]);
  assertEquals([...encodeFrame("", "line")], [0x0a]);
  assertThrows(() => encodeFrame("two\nlines", "line"), UnframeableMessageError);
});
