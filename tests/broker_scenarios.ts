/**
 * The broker contract as test scenarios, run unchanged against every broker kind with real
 * servers (`redis_broker_test.ts`, `nats_broker_test.ts`): several instances (several `Broker`
 * objects on one server) with concurrent publishers, history and gaps, the broker killed and
 * restarted without its data, a paused (slow) broker, prefixes, presence, redaction.
 *
 * @example
 * ```ts
 * import { registerBrokerScenarios } from "./broker_scenarios.ts";
 * registerBrokerScenarios("redis");
 * ```
 * @module
 */
import { assert, assertEquals, assertInstanceOf, assertRejects } from "./assert.ts";
import { waitFor } from "./helpers.ts";
import {
  type BrokerServer,
  type BrokerServerOptions,
  brokerTest,
  freePort,
  startBrokerServer,
  TcpProxy,
} from "./brokers.ts";
import type { Broker, BrokerMessage } from "../broker/broker.ts";
import type { BrokerOptions } from "../broker/broker_options.ts";
import type { BrokerKind } from "../broker/broker_url.ts";
import { openBroker } from "../broker/open_broker.ts";
import {
  BrokerOverloadedError,
  BrokerTimeoutError,
  BrokerUnavailableError,
} from "../broker/broker_errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One broker object standing for one server instance, with what it received and reported. */
interface Instance {
  broker: Broker;
  received: BrokerMessage[];
  states: [boolean, string][];
}

/** Opens and starts a broker that records its messages and state changes. */
async function instance(url: string, options: BrokerOptions = {}): Promise<Instance> {
  const broker = openBroker(url, { heartbeatMs: 100, reconnectCapMs: 500, ...options });
  const result: Instance = { broker, received: [], states: [] };
  broker.onMessage((message) => result.received.push(message));
  broker.onStateChange((up, reason) => result.states.push([up, reason]));
  await broker.start();
  return result;
}

/** Runs `fn` with a fresh server of `kind`, stopping it and the brokers whatever happens. */
async function withServer(
  kind: BrokerKind,
  fn: (
    server: BrokerServer,
    open: (options?: BrokerOptions, url?: string) => Promise<Instance>,
  ) => Promise<void>,
  serverOptions: BrokerServerOptions = {},
): Promise<void> {
  const server = await startBrokerServer(kind, serverOptions);
  const opened: Instance[] = [];
  try {
    await fn(server, async (options = {}, url = server.url) => {
      const opened1 = await instance(url, options);
      opened.push(opened1);
      return opened1;
    });
  } catch (error) {
    throw new Error(`${error}\n--- ${kind} log ---\n${(await server.log()).slice(-1500)}`, {
      cause: error,
    });
  } finally {
    await Promise.all(opened.map((one) => one.broker.close()));
    await server.stop();
  }
}

/** `(channel, seq, text, origin)` of a message, for comparisons. */
function key(message: BrokerMessage): string {
  return `${message.channel}|${message.seq}|${decoder.decode(message.payload)}|${message.origin}`;
}

/** Fails unless the messages of each channel have strictly increasing seqs. */
function assertIncreasingPerChannel(messages: BrokerMessage[]): void {
  const last = new Map<string, number>();
  for (const message of messages) {
    const before = last.get(message.channel) ?? -1;
    assert(message.seq > before, `${message.channel}: ${message.seq} after ${before}`);
    assert(Number.isSafeInteger(message.seq), `seq ${message.seq} is a safe integer`);
    last.set(message.channel, message.seq);
  }
}

