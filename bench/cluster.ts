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
import { ensureCertificates } from "../tls/certificates.ts";
import { brokerBinary, type BrokerServer, startBrokerServer } from "../tests/brokers.ts";
import { ServerProcess } from "../tests/processes.ts";

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
const TOKEN = "bench-publish-token-0123456789";
const SIZE = 100;
const FRAME = 4 + SIZE;
const WARM_UP = 3;

type Setup = "local" | "redis" | "nats";

/** One server process, with what the bench needs to reach it. */
interface Instance {
  process: ServerProcess;
  webPort: number;
}

let caPem = "";
let caDir = "";

async function startInstance(broker: BrokerServer | undefined): Promise<Instance> {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-bench-cluster-" });
  for (const file of ["ca.pem", "ca-key.pem"]) {
    await Deno.copyFile(`${caDir}/${file}`, `${certsDir}/${file}`);
  }
  const process = await ServerProcess.start([
    "--certs-dir",
    certsDir,
    "--publish-token",
    TOKEN,
    "--max-connections",
    "0",
    ...(broker ? ["--broker", broker.url] : []),
  ]);
  const line = await process.waitForLine(/wss listening on 127\.0\.0\.1:\d+/);
  return { process, webPort: Number(line.match(/:(\d+) /)![1]) };
}

/** A v1 client that only counts the bytes it receives, stamping each whole message. */
class CountingClient {
  readonly arrivals: number[] = [];
  #bytes = 0;
  #conn: Deno.TlsConn;

  private constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
    this.#read();
  }

  static async connect(port: number): Promise<CountingClient> {
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] });
    await conn.handshake();
    return new CountingClient(conn);
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) return;
        const now = performance.now();
        this.#bytes += n;
        while (this.arrivals.length < Math.floor(this.#bytes / FRAME)) this.arrivals.push(now);
      }
    } catch {
      // closed by the bench
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function publish(
  http: Deno.HttpClient,
  instance: Instance,
  body: string,
  batch = false,
): Promise<void> {
  const path = batch ? "/api/publish/batch" : "/api/publish";
  const response = await fetch(`https://localhost:${instance.webPort}${path}`, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${TOKEN}` },
    client: http,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish answered ${response.status}: ${text}`);
}

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

/** Fan-out latency in ms: every delivery, and the last client of each message. */
async function fanOut(setup: Setup, instances: number) {
  return await withBroker(setup, async (broker) => {
    const servers: Instance[] = [];
    const clients: CountingClient[] = [];
    using http = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      for (let i = 0; i < instances; i++) servers.push(await startInstance(broker));
      for (let i = 0; i < CLIENTS; i += 100) {
        const batch = Array.from(
          { length: Math.min(100, CLIENTS - i) },
          (_, j) => CountingClient.connect(servers[(i + j) % instances].process.port),
        );
        clients.push(...await Promise.all(batch));
      }
      // A client's handshake ends before its server has registered it: wait for every one.
      for (const [i, server] of servers.entries()) {
        const share = Math.floor(CLIENTS / instances) + (i < CLIENTS % instances ? 1 : 0);
        await server.process.waitForLine(new RegExp(`\\(${share} connected\\)`), 30_000);
      }
      const sentAt: number[] = [];
      for (let m = 0; m < WARM_UP + MESSAGES; m++) {
        sentAt.push(performance.now());
        await publish(http, servers[0], `${m}`.padEnd(SIZE, "."));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const total = WARM_UP + MESSAGES;
      const deadline = Date.now() + 30_000;
      while (clients.some((c) => c.arrivals.length < total)) {
        if (Date.now() > deadline) {
          const got = clients.map((c) => c.arrivals.length);
          throw new Error(
            `${setup}: not every client got every message (${Math.min(...got)} to ` +
              `${Math.max(...got)} of ${total})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const each: number[] = [];
      const last: number[] = [];
      for (let m = WARM_UP; m < total; m++) {
        const latencies = clients.map((c) => c.arrivals[m] - sentAt[m]);
        each.push(...latencies);
        last.push(Math.max(...latencies));
      }
      return {
        p50: percentile(each, 0.5),
        p99: percentile(each, 0.99),
        lastP50: percentile(last, 0.5),
        lastP99: percentile(last, 0.99),
      };
    } finally {
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => s.process.stop()));
    }
  });
}

/** Publish API messages/s: single messages and batches of 100. */
async function apiThroughput(setup: Setup) {
  return await withBroker(setup, async (broker) => {
    const server = await startInstance(broker);
    using http = Deno.createHttpClient({ caCerts: [caPem] });
    const message = "x".repeat(SIZE);
    const run = async (concurrency: number, requests: number, body: string, batch: boolean) => {
      let next = 0;
      const start = performance.now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next++ < requests) await publish(http, server, body, batch);
      }));
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
    }
  });
}

const setups = (["local", "redis", "nats"] as Setup[]).filter((s) =>
  (values.only === undefined || values.only === s) && (s === "local" || brokerBinary(s))
);
caDir = await Deno.makeTempDir({ prefix: "tlspush-bench-ca-" });
caPem = await Deno.readTextFile((await ensureCertificates({ certsDir: caDir })).caPath);

const rows: string[] = [];
const fmt = (n: number) => n.toFixed(1);
for (const setup of setups) {
  const instances = setup === "local" ? 1 : 3;
  console.error(`${setup}: fan-out to ${CLIENTS} clients on ${instances} instance(s)...`);
  const fan = await fanOut(setup, instances);
  console.error(`${setup}: publish API throughput...`);
  const api = await apiThroughput(setup);
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
await Deno.remove(caDir, { recursive: true });
