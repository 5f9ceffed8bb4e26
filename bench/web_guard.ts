/**
 * What the web port's guard (issue 15, `web/connection_guard.ts`) costs in HTTP and WebSocket
 * throughput: the same server with the guard off (run without `--allow-ffi`, so the reaper, and
 * with it the guard, is unavailable: the web port as it was before) and on, alternating rounds
 * in one session, server pinned to CPU 0 (`taskset`), this process the client. Each round:
 * - HTTP: `--connections` HTTP/1.1 keep-alive connections, each doing GET requests back to back
 *   (a 404: the smallest answer, so the per-request cost of `admit` weighs most);
 * - WebSocket: as many `/ws` clients, each keeping `--in-flight` 64-byte messages in flight;
 * and both again with `--idle` handshaken TLS clients held open on the TLS port, so that every
 * sweep walks that many more descriptors. Last, the guard's own work timed in this process: a
 * sweep with 1 and with `--idle` sockets, and an `admit` (throughput on a shared machine moves
 * more between rounds than the guard can cost).
 *
 * `deno run -A bench/web_guard.ts [--seconds 4] [--rounds 2] [--idle 2000]`; prints a markdown
 * table (median of the rounds) and writes bench/results/web_guard.json.
 *
 * @example
 * ```ts
 * // deno run -A bench/web_guard.ts --seconds 4 --rounds 2 --idle 2000
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { makeCerts } from "./lib/certs.ts";
import { pinned } from "./lib/exec.ts";
import { SERVER_CPU } from "./lib/server_process.ts";
import { BackgroundProgram, SERVER_PERMISSIONS } from "../tests/processes.ts";
import { ConnectionBudget } from "../hub/connection_budget.ts";
import { Logger } from "../util/logger.ts";
import { SocketReaper } from "../util/socket_reaper.ts";
import { ConnectionGuard } from "../web/connection_guard.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    idle: { type: "string", default: "2000" },
    connections: { type: "string", default: "16" },
    "in-flight": { type: "string", default: "32" },
    out: { type: "string", default: new URL("results/web_guard.json", import.meta.url).pathname },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const IDLE = Number(values.idle);
const CONNECTIONS = Number(values.connections);
const IN_FLIGHT = Number(values["in-flight"]);
const MESSAGE = "x".repeat(64);

type Guard = "off" | "on";

/** A server process and its two ports. */
interface Server {
  program: BackgroundProgram;
  tlsPort: number;
  webPort: number;
}

async function startServer(guard: Guard, cert: string, key: string): Promise<Server> {
  const permissions = SERVER_PERMISSIONS.filter((flag) => guard === "on" || flag !== "--allow-ffi");
  const argv = [
    Deno.execPath(),
    "run",
    ...permissions,
    "server.ts",
    ...["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0", "--cert", cert, "--key", key],
    "--max-connections",
    "0",
  ];
  const program = new BackgroundProgram(["bash", ...pinned(SERVER_CPU, argv)]);
  const port = async (pattern: RegExp) =>
    Number((await program.waitForLine(pattern)).match(pattern)![1]);
  return {
    program,
    tlsPort: await port(/^\S+ listening on 127\.0\.0\.1:(\d+)/),
    webPort: await port(/wss listening on 127\.0\.0\.1:(\d+)/),
  };
}

/** Requests per second over `CONNECTIONS` keep-alive HTTP/1.1 connections. */
async function httpRate(port: number, ca: string): Promise<number> {
  const clients = Array.from(
    { length: CONNECTIONS },
    () => Deno.createHttpClient({ caCerts: [ca], http2: false, poolMaxIdlePerHost: 1 }),
  );
  const url = `https://localhost:${port}/no-such-page`;
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < end) {
      await (await fetch(url, { client })).body?.cancel();
      done++;
    }
  }));
  const rate = done / ((performance.now() - started) / 1000);
  for (const client of clients) client.close();
  return rate;
}

/** Echoed messages per second over `CONNECTIONS` WebSockets with `IN_FLIGHT` each. */
async function webSocketRate(port: number, ca: string): Promise<number> {
  const client = Deno.createHttpClient({ caCerts: [ca] });
  let echoed = 0;
  let stop = false;
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`wss://localhost:${port}/ws`, { client });
        socket.onopen = () => resolve(socket);
        socket.onerror = () => reject(new Error("WebSocket failed"));
      })),
  );
  const started = performance.now();
  for (const socket of sockets) {
    socket.onmessage = () => {
      echoed++;
      if (!stop) socket.send(MESSAGE);
    };
    for (let i = 0; i < IN_FLIGHT; i++) socket.send(MESSAGE);
  }
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  stop = true;
  const rate = echoed / ((performance.now() - started) / 1000);
  await Promise.all(sockets.map((socket) =>
    new Promise((resolve) => {
      socket.onclose = resolve;
      socket.close();
    })
  ));
  client.close();
  return rate;
}

/**
 * Waits until a request is answered within 50 ms (at most 30 s): closing thousands of TLS
 * clients at once was seen to stall the next requests for seconds, which is not the guard's.
 */
