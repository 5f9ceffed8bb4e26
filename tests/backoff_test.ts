import { assert, assertEquals } from "./assert.ts";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay } from "../client/backoff.ts";

Deno.test("backoff grows exponentially, is fully jittered, and is capped", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    assertEquals(backoffDelay(attempt, () => 0), 0, "full jitter reaches zero");
    const longest = backoffDelay(attempt, () => 0.999999);
    assert(longest < step && longest >= step * 0.99, `attempt ${attempt}: ${longest} vs ${step}`);
  }
  assertEquals(backoffDelay(100, () => 0.5), BACKOFF_CAP_MS / 2);
});
