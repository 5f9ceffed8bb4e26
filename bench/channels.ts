/**
 * Protocol v2 figures (issue 12; not asserted anywhere), one real `server.ts` process on
 * loopback per scenario, messages published through the publish API:
 * - fan-out: 100-byte messages to 5,000 clients, v1 (`broadcast`, what every v1 client gets)
 *   against v2 (5,000 subscribers of one channel); latency from the request until each client
 *   has the frame, and until the last one has it;
 * - 1,000 channels with 5 subscribers each: one batch of 1,000 messages (one per channel) per
 *   round, time until all 5,000 clients have theirs;
 * - replay: 10,000 retained messages (`--history 10000`) replayed to a client that subscribes
 *   from the first (`SUB <channel> <seq>`), then to 100 such clients at once.
 *
 * `deno run -A bench/channels.ts [--clients N] [--messages N]` prints a markdown table.
 *
 * @example
 * ```ts
 * // deno run -A bench/channels.ts --clients 5000 --messages 20
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import {
  connectClients,
  type CountingClient,
  makeCa,
  measureFanOut,
  percentile,
  publish,
  startPushServer,
  untilEveryClientHas,
  waitForClients,
} from "./lib/push_clients.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "5000" },
    messages: { type: "string", default: "20" },
  },
});
const CLIENTS = Number(values.clients);
const MESSAGES = Number(values.messages);
const SIZE = 100;
const CHANNELS = 1000;
const RETAINED = 10_000;

const ca = await makeCa();
const rows: string[] = [];
const ms = (n: number) => n.toFixed(1);

/** Runs `fn` against a fresh server with `clients` connected as `target` says. */
async function withServer<T>(
  args: string[],
  clients: number,
  target: (index: number, port: number) => string[] | undefined,
  fn: (
    clients: CountingClient[],
    publishBody: (
      body: string,
      options?: { batch?: boolean; channel?: string },
    ) => Promise<unknown>,
    port: number,
  ) => Promise<T>,
): Promise<T> {
  const server = await startPushServer(ca, args);
  using http = Deno.createHttpClient({ caCerts: [ca.pem] });
  const port = server.process.port;
  const connected = await connectClients(ca, clients, (i) => ({
    port,
    subscribe: target(i, port),
  }));
  try {
    if (clients > 0) await waitForClients(server, clients);
    await untilSubscribed(connected);
    return await fn(connected, (body, options) => publish(http, server, body, options), port);
  } finally {
    for (const client of connected) client.close();
    await server.process.stop();
  }
}

async function untilSubscribed(clients: CountingClient[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!clients.every((client) => client.subscribed)) {
    if (Date.now() > deadline) throw new Error("not every client was subscribed");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const payload = (i: number) => `${i}`.padEnd(SIZE, ".");

for (const v2 of [false, true]) {
  console.error(`fan-out to ${CLIENTS} ${v2 ? "v2 subscribers of one channel" : "v1 clients"}...`);
  const figures = await withServer(
    [],
    CLIENTS,
    () => v2 ? ["news"] : undefined,
    (clients, publishBody) =>
      measureFanOut(
        clients,
        (m) => publishBody(payload(m), v2 ? { channel: "news" } : {}),
        MESSAGES,
      ),
  );
  rows.push(
    `| fan-out, ${v2 ? "v2: one channel" : "v1: broadcast"}, ${CLIENTS} clients | ` +
      `${ms(figures.p50)} | ${ms(figures.p99)} | ${ms(figures.lastP50)} | ${ms(figures.lastP99)} |`,
  );
}

console.error(`${CHANNELS} channels with 5 subscribers each...`);
const rounds = await withServer(
  [],
  CHANNELS * 5,
  (i) => [`ch.${i % CHANNELS}`],
  async (clients, publishBody) => {
    const batch = JSON.stringify(
      Array.from({ length: CHANNELS }, (_, c) => ({ channel: `ch.${c}`, data: payload(c) })),
    );
    const times: number[] = [];
    for (let round = 0; round < 3 + MESSAGES / 2; round++) {
      const start = performance.now();
      await publishBody(batch, { batch: true });
      await untilEveryClientHas(clients, round + 1);
      if (round >= 3) times.push(performance.now() - start);
    }
    return times;
  },
);
rows.push(
  `| ${CHANNELS} channels × 5 subscribers: a batch of ${CHANNELS} messages until all have theirs | ` +
    `${ms(percentile(rounds, 0.5))} | ${ms(percentile(rounds, 0.99))} | | |`,
);

console.error(`replay of ${RETAINED} retained messages...`);
const replay = await withServer(["--history", String(RETAINED)], 0, () => undefined, async (
  _clients,
  publishBody,
  port,
) => {
  let first: number | undefined;
  for (let i = 0; i < RETAINED; i += 1000) {
    const batch = Array.from(
      { length: 1000 },
      (_, j) => ({ channel: "log", data: payload(i + j) }),
    );
    const answer = await publishBody(JSON.stringify(batch), { batch: true });
    first ??= (answer as { results: { seq: number }[] }).results[0].seq;
  }
  const replayTo = async (count: number) => {
    const start = performance.now();
    const readers = await connectClients(ca, count, () => ({ port, subscribe: [`log ${first}`] }));
    await untilEveryClientHas(readers, RETAINED);
    const elapsed = performance.now() - start;
    for (const reader of readers) reader.close();
    return elapsed;
  };
  return { one: await replayTo(1), hundred: await replayTo(100) };
});
rows.push(
  `| replay of ${RETAINED} retained messages to 1 client (connect included) | ${
    ms(replay.one)
  } | | | |`,
  `| the same to 100 clients at once | ${ms(replay.hundred)} | | | |`,
);

console.log(
  `protocol v2, ${SIZE}-byte messages (ms)\n\n` +
    "| scenario | p50 | p99 | last client p50 | last client p99 |\n" +
    "| --- | ---: | ---: | ---: | ---: |\n" + rows.join("\n"),
);
await Deno.remove(ca.dir, { recursive: true });