async function settle(port: number, ca: string): Promise<void> {
  const client = Deno.createHttpClient({ caCerts: [ca], http2: false });
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const started = performance.now();
    await (await fetch(`https://localhost:${port}/no-such-page`, { client })).body?.cancel();
    if (performance.now() - started < 50) break;
  }
  client.close();
}

/** `count` TLS clients that finish their handshake and then stay idle. */
async function idleClients(port: number, ca: string, count: number): Promise<Deno.TlsConn[]> {
  const conns: Deno.TlsConn[] = [];
  for (let done = 0; done < count; done += 100) {
    conns.push(
      ...await Promise.all(Array.from({ length: Math.min(100, count - done) }, async () => {
        const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca] });
        await conn.handshake();
        return conn;
      })),
    );
  }
  return conns;
}

/**
 * The guard's own work, apart from the noise of throughput runs: one sweep of this process's
 * descriptors with `count` accepted sockets on the swept port (as many client ends on others),
 * and one `admit` of a request, each timed over many calls; in microseconds.
 */
async function guardWork(count: number): Promise<{ sweepUs: number; admitUs: number }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const clients: Deno.Conn[] = [];
  for (let done = 0; done < count; done += 100) {
    const batch = Math.min(100, count - done);
    const accepting = (async () => {
      for (let i = 0; i < batch; i++) accepted.push(await listener.accept()); // one at a time
    })();
    clients.push(
      ...await Promise.all(
        Array.from(
          { length: batch },
          () => Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
        ),
      ),
    );
    await accepting;
  }
  const reaper = new SocketReaper();
  const logger = new Logger({ write: () => {} });
  const guard = new ConnectionGuard({
    port: listener.addr.port,
    reaper,
    budget: new ConnectionBudget(0, logger),
    logger,
    timeouts: { handshakeMs: 3_600_000, requestMs: 3_600_000, keepAliveMs: 3_600_000 },
  });
  const sweeps = 50;
  let started = performance.now();
  for (let i = 0; i < sweeps; i++) guard.sweep();
  const sweepUs = (performance.now() - started) * 1000 / sweeps;
  const info = {
    remoteAddr: clients[0].localAddr,
    completed: Promise.resolve(),
  } as Deno.ServeHandlerInfo;
  const admits = 100_000;
  started = performance.now();
  for (let i = 0; i < admits; i++) guard.admit(info);
  const admitUs = (performance.now() - started) * 1000 / admits;
  guard.close();
  for (const conn of [...accepted, ...clients]) conn.close();
  listener.close();
  return { sweepUs, admitUs };
}

const dir = await Deno.makeTempDir({ prefix: "tlspush-bench-web-" });
const certs = await makeCerts(dir);
const ca = await Deno.readTextFile(certs.ca);
const rows = ["HTTP requests/s", "WebSocket echoes/s"].flatMap((what) => [
  what,
  `${what}, ${IDLE} idle TLS clients`,
]);
const figures: Record<string, Record<Guard, number[]>> = Object.fromEntries(
  rows.map((row) => [row, { off: [], on: [] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const guard of ["off", "on"] as const) {
    const server = await startServer(guard, certs.cert, certs.key);
    for (const idle of [0, IDLE]) {
      const conns = await idleClients(server.tlsPort, ca, idle);
      await settle(server.webPort, ca);
      const suffix = idle ? `, ${IDLE} idle TLS clients` : "";
      figures[`HTTP requests/s${suffix}`][guard].push(await httpRate(server.webPort, ca));
      figures[`WebSocket echoes/s${suffix}`][guard].push(await webSocketRate(server.webPort, ca));
      for (const conn of conns) conn.close();
      await settle(server.webPort, ca);
      console.error(`round ${round + 1}, guard ${guard}, ${idle} idle: done`);
    }
    server.program.kill("SIGTERM");
    await server.program.exited();
  }
}
await Deno.remove(dir, { recursive: true });

const median = (list: number[]) => [...list].sort((a, b) => a - b)[list.length >> 1];
const format = (value: number) => Math.round(value).toLocaleString("en-US");
const results: Record<string, { off: number; on: number; ratio: number; rounds: unknown }> = {};
if (ROUNDS > 0) {
  console.log("| workload | guard off | guard on | on / off |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const row of rows) {
    const off = median(figures[row].off);
    const on = median(figures[row].on);
    results[row] = { off, on, ratio: on / off, rounds: figures[row] };
    console.log(`| ${row} | ${format(off)} | ${format(on)} | ${(on / off).toFixed(2)} |`);
  }
}
const work = { none: await guardWork(1), idle: await guardWork(IDLE) };
console.log(
  `\nThe guard's own work: one sweep ${work.none.sweepUs.toFixed(0)} µs with 1 socket, ` +
    `${work.idle.sweepUs.toFixed(0)} µs with ${IDLE} (and as many other descriptors); ` +
    `one admit ${work.idle.admitUs.toFixed(2)} µs a request.`,
);
await Deno.writeTextFile(
  values.out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      inFlight: IN_FLIGHT,
      results,
      guardWork: work,
    },
    null,
    2,
  ) + "\n",
);
