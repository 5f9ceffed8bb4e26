import { assertEquals, assertThrows } from "./assert.ts";
import { assertChannelName, isChannelName } from "../broker/channel_name.ts";
import { BrokerChannelError } from "../broker/broker_errors.ts";

Deno.test("channel names: 1 to 128 of A-Z a-z 0-9 _ - . : /", () => {
  for (const ok of ["a", "broadcast", "sensors/room-1:temp", "x".repeat(128), "a..b"]) {
    assertEquals(isChannelName(ok), true, ok);
  }
  for (const bad of ["", "a b", "x".repeat(129), "é", "a*", "a>"]) {
    assertEquals(isChannelName(bad), false, bad);
  }
  assertThrows(() => assertChannelName("a b"), BrokerChannelError, "invalid channel name");
});
