import { assert, assertEquals } from "./assert.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { Logger } from "../util/logger.ts";
import { ChannelRates, MAX_RATED_CHANNELS } from "../web/channel_rates.ts";

function setup() {
  const clock = { now: 1_000_000 };
  const hub = new Hub({ logger: new Logger({ write: () => {} }), maxFrame: 1 << 20 });
  const rates = new ChannelRates(hub, () => clock.now);
  const publish = (channel: string, times = 1) =>
    Promise.all(
      Array.from({ length: times }, () =>
        hub.publish(new OutgoingMessage("x", { kind: "api" }, channel))),
    );
  return { clock, rates, publish };
}

Deno.test("rates are messages per second of each channel since the previous take", async () => {
  const { clock, rates, publish } = setup();
  rates.start();
  await publish("news", 3);
  await publish("metrics", 1);
  clock.now += 2000;
  assertEquals(rates.take(), new Map([["news", 1.5], ["metrics", 0.5]]));
  // A new window: only what came since.
  await publish("news", 2);
  clock.now += 1000;
  assertEquals(rates.take(), new Map([["news", 2]]));
  clock.now += 1000;
  assertEquals(rates.take().size, 0, "a quiet channel has no rate");
  rates.stop();
});

Deno.test("a window under half a second gives the previous rates and keeps counting", async () => {
  const { clock, rates, publish } = setup();
  rates.start();
  await publish("news", 4);
  clock.now += 1000;
  const first = rates.take();
  assertEquals(first.get("news"), 4);
  await publish("news", 1);
  clock.now += 10; // a second dashboard connecting just after a stats push
  assertEquals(rates.take(), first);
  clock.now += 990;
  assertEquals(rates.take().get("news"), 1, "the message of the short window is not lost");
  rates.stop();
});

Deno.test("nothing is counted while stopped; start is idempotent", async () => {
  const { clock, rates, publish } = setup();
  await publish("news", 5);
  clock.now += 1000;
  assertEquals(rates.take().size, 0);
  rates.start();
  rates.start(); // one listener, not two
  assert(rates.started);
  await publish("news", 1);
  clock.now += 1000;
  assertEquals(rates.take().get("news"), 1);
  rates.stop();
  assert(!rates.started);
  await publish("news", 1);
  clock.now += 1000;
  assertEquals(rates.take().size, 0);
});

Deno.test("at most MAX_RATED_CHANNELS channels are counted in one window", async () => {
  const { clock, rates, publish } = setup();
  rates.start();
  for (let i = 0; i < MAX_RATED_CHANNELS + 50; i++) await publish(`c${i}`);
  await publish("c0", 1); // a counted channel keeps counting
  clock.now += 1000;
  const taken = rates.take();
  assertEquals(taken.size, MAX_RATED_CHANNELS);
  assertEquals(taken.get("c0"), 2);
  assertEquals(taken.get(`c${MAX_RATED_CHANNELS}`), undefined);
  rates.stop();
});
