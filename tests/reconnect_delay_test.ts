import { assert, assertEquals } from "./assert.ts";
import { reconnectDelay } from "../util/reconnect_delay.ts";

Deno.test("reconnect delay: exponential, fully jittered, capped", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    const step = Math.min(5000, 100 * 2 ** attempt);
    assertEquals(reconnectDelay(attempt, 100, 5000, () => 0), 0);
    const longest = reconnectDelay(attempt, 100, 5000, () => 0.999999);
    assert(longest < step && longest >= step * 0.99, `attempt ${attempt}: ${longest} vs ${step}`);
  }
  assertEquals(reconnectDelay(-3, 100, 5000, () => 0.5), 50);
  assertEquals(reconnectDelay(1000, 100, 5000, () => 0.5), 2500);
});