/** Registers every scenario for `kind`. */
export function registerBrokerScenarios(kind: BrokerKind): void {
  brokerTest(
    kind,
    "3 instances, concurrent publishers: every message once, one order",
    async () => {
      await withServer(kind, async (_server, open) => {
        const instances = [
          await open({ instanceId: "a" }),
          await open({ instanceId: "b" }),
          await open({ instanceId: "c" }),
        ];
        const perInstance = 400;
        const channels = ["broadcast", "metrics", "chat.room-1", "a/b:c"];
        const published: Promise<{ seq: number; text: string; channel: string; origin: string }>[] =
          [];
        for (let i = 0; i < perInstance; i++) {
          for (const [index, one] of instances.entries()) {
            const channel = channels[(i + index) % channels.length];
            const origin = "abc"[index];
            const text = `${origin}-${i}`;
            published.push(
              one.broker.publish(channel, encoder.encode(text)).then((seq) => ({
                seq,
                text,
                channel,
                origin,
              })),
            );
          }
        }
        const results = await Promise.all(published);
        const total = perInstance * instances.length;
        for (const one of instances) {
          await waitFor(() => one.received.length >= total, 20_000, `${total} messages`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200)); // anything extra would show now
        const reference = instances[0].received.map(key);
        assertEquals(reference.length, total, "no message twice, none missing");
        assertEquals(new Set(reference).size, total, "no duplicates");
        for (const one of instances.slice(1)) {
          assertEquals(one.received.map(key), reference, "the same order on every instance");
        }
        assertIncreasingPerChannel(instances[0].received);
        const expected = new Set(
          results.map((r) => `${r.channel}|${r.seq}|${r.text}|${r.origin}`),
        );
        assertEquals(new Set(reference), expected, "publish() resolved with the seq delivered");
      });
    },
  );

  brokerTest(kind, "history: replay from a seq, with and without a gap; paging; next", async () => {
    await withServer(kind, async (_server, open) => {
      const one = await open({ history: 5 });
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) seqs.push(await one.broker.publish("h", encoder.encode(`m${i}`)));
      await one.broker.publish("other", encoder.encode("noise"));

      let page = await one.broker.history("h", 0, 10);
      assertEquals(page.messages.map((m) => decoder.decode(m.payload)), ["m0", "m1", "m2"]);
      assertEquals(page.gap, null, "nothing dropped yet");
      assertEquals(page.more, false);
      assert(page.next > seqs[2], `next ${page.next} > ${seqs[2]}`);
      assert(page.since <= seqs[0], `since ${page.since} <= ${seqs[0]}`);
      page = await one.broker.history("h", seqs[1], 10);
      assertEquals(page.messages.map((m) => m.seq), seqs.slice(1));
      assertEquals(page.gap, null);
      page = await one.broker.history("h", 0, 2);
      assertEquals(page.messages.map((m) => m.seq), seqs.slice(0, 2));
      assertEquals(page.more, true, "a third one follows");

      for (let i = 3; i < 10; i++) {
        seqs.push(await one.broker.publish("h", encoder.encode(`m${i}`)));
      }
      page = await one.broker.history("h", seqs[0], 10);
      assertEquals(page.messages.map((m) => m.seq), seqs.slice(5), "the last 5 are retained");
      assertEquals(page.gap, { from: seqs[0], to: seqs[5] }, "m0..m4 are gone");
      page = await one.broker.history("h", seqs[4], 10);
      assertEquals(page.gap, { from: seqs[4], to: seqs[5] }, "m4 is gone");
      page = await one.broker.history("h", seqs[4] + 1, 10);
      assertEquals(page.gap, null, "nothing was dropped after m4 (seqs are not consecutive)");
      assertEquals(page.messages.length, 5);
      page = await one.broker.history("h", seqs[9] + 1, 10);
      assertEquals(page.messages, []);
      assertEquals(page.gap, null);
      assert(page.next > seqs[9]);

      page = await one.broker.history("never-used", 0, 10);
      assertEquals(page.messages, []);
      assertEquals(page.gap, null);
      const fresh = await one.broker.publish("never-used", encoder.encode("x"));
      assert(fresh >= page.next, `the first seq ${fresh} >= the announced next ${page.next}`);
    });
  });

  brokerTest(kind, "history: the age limit hides old messages and reports the gap", async () => {
    await withServer(kind, async (_server, open) => {
      const one = await open({ history: 100, historyAgeMs: 400 });
      const old = await one.broker.publish("aged", encoder.encode("old"));
      await new Promise((resolve) => setTimeout(resolve, 600));
      const young = await one.broker.publish("aged", encoder.encode("young"));
      const page = await one.broker.history("aged", old, 10);
      assertEquals(page.messages.map((m) => m.seq), [young]);
      assertEquals(page.gap, { from: old, to: young });
      assertEquals((await one.broker.history("aged", old + 1, 10)).gap, null);
    });
  });

  brokerTest(
    kind,
    "broker killed and restarted without its data: refuse, report once, resume",
    async () => {
      await withServer(kind, async (server, open) => {
        const a = await open({ instanceId: "a" });
        const b = await open({ instanceId: "b" });
        const before: number[] = [];
        for (let i = 0; i < 20; i++) {
          before.push(await (i % 2 ? a : b).broker.publish("k", encoder.encode(`before-${i}`)));
        }
        await waitFor(() => a.received.length === 20 && b.received.length === 20, 10_000, "20");

        await server.kill("SIGKILL");
        await waitFor(() => !a.broker.up && !b.broker.up, 10_000, "both to see the broker down");
        const started = performance.now();
        await assertRejects(a.broker.publish("k", encoder.encode("lost")), BrokerUnavailableError);
        assert(performance.now() - started < 100, "refused at once, not queued");
        await assertRejects(a.broker.history("k", 0, 10), BrokerUnavailableError);
        await new Promise((resolve) => setTimeout(resolve, 700)); // a few failed reconnects

        await server.restart(false); // without its data
        await waitFor(() => b.broker.up, 15_000, "b to reconnect");
        // Published while a may still be away: a must get it when it is back.
        const during = await b.broker.publish("k", encoder.encode("after-restart"));
        await waitFor(() => a.broker.up, 15_000, "a to reconnect");
        const after = await a.broker.publish("k", encoder.encode("after-a"));
        await waitFor(() => a.received.length === 22 && b.received.length === 22, 10_000, "22");
        await new Promise((resolve) => setTimeout(resolve, 200));

        const highest = Math.max(...before);
        assert(during > highest, `seq after a data-less restart ${during} > ${highest}`);
        assert(after > during, `${after} > ${during}`);
        for (const one of [a, b]) {
          assertEquals(one.received.length, 22, "nothing twice, nothing lost");
          assertEquals(one.received.slice(20).map((m) => decoder.decode(m.payload)), [
            "after-restart",
            "after-a",
          ]);
          assertIncreasingPerChannel(one.received);
          assertEquals(
            one.states.map(([up]) => up),
            [true, false, true],
            JSON.stringify(one.states),
          );
          assert(!one.states[1][1].includes("undefined"), one.states[1][1]);
        }
        assertEquals(a.received.map(key), b.received.map(key));
        const page = await a.broker.history("k", 0, 10);
        assertEquals(page.messages.map((m) => m.seq), [during, after], "history after the restart");
        assert(page.since > highest, `since ${page.since} says the older history is unknown`);
        assertEquals(a.broker.stats().reconnects, 1);
      });
    },
  );

  brokerTest(kind, "one instance cut off while the others go on: it catches up, once", async () => {
    await withServer(kind, async (server, open) => {
      const proxy = await TcpProxy.start(server.port);
      try {
        const a = await open({ instanceId: "a" }, proxy.via(server.url));
        const b = await open({ instanceId: "b" });
        for (let i = 0; i < 10; i++) await a.broker.publish(`c${i % 3}`, encoder.encode(`x${i}`));
        await waitFor(() => a.received.length === 10 && b.received.length === 10, 10_000, "10");
        proxy.cut();
        await waitFor(() => !a.broker.up, 10_000, "a to see its connection lost");
        await assertRejects(
          a.broker.publish("c0", encoder.encode("refused")),
          BrokerUnavailableError,
        );
        for (let i = 0; i < 30; i++) await b.broker.publish(`c${i % 3}`, encoder.encode(`y${i}`));
        assertEquals(a.broker.up, false, "a was away while b published");
        proxy.restore();
        await waitFor(() => a.broker.up, 15_000, "a to reconnect");
        await waitFor(() => a.received.length >= 40, 10_000, "a to catch up");
        await new Promise((resolve) => setTimeout(resolve, 200));
        assertEquals(a.received.map(key), b.received.map(key), "the same 40, once, in one order");
        assertEquals(a.states.map(([up]) => up), [true, false, true]);
        assertEquals(b.states.map(([up]) => up), [true], "b never noticed");
        assertEquals(a.broker.stats().missed, 0);
      } finally {
        proxy.stop();
      }
    });
  });

  brokerTest(
    kind,
    "away longer than the broker keeps messages: it counts what it missed",
    async () => {
      await withServer(kind, async (server, open) => {
        const proxy = await TcpProxy.start(server.port);
        try {
          // Redis keeps ~deliveryBuffer messages for absent instances, NATS history +
          // channelBacklog per channel: 600 on one channel while away is more than either.
          const options = { history: 5, deliveryBuffer: 100, channelBacklog: 50 };
          const a = await open({ ...options, instanceId: "a" }, proxy.via(server.url));
          const b = await open({ ...options, instanceId: "b" });
          proxy.cut();
          await waitFor(() => !a.broker.up, 10_000, "a down");
          for (let i = 0; i < 600; i++) await b.broker.publish("flood", encoder.encode(`f${i}`));
          proxy.restore();
          await waitFor(() => a.broker.up, 15_000, "a up");
          await b.broker.publish("flood", encoder.encode("last"));
          await waitFor(() => b.received.length === 601, 10_000, "b has all");
          await waitFor(
            () =>
              a.received.at(-1) !== undefined &&
              decoder.decode(a.received.at(-1)!.payload) === "last",
            10_000,
            "a to get the last one",
          );
          const missed = a.broker.stats().missed;
          assert(missed > 0, "it knows it missed some");
          assertEquals(a.received.length + missed, 601, "received + missed = published");
          const bKeys = b.received.map(key);
          assertEquals(a.received.map(key), bKeys.slice(bKeys.length - a.received.length));
        } finally {
          proxy.stop();
        }
      });
    },
  );

  brokerTest(
    kind,
    "broker restarted with its data: delivery resumes where it stopped",
    async () => {
      await withServer(kind, async (server, open) => {
        const a = await open({ instanceId: "a" });
        await a.broker.publish("r", encoder.encode("one"));
        await waitFor(() => a.received.length === 1, 10_000, "one");
        await server.kill("SIGKILL");
        await waitFor(() => !a.broker.up, 10_000, "down");
        await server.restart(true);
        await waitFor(() => a.broker.up, 15_000, "up again");
        await a.broker.publish("r", encoder.encode("two"));
        await waitFor(() => a.received.length === 2, 10_000, "two");
        await new Promise((resolve) => setTimeout(resolve, 200));
        assertEquals(a.received.map((m) => decoder.decode(m.payload)), ["one", "two"]);
        assertIncreasingPerChannel(a.received);
        const page = await a.broker.history("r", 0, 10);
        assertEquals(page.messages.map((m) => decoder.decode(m.payload)), ["one", "two"]);
        assertEquals(page.gap, null);
      }, { persistent: true });
    },
  );

  brokerTest(kind, "unreachable at start: a clear BrokerUnavailableError", async () => {
    const port = await freePort();
    const broker = openBroker(`${kind}://127.0.0.1:${port}`, {});
    const error = await assertRejects(broker.start(), BrokerUnavailableError);
    assert(error.message.includes(`127.0.0.1:${port}`), error.message);
    assert(!error.message.includes("\n"), "one line");
    assertEquals(broker.up, false);
    await broker.close();
  });

  brokerTest(kind, "a password never reaches an error message", async () => {
    const secret = "s3cret-Pa55word";
    await withServer(kind, async (server) => {
      const wrong = server.url.replace(encodeURIComponent(secret), "wrong-" + secret);
      const broker = openBroker(wrong, {});
      const error = await assertRejects(broker.start(), BrokerUnavailableError);
      assert(!error.message.includes(secret), error.message);
      assert(error.message.includes("***"), error.message);
      assert(!String(error.cause).includes(secret), String(error.cause));
      await broker.close();

      const port = await freePort();
      const unreachable = openBroker(server.url.replace(String(server.port), String(port)), {});
      const error2 = await assertRejects(unreachable.start(), BrokerUnavailableError);
      assert(!error2.message.includes(secret), error2.message);
      assert(!String(error2.cause).includes(secret), String(error2.cause));
      await unreachable.close();

      const right = openBroker(server.url, {});
      await right.start();
      assert(!right.url.includes(secret), right.url);
      await right.close();
    }, { password: secret });
  });

  brokerTest(kind, "a prefix separates two deployments on one broker", async () => {
    await withServer(kind, async (_server, open) => {
      const blue = await open({ prefix: "blue" });
      const green = await open({ prefix: "green" });
      await blue.broker.publish("same", encoder.encode("for blue"));
      await green.broker.publish("same", encoder.encode("for green"));
      await waitFor(() => blue.received.length >= 1 && green.received.length >= 1, 10_000, "1");
      await new Promise((resolve) => setTimeout(resolve, 200));
      assertEquals(blue.received.map((m) => decoder.decode(m.payload)), ["for blue"]);
      assertEquals(green.received.map((m) => decoder.decode(m.payload)), ["for green"]);
      assertEquals((await blue.broker.history("same", 0, 10)).messages.length, 1);
    });
  });

  brokerTest(kind, "a paused broker: in-flight publishes are capped, then time out", async () => {
    await withServer(kind, async (server, open) => {
      const a = await open({ maxInFlight: 20, publishTimeoutMs: 800 });
      await a.broker.publish("slow", encoder.encode("warm-up"));
      await server.pause();
      try {
        const attempts = Array.from(
          { length: 30 },
          (_, i) => a.broker.publish("slow", encoder.encode(`p${i}`)).then(() => "ok", (e) => e),
        );
        assert(a.broker.stats().inFlight <= 20, `in flight ${a.broker.stats().inFlight}`);
        const outcomes = await Promise.all(attempts);
        const overloaded = outcomes.filter((o) => o instanceof BrokerOverloadedError).length;
        const timedOut = outcomes.filter((o) => o instanceof BrokerTimeoutError).length;
        assertEquals(overloaded, 10, "refused beyond 20 in flight");
        assertEquals(timedOut, 20, "the 20 in flight time out");
        for (const o of outcomes) if (o !== "ok") assertInstanceOf(o, BrokerUnavailableError);
      } finally {
        await server.resume();
      }
      await waitFor(() => a.broker.up && a.broker.stats().inFlight === 0, 15_000, "drained");
      await a.broker.publish("slow", encoder.encode("after"));
    });
  });

  brokerTest(kind, "presence: every instance sees the others' heartbeats", async () => {
    await withServer(kind, async (_server, open) => {
      const all = [await open({}), await open({}), await open({})];
      all.forEach((one, i) =>
        one.broker.announce({ id: `i${i}`, clients: i * 10, started: 1000 + i })
      );
      for (const one of all) {
        await waitFor(() => one.broker.instances().length === 3, 5_000, "3 instances");
      }
      const seen = all[0].broker.instances().map(({ id, clients, started }) => ({
        id,
        clients,
        started,
      }));
      assertEquals(seen.sort((x, y) => x.id.localeCompare(y.id)), [
        { id: "i0", clients: 0, started: 1000 },
        { id: "i1", clients: 10, started: 1001 },
        { id: "i2", clients: 20, started: 1002 },
      ]);
      await all[2].broker.close();
      await waitFor(() => all[0].broker.instances().length === 2, 5_000, "i2 to go away");
    });
  });
}
