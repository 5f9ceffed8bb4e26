/** The stop-signal rule as a unit, with an injected clock (`cli/stop_signals.ts`). */
import { assertEquals } from "./assert.ts";
import { REPEAT_WINDOW_MS, StopSignals } from "../cli/stop_signals.ts";

function clocked(windowMs?: number) {
  const clock = { now: 0 };
  const signals = new StopSignals({ windowMs, now: () => clock.now });
  return { clock, signals };
}

Deno.test("the first stop signal begins the stop", () => {
  const { signals } = clocked();
  assertEquals(signals.stopping, false);
  assertEquals(signals.receive(), "stop");
  assertEquals(signals.stopping, true);
});

Deno.test("signals that arrive with the first one (terminal + deno task + npx) are one request", () => {
  const { clock, signals } = clocked();
  assertEquals(signals.receive(), "stop");
  for (const at of [0, 1, 3, 250, REPEAT_WINDOW_MS]) {
    clock.now = at;
    assertEquals(signals.receive(), "same", `at ${at} ms`);
  }
});

Deno.test("a signal more than the window after the first forces the exit", () => {
  const { clock, signals } = clocked();
  clock.now = 10_000;
  assertEquals(signals.receive(), "stop");
  clock.now = 10_000 + REPEAT_WINDOW_MS + 1;
  assertEquals(signals.receive(), "force");
  clock.now = 10_000 + 5 * REPEAT_WINDOW_MS;
  assertEquals(signals.receive(), "force");
});

Deno.test("the window is measured from the first signal, not from the latest copy", () => {
  const { clock, signals } = clocked(100);
  assertEquals(signals.receive(), "stop");
  clock.now = 90;
  assertEquals(signals.receive(), "same");
  clock.now = 150; // 60 ms after the previous copy, but 150 ms after the first signal
  assertEquals(signals.receive(), "force");
});

Deno.test("the default window is one second", () => {
  assertEquals(REPEAT_WINDOW_MS, 1000);
});
