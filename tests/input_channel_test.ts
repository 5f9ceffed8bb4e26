import { assertEquals } from "./assert.ts";
import { END_OF_INPUT, InputChannel, READ_AHEAD } from "../client/input_channel.ts";

Deno.test("messages come out in order, then END_OF_INPUT", async () => {
  const channel = new InputChannel(["a", "", "c"]);
  const taken = [];
  for (let i = 0; i < 4; i++) taken.push(await channel.take());
  assertEquals(taken, ["a", "", "c", END_OF_INPUT]);
});

Deno.test("a connection that goes away while waiting consumes nothing: the next one gets it", async () => {
  const input = new TransformStream<string, string>();
  const writer = input.writable.getWriter();
  const channel = new InputChannel(input.readable);
  const lost = new AbortController();
  const waiting = channel.take(lost.signal);
  lost.abort(); // the connection died before the user typed anything
  assertEquals(await waiting, undefined);
  await writer.write("typed after the reconnect");
  assertEquals(await channel.take(new AbortController().signal), "typed after the reconnect");
  await writer.close();
  assertEquals(await channel.take(), END_OF_INPUT);
});

/**
 * Resolves after every pending microtask. Filling the channel from a synchronous source is
 * microtasks only (no I/O, no timer), so once a zero timer fires the channel has read all it
 * will read: an exact count, not a guess at how long reading takes.
 */
const afterMicrotasks = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("reading ahead stops at READ_AHEAD messages, and one taken lets one more in", async () => {
  let produced = 0;
  function* endless() {
    while (produced < 100_000) yield String(produced++);
  }
  const channel = new InputChannel(endless());
  await afterMicrotasks();
  assertEquals(produced, READ_AHEAD);
  assertEquals(await channel.take(), "0");
  await afterMicrotasks();
  assertEquals(produced, READ_AHEAD + 1);
});
