import { assertEquals, assertThrows } from "./assert.ts";
import { streamBase } from "../broker/stream_epoch.ts";

Deno.test("stream base: microseconds of JetStream's creation time, exactly", () => {
  assertEquals(streamBase("2024-01-01T00:00:00Z"), 1_704_067_200_000_000);
  assertEquals(streamBase("2024-01-01T00:00:00.5Z"), 1_704_067_200_500_000);
  assertEquals(streamBase("2026-12-02T07:51:44.144179917Z"), 1_796_197_904_144_179);
  assertEquals(streamBase("2026-12-02T08:51:44.144179917+01:00"), 1_796_197_904_144_179);
  assertEquals(Number.isSafeInteger(streamBase("2255-01-01T00:00:00Z") + 2 ** 40), true);
  assertThrows(() => streamBase("yesterday"), RangeError);
  assertThrows(() => streamBase("0001-01-01T00:00:00"), RangeError);
});
