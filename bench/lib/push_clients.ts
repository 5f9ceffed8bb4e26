/**
 * The pieces the push benchmarks share (`bench/cluster.ts`, `bench/channels.ts`): real
 * `server.ts` processes with the publish API on, thousands of TLS clients that only count the
 * frames they receive and stamp each one's arrival, and publishing through the API.
 *
 * The clients run in the benchmark's own process: they cost the same in every row of a run, so
 * compare rows of one run.
 *
 * @example
 * ```ts
 * import { connectClients, makeCa, startPushServer } from "./push_clients.ts";
 * const ca = await makeCa();
 * const server = await startPushServer(ca, []);
 * const clients = await connectClients(ca, 100, () => ({ port: server.process.port }));
 * ```
 * @module
 */
import { concatBytes } from "../../protocol/bytes.ts";
import { encodeFrame } from "../../protocol/framing.ts";
import { ensureCertificates } from "../../tls/certificates.ts";
import { ServerProcess } from "../../tests/processes.ts";

/** The publish API token every benchmark server is started with. */
export const PUBLISH_TOKEN = "bench-publish-token-0123456789";

/** A CA in a temporary directory: its PEM and where it is. */
export interface BenchCa {
  pem: string;
  dir: string;
}

/** A server process with its web port (the publish API). */
export interface PushServer {
  process: ServerProcess;
  webPort: number;
}

/** Makes a CA that every benchmark server's leaf is signed by. */
export async function makeCa(): Promise<BenchCa> {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-bench-ca-" });
  const pem = await Deno.readTextFile((await ensureCertificates({ certsDir: dir })).caPath);
  return { pem, dir };
}

/** Starts `server.ts` (127.0.0.1, free ports, the publish API on, no connection cap). */
export async function startPushServer(ca: BenchCa, args: string[]): Promise<PushServer> {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-bench-certs-" });
  for (const file of ["ca.pem", "ca-key.pem"]) {
    await Deno.copyFile(`${ca.dir}/${file}`, `${certsDir}/${file}`);
  }
  const process = await ServerProcess.start([
    ...["--certs-dir", certsDir, "--publish-token", PUBLISH_TOKEN, "--max-connections", "0"],
    ...args,
  ]);
  return { process, webPort: await process.webPort() };
}

/** Waits until `server` logged `count` connected clients (a handshake ends before that). */
export async function waitForClients(server: PushServer, count: number): Promise<void> {
  await server.process.waitForLine(new RegExp(`\\(${count} connected\\)`), 60_000);
}

/**
 * A TLS client that counts whole frames and stamps each arrival; in protocol v2 (`subscribe`
 * given) it subscribes first and does not count the `OK SUB` answers.
 */
export class CountingClient {
  /** `performance.now()` at which each counted frame was complete. */
  readonly arrivals: number[] = [];
  readonly #conn: Deno.TlsConn;
  #skip: number;
  /** Bytes of the current frame still to come (header included); 0: at a header. */
  #header = new Uint8Array(4);
  #headerBytes = 0;
  #remaining = 0;

  private constructor(conn: Deno.TlsConn, skip: number) {
    this.#conn = conn;
    this.#skip = skip;
    this.#read();
  }

  /** Connects, and subscribes to `subscribe` (protocol v2 by ALPN) when given. */
  static async connect(ca: BenchCa, port: number, subscribe?: string[]): Promise<CountingClient> {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [ca.pem],
      alpnProtocols: subscribe ? ["tlspush/2"] : undefined,
    });
    await conn.handshake();
    const client = new CountingClient(conn, subscribe?.length ?? 0);
    if (subscribe) {
      await conn.write(concatBytes(subscribe.map((channel) => encodeFrame(`SUB ${channel}`))));
    }
    return client;
  }

  /** Whether every `OK SUB` came. */
  get subscribed(): boolean {
    return this.#skip === 0;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) return;
        this.#count(buffer.subarray(0, n), performance.now());
      }
    } catch {
      // closed by the benchmark
    }
  }

  #count(bytes: Uint8Array, now: number): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, bytes.length - at);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.#complete(now);
        continue;
      }
      this.#header[this.#headerBytes++] = bytes[at++];
      if (this.#headerBytes < 4) continue;
      this.#headerBytes = 0;
      this.#remaining = new DataView(this.#header.buffer).getInt32(0, true);
      if (this.#remaining === 0) this.#complete(now);
    }
  }

  #complete(now: number): void {
    if (this.#skip > 0) this.#skip--;
    else this.arrivals.push(now);
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** Connects `count` clients, 100 at a time; `target(i)` says where client `i` goes. */
export async function connectClients(
  ca: BenchCa,
  count: number,
  target: (index: number) => { port: number; subscribe?: string[] },
): Promise<CountingClient[]> {
  const clients: CountingClient[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => {
      const { port, subscribe } = target(i + j);
      return CountingClient.connect(ca, port, subscribe);
    });
    clients.push(...await Promise.all(batch));
  }
  return clients;
}

/** Waits until every client counted `count` frames (or `count(i)`); fails after `timeoutMs`. */
export async function untilEveryClientHas(
  clients: CountingClient[],
  count: number | ((index: number) => number),
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const wanted = typeof count === "number" ? () => count : count;
  while (clients.some((client, i) => client.arrivals.length < wanted(i))) {
    if (Date.now() > deadline) {
      const got = clients.map((client) => client.arrivals.length);
      throw new Error(
        `not every client got every message (${Math.min(...got)} to ${Math.max(...got)})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Publishes through the API: one message (`body`) or a batch (a JSON array); the answer. */
export async function publish(
  http: Deno.HttpClient,
  server: PushServer,
  body: string,
  options: { batch?: boolean; channel?: string } = {},
): Promise<unknown> {
  const path = options.batch ? "/api/publish/batch" : "/api/publish";
  const query = options.channel === undefined ? "" : `?channel=${options.channel}`;
  const response = await fetch(`https://localhost:${server.webPort}${path}${query}`, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
    client: http,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Percentile `p` (0..1) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Fan-out figures in ms: every delivery (p50, p99), and the last client of each message. */
export interface FanOutFigures {
  p50: number;
  p99: number;
  lastP50: number;
  lastP99: number;
}

/**
 * Publishes `messages` (after `warmUp` more) through `publishOne`, 100 ms apart, and measures
 * from each request until each client has the frame.
 */
export async function measureFanOut(
  clients: CountingClient[],
  publishOne: (index: number) => Promise<unknown>,
  messages: number,
  warmUp = 3,
): Promise<FanOutFigures> {
  const before = clients.map((client) => client.arrivals.length);
  const sentAt: number[] = [];
  for (let m = 0; m < warmUp + messages; m++) {
    sentAt.push(performance.now());
    await publishOne(m);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await untilEveryClientHas(clients, (i) => before[i] + warmUp + messages);
  const each: number[] = [];
  const last: number[] = [];
  for (let m = warmUp; m < warmUp + messages; m++) {
    const latencies = clients.map((client, i) => client.arrivals[before[i] + m] - sentAt[m]);
    each.push(...latencies);
    last.push(Math.max(...latencies));
  }
  return {
    p50: percentile(each, 0.5),
    p99: percentile(each, 0.99),
    lastP50: percentile(last, 0.5),
    lastP99: percentile(last, 0.99),
  };
}
