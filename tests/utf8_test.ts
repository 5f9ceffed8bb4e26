import { assertEquals } from "./assert.ts";
import { decodeUtf8, encodeUtf8, isAscii, isValidUtf8, utf8Length } from "../protocol/utf8.ts";

Deno.test("utf8Length counts what encoding would produce, for every width of character", () => {
  for (
    const text of [
      "",
      "plain",
      "é",
      "€",
      "🚀",
      "héllo wörld ✓ 日本語 🚀",
      "\u{10FFFF}x",
      "x".repeat(500),
    ]
  ) {
    assertEquals(utf8Length(text), encodeUtf8(text).length, text);
  }
});

Deno.test("isAscii, isValidUtf8 and decodeUtf8 agree on valid and invalid bytes", () => {
  assertEquals(isAscii(encodeUtf8("only ascii")), true);
  assertEquals(isAscii(encodeUtf8("é")), false);
  assertEquals(isValidUtf8(encodeUtf8("é 🚀")), true);
  assertEquals(isValidUtf8(new Uint8Array([0xc3])), false);
  assertEquals(decodeUtf8(encodeUtf8("é 🚀")), "é 🚀");
});
