import { assertEquals } from "./assert.ts";
import { END_OF_INPUT, InputChannel } from "../client/input_channel.ts";

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

Deno.test("reading ahead is bounded: a huge input is not buffered whole", async () => {
  let produced = 0;
  function* endless() {
    while (produced < 100_000) yield String(produced++);
  }
  const channel = new InputChannel(endless());
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals(produced <= 1025, true, `read ahead ${produced}`);
  assertEquals(await channel.take(), "0");
});
