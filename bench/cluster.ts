/**
 * Cluster figures (issue 10; not asserted anywhere), every server a real `server.ts` process
 * on loopback, the broker a real `redis-server` / `nats-server -js`:
 * - fan-out: 5,000 v1 TLS clients in all (on one instance, or spread over three instances on one
 *   broker); 100-byte messages published through the publish API of the first instance, 100 ms
 *   apart; latency from the request until each client has the whole frame (p50, p99 over every
 *   delivery) and until the last client has it (p50, p99 over messages);
 * - publish API: messages/s, one message per request (16 requests in flight) and batches of 100
 *   (4 in flight), on one instance alone and on one instance with each broker.
 *
 * The clients and the publisher run in this process: its cost is the same in every row, so
 * compare rows of one run. `deno run -A bench/cluster.ts [--clients N] [--messages N]
 * [--only local|redis|nats]` prints a markdown table.
 *
 * @example
 * ```ts
 * // deno run -A bench/cluster.ts --clients 5000 --messages 20
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { brokerBinary, type BrokerServer, startBrokerServer } from "../tests/brokers.ts";
import {
  type BenchCa,
  connectClients,
  makeCa,
  measureFanOut,
  publish,
  PUBLISH_TOKEN,
  type PushServer,
  startPushServer,
  waitForClients,
} from "./lib/push_clients.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "5000" },
    messages: { type: "string", default: "20" },
    requests: { type: "string", default: "4000" },
    only: { type: "string" },
  },
});
const CLIENTS = Number(values.clients);
const MESSAGES = Number(values.messages);
const REQUESTS = Number(values.requests);
const SIZE = 100;

type Setup = "local" | "redis" | "nats";

async function withBroker<T>(
  setup: Setup,
  fn: (broker: BrokerServer | undefined) => Promise<T>,
): Promise<T> {
  if (setup === "local") return await fn(undefined);
  const broker = await startBrokerServer(setup);
  try {
    return await fn(broker);
  } finally {
    await broker.stop();
  }
}

function brokerArgs(broker: BrokerServer | undefined): string[] {
  return broker ? ["--broker", broker.url] : [];
}

/** Fan-out latency in ms: every delivery, and the last client of each message. */
async function fanOut(ca: BenchCa, setup: Setup, instances: number) {
  return await withBroker(setup, async (broker) => {
    const servers: PushServer[] = [];
    using http = Deno.createHttpClient({ caCerts: [ca.pem] });
    for (let i = 0; i < instances; i++) {
      servers.push(await startPushServer(ca, brokerArgs(broker)));
    }
    const clients = await connectClients(ca, CLIENTS, (i) => ({
      port: servers[i % instances].process.port,
    }));
    try {
      for (const [i, server] of servers.entries()) {
        await waitForClients(
          server,
          Math.floor(CLIENTS / instances) + (i < CLIENTS % instances ? 1 : 0),
        );
      }
      return await measureFanOut(
        clients,
        (m) => publish(http, servers[0], `${m}`.padEnd(SIZE, ".")),
        MESSAGES,
      );
    } finally {
      for (const client of clients) client.close();
      await Promise.all(servers.map((server) => server.process.stop()));
    }
  });
}

/**
 * Publish API messages/s, from curl (Nagle off, keep-alive, `--parallel`): single messages (16
 * requests in flight) and batches of 100 (4 in flight). Deno's own fetch would add its
 * Nagle delay to every request whose body goes out after its head.
 */
async function apiThroughput(ca: BenchCa, setup: Setup) {
  return await withBroker(setup, async (broker) => {
    const server = await startPushServer(ca, brokerArgs(broker));
    const dir = await Deno.makeTempDir({ prefix: "tlspush-bench-curl-" });
    const message = "x".repeat(SIZE);
    const run = async (parallel: number, requests: number, body: string, batch: boolean) => {
      await Deno.writeTextFile(`${dir}/body`, body);
      await Deno.writeTextFile(`${dir}/ca.pem`, ca.pem);
      const url = `https://localhost:${server.webPort}/api/publish${batch ? "/batch" : ""}`;
      const one = `url = "${url}"\ndata-binary = "@${dir}/body"\n` +
        `header = "Authorization: Bearer ${PUBLISH_TOKEN}"\ncacert = "${dir}/ca.pem"\n` +
        `output = "/dev/null"\nfail\n`;
      await Deno.writeTextFile(`${dir}/requests`, Array(requests).fill(one).join("next\n"));
      const start = performance.now();
      const curl = await new Deno.Command("curl", {
        args: ["--silent", "--show-error", "--parallel", "--parallel-max", String(parallel)]
          .concat(["--config", `${dir}/requests`]),
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!curl.success) throw new Error(`curl: ${new TextDecoder().decode(curl.stderr)}`);
      return performance.now() - start;
    };
    try {
      await run(16, 200, message, false); // warm-up
      const singleMs = await run(16, REQUESTS, message, false);
      const batchBody = JSON.stringify(Array.from({ length: 100 }, () => message));
      const batchRequests = Math.max(10, REQUESTS / 20);
      const batchMs = await run(4, batchRequests, batchBody, true);
      return {
        single: REQUESTS / (singleMs / 1000),
        batch: (batchRequests * 100) / (batchMs / 1000),
      };
    } finally {
      await server.process.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

const setups = (["local", "redis", "nats"] as Setup[]).filter((s) =>
  (values.only === undefined || values.only === s) && (s === "local" || brokerBinary(s))
);
const ca = await makeCa();
const rows: string[] = [];
const fmt = (n: number) => n.toFixed(1);
for (const setup of setups) {
  const instances = setup === "local" ? 1 : 3;
  console.error(`${setup}: fan-out to ${CLIENTS} clients on ${instances} instance(s)...`);
  const fan = await fanOut(ca, setup, instances);
  console.error(`${setup}: publish API throughput...`);
  const api = await apiThroughput(ca, setup);
  rows.push(
    `| ${setup === "local" ? "one instance, no broker" : `3 instances on ${setup}`} | ` +
      `${fmt(fan.p50)} | ${fmt(fan.p99)} | ${fmt(fan.lastP50)} | ${fmt(fan.lastP99)} | ` +
      `${Math.round(api.single)} | ${Math.round(api.batch)} |`,
  );
}
console.log(
  `fan-out of ${SIZE}-byte messages to ${CLIENTS} TLS clients (ms), publish API (messages/s)\n\n` +
    "| setup | delivery p50 | delivery p99 | last client p50 | last client p99 | " +
    "API single | API batch of 100 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
    rows.join("\n"),
);
await Deno.remove(ca.dir, { recursive: true });
