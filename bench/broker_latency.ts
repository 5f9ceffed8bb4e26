/**
 * Broker figures (not asserted anywhere): for Redis and NATS JetStream on loopback, with three
 * broker objects standing for three server instances in this one process,
 * - publish: `publish()` call to its acknowledgement (the sequence number), one at a time;
 * - round trip: `publish()` call to the message arriving back at the publishing instance's
 *   `onMessage` (the path every local publish takes), one at a time;
 * - throughput: messages/s published with up to 256 in flight until all three instances
 *   received every one.
 *
 * `deno run -A bench/broker_latency.ts [--samples N] [--messages N] [--only redis|nats]`;
 * needs `redis-server` and `nats-server` (Debian packages). Prints a markdown table.
 *
 * @example
 * ```ts
 * // deno run -A bench/broker_latency.ts --samples 2000 --messages 20000
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { brokerBinary, startBrokerServer } from "../tests/brokers.ts";
import { openBroker } from "../broker/open_broker.ts";
import type { Broker, BrokerMessage } from "../broker/broker.ts";
import type { BrokerKind } from "../broker/broker_url.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    samples: { type: "string", default: "2000" },
    messages: { type: "string", default: "20000" },
    size: { type: "string", default: "100" },
    only: { type: "string" },
  },
});
const samples = Number(values.samples);
const total = Number(values.messages);
const payload = new TextEncoder().encode("x".repeat(Number(values.size)));

/** Percentile `p` (0..1) of sorted `values`. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

interface Figures {
  kind: BrokerKind;
  publishP50: number;
  publishP99: number;
  roundTripP50: number;
  roundTripP99: number;
  messagesPerSecond: number;
}

async function measure(kind: BrokerKind): Promise<Figures> {
  const server = await startBrokerServer(kind);
  const brokers: Broker[] = [];
  try {
    const arrivals = new Map<number, number>();
    let notify = () => {};
    const counts = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const broker = openBroker(server.url, { instanceId: `i${i}`, history: 100 });
      broker.onMessage((message: BrokerMessage) => {
        counts[i]++;
        if (i === 0 && message.channel.startsWith("lat")) {
          arrivals.set(message.seq, performance.now());
          notify();
        }
      });
      await broker.start();
      brokers.push(broker);
    }
    const [first] = brokers;
    for (let i = 0; i < 200; i++) await first.publish("warm", payload); // warm-up

    const publish: number[] = [];
    const roundTrip: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      const seq = await first.publish(`lat${i % 8}`, payload);
      publish.push(performance.now() - started);
      while (!arrivals.has(seq)) await new Promise<void>((resolve) => notify = resolve);
      roundTrip.push(arrivals.get(seq)! - started);
      arrivals.delete(seq);
    }

    const before = [...counts];
    const started = performance.now();
    let sent = 0;
    const inFlight = new Set<Promise<unknown>>();
    while (sent < total) {
      while (inFlight.size < 256 && sent < total) {
        const p = brokers[sent % 3].publish(`tp${sent % 16}`, payload).finally(() =>
          inFlight.delete(p)
        );
        inFlight.add(p);
        sent++;
      }
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    while (counts.some((count, i) => count - before[i] < total)) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const seconds = (performance.now() - started) / 1000;
    publish.sort((a, b) => a - b);
    roundTrip.sort((a, b) => a - b);
    return {
      kind,
      publishP50: percentile(publish, 0.5),
      publishP99: percentile(publish, 0.99),
      roundTripP50: percentile(roundTrip, 0.5),
      roundTripP99: percentile(roundTrip, 0.99),
      messagesPerSecond: Math.round(total / seconds),
    };
  } finally {
    await Promise.all(brokers.map((broker) => broker.close()));
    await server.stop();
  }
}

const kinds = (["redis", "nats"] as BrokerKind[]).filter((kind) =>
  (!values.only || values.only === kind) && brokerBinary(kind)
);
const results: Figures[] = [];
for (const kind of kinds) {
  console.error(`measuring ${kind} ...`);
  results.push(await measure(kind));
}
const ms = (value: number) => value.toFixed(3);
console.log(
  `${samples} sequential samples, ${total} messages for throughput, ${payload.length}-byte payloads, ` +
    "3 broker objects in one process, loopback\n",
);
console.log(
  "| broker | publish p50 ms | publish p99 ms | round trip p50 ms | round trip p99 ms | messages/s (all 3 received) |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.kind} | ${ms(r.publishP50)} | ${ms(r.publishP99)} | ${ms(r.roundTripP50)} | ${
      ms(r.roundTripP99)
    } | ${r.messagesPerSecond} |`,
  );
}
