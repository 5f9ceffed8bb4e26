/**
 * The HTTPS/WebSocket port's defences (issue 15, `web/connection_guard.ts`), against a real
 * server process over real sockets on 127.0.0.1: thousands of silent TCP connections and
 * half-ClientHellos are closed within `--handshake-timeout` plus a margin while a TLS client and
 * a WebSocket client still connect and echo, and the server's descriptors come back to their
 * level before; a request head or body that trickles in is cut off; an idle keep-alive
 * connection is closed; a WebSocket is kept. The only timings asserted are generous upper bounds.
 * First, the guard's rules alone, with a fake socket table and clock.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { MeasuredServer, output } from "./processes.ts";
import { captureClientHello, echoOnce, type Ending, readToEnd } from "./raw_socket.ts";
import { ConnectionBudget } from "../hub/connection_budget.ts";
import { ConnectRate } from "../hub/connect_rate.ts";
import { Logger } from "../util/logger.ts";
import { closeQuietly } from "../util/net.ts";
import { ConnectionGuard } from "../web/connection_guard.ts";

/** The sockets a fake sweep reports (peer port on 127.0.0.1), and those it was told to shut. */
class FakeSockets {
  readonly open = new Set<number>();
  readonly shut: number[] = [];
  readonly available = true;
  sweep(_port: number, visit: (peer: string, fd: number) => boolean): void {
    for (const port of this.open) {
      if (visit(`127.0.0.1:${port}`, port)) {
        this.shut.push(port);
        this.open.delete(port); // the server then closes it
      }
    }
  }
}

/**
 * A guard over fake sockets, a fake clock, a budget of `limit` and a log kept in memory, with
 * `connectRate` new connections per address per second when given.
 */
function fakeGuard(limit = 0, connectRate?: number) {
  const sockets = new FakeSockets();
  const clock = { now: 0 };
  const log: string[] = [];
  const logger = new Logger({ write: (line) => log.push(line) });
  const budget = new ConnectionBudget(limit, logger);
  const rate = connectRate === undefined
    ? undefined
    : new ConnectRate(connectRate, logger, undefined, () => clock.now);
  const guard = new ConnectionGuard({
    connectRate: rate,
    port: 9003,
    reaper: sockets,
    budget,
    logger,
    timeouts: { handshakeMs: 1000, requestMs: 2000, keepAliveMs: 3000 },
    now: () => clock.now,
  });
  /** A request from peer `port`; `done()` sends its answer. */
  const request = (port: number) => {
    const completed = Promise.withResolvers<void>();
    const info = {
      remoteAddr: { transport: "tcp", hostname: "::ffff:127.0.0.1", port },
      completed: completed.promise,
    } as Deno.ServeHandlerInfo;
    return { admission: guard.admit(info), done: () => completed.resolve() };
  };
  return { sockets, clock, log, budget, guard, request };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("guard: a socket without a request is shut down after the handshake timeout, not before", () => {
  const { sockets, clock, log, budget, guard } = fakeGuard();
  sockets.open.add(1).add(2);
  guard.sweep();
  assertEquals(budget.used, 2, "both counted from first sight");
  clock.now = 1000;
  guard.sweep();
  assertEquals(sockets.shut, [], "not before the limit");
  clock.now = 1001;
  guard.sweep();
  assertEquals(sockets.shut, [1, 2]);
  assertEquals(budget.used, 0, "their places are back");
  assertEquals(log.length, 1, "one line for the sweep, not one a socket");
  assert(
    /dropped 2 connections that sent no complete request within --handshake-timeout 1 s/.test(
      log[0],
    ),
  );
  guard.close();
});

Deno.test("guard: a request under way too long is cut off; an idle keep-alive connection is closed", async () => {
  const { sockets, clock, log, guard, request } = fakeGuard();
  sockets.open.add(1).add(2);
  guard.sweep();
  const slow = request(1); // its body trickles in: the answer never goes
  const quick = request(2);
  quick.done();
  await tick();
  clock.now = 2000;
  guard.sweep();
  assertEquals(sockets.shut, [], "both within their limits");
  clock.now = 2001;
  guard.sweep();
  assertEquals(sockets.shut, [1], "the request over --request-timeout");
  assert(/did not complete a request within --request-timeout 2 s/.test(log.at(-1)!));
  clock.now = 3000;
  guard.sweep();
  assertEquals(sockets.shut, [1], "idle 3000 ms: not over the keep-alive limit");
  clock.now = 3001;
  guard.sweep();
  assertEquals(sockets.shut, [1, 2], "idle past --keepalive-timeout");
  assertEquals(log.length, 1, "routine keep-alive closes are not logged");
  slow.done();
  guard.close();
});

Deno.test("guard: a WebSocket is exempt and gives its place back when it closes", () => {
  const { sockets, clock, budget, guard, request } = fakeGuard();
  sockets.open.add(1);
  const { admission } = request(1);
  assert(!("refused" in admission), "admitted");
  const slot = admission.webSocket();
  assert(slot, "the connection's slot");
  clock.now = 60_000;
  guard.sweep();
  assertEquals(sockets.shut, [], "kept, however long");
  assertEquals(budget.used, 1);
  slot.release();
  assertEquals(budget.used, 0, "given back at once");
  guard.close();
});

Deno.test("guard: over the budget a new socket is shut at once and a request is refused", () => {
  const { sockets, log, budget, guard, request } = fakeGuard(1);
  sockets.open.add(1).add(2);
  guard.sweep();
  assertEquals(sockets.shut, [2]);
  assertEquals(budget.used, 1);
  assertEquals(request(3).admission, { refused: "budget" }, "answered 503");
  assertEquals(
    log.filter((line) => line.includes("refused web connection")).length,
    1,
    "one burst",
  );
  sockets.open.delete(1); // closed by its peer
  guard.sweep();
  assertEquals(budget.used, 0, "a socket gone gives its place back");
  assert(!("refused" in request(4).admission), "room again");
  guard.close();
});

Deno.test("guard: --connect-rate counts every new web connection at first sight, not only upgrades", () => {
  const { sockets, clock, log, budget, guard, request } = fakeGuard(0, 2);
  sockets.open.add(1).add(2).add(3).add(4);
  guard.sweep();
  assertEquals(sockets.shut, [3, 4], "two a second from 127.0.0.1; the others shut");
  assertEquals(budget.used, 2);
  assertEquals(request(5).admission, { refused: "rate" }, "a request on a new one: 429");
  assertEquals(log.filter((line) => line.includes("127.0.0.1")).length, 1, "logged once");
  clock.now = 1000;
  assert(!("refused" in request(6).admission), "a second later, let in");
  guard.close();
});

/** Slack on top of a limit before a socket counts as not closed (a shared, busy machine). */
const MARGIN_MS = 20_000;
const SILENT = 2000;
const HALF_HELLOS = 200;
const encoder = new TextEncoder();

/** How a raw connection ended, and how long after it was opened. */
interface Watched {
  ending: Ending;
  ms: number;
}

/** Reads `conn` until the server ends it, for at most `waitMs`. */
async function watch(conn: Deno.Conn, openedAt: number, waitMs: number): Promise<Watched> {
  const { ending } = await readToEnd(conn, waitMs);
  const ms = performance.now() - openedAt;
  closeQuietly(conn);
  return { ending, ms };
}

/** Opens `count` TCP connections to `port`, 100 at a time, each then sent `first` (if any). */
async function openMany(
  port: number,
  count: number,
  waitMs: number,
  first?: Uint8Array,
): Promise<Promise<Watched>[]> {
  const watched: Promise<Watched>[] = [];
  for (let done = 0; done < count; done += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - done) }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        const openedAt = performance.now();
        if (first) await conn.write(first);
        return { watching: watch(conn, openedAt, waitMs) }; // not awaited here: all at once
      }),
    );
    watched.push(...batch.map((opened) => opened.watching));
  }
  return watched;
}

/** A WebSocket client (the browser's API) of `/ws`: connects, sends `text`, gets its echo. */
async function webSocketEcho(port: number, caFile: string, text: string): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
  const socket = new WebSocket(`wss://localhost:${port}/ws`, { client });
  const closed = new Promise((resolve) => socket.onclose = resolve);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send(text);
      socket.onmessage = (event) => resolve(String(event.data));
      socket.onerror = (event) => reject(new Error((event as ErrorEvent).message));
      timer = setTimeout(() => reject(new Error(`no echo within ${MARGIN_MS} ms`)), MARGIN_MS);
    });
  } finally {
    clearTimeout(timer);
    socket.close();
    await closed;
    client.close();
  }
}

/** A WebSocket that stays open: send to it later, or close it. */
async function openWebSocket(port: number, caFile: string) {
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
  const socket = new WebSocket(`wss://localhost:${port}/ws`, { client });
  const received: string[] = [];
  let closedByServer = false;
  socket.onmessage = (event) => received.push(String(event.data));
  const closed = new Promise((resolve) => socket.onclose = resolve).then(() => {
    closedByServer = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = (event) => reject(new Error((event as ErrorEvent).message));
  });
  return {
    get closedByServer(): boolean {
      return closedByServer;
    },
    async echo(text: string): Promise<string> {
      const count = received.length;
      socket.send(text);
      for (let i = 0; i < 200 && received.length === count; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return received[count];
    },
    async close(): Promise<void> {
      socket.close();
      await closed;
      client.close();
    },
  };
}

/** Waits until the server's descriptors are back to `level` (+2), for at most 20 s. */
async function fdsSettle(server: MeasuredServer, level: number): Promise<number> {
  let fds = await server.openFds();
  for (let i = 0; i < 100 && fds > level + 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    fds = await server.openFds();
  }
  return fds;
}

/** The server's descriptors once two readings 200 ms apart agree (at most 5 s). */
async function steadyFds(server: MeasuredServer): Promise<number> {
  let previous = -1;
  let fds = await server.openFds();
  for (let i = 0; i < 25 && fds !== previous; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    previous = fds;
    fds = await server.openFds();
  }
  return fds;
}

/** Sum of N over the server's `web port: dropped N connections that ...` lines matching `why`. */
function droppedCount(server: MeasuredServer, why: RegExp): number {
  let total = 0;
  for (const line of server.stdout) {
    const match = line.match(/web port: dropped (\d+) connections? that (.*)/);
    if (match && why.test(match[2])) total += Number(match[1]);
  }
  return total;
}

Deno.test(
  `the web port closes ${SILENT} silent TCP connections and ${HALF_HELLOS} half-ClientHellos ` +
    `within --handshake-timeout + margin, TLS and WebSocket clients still echo meanwhile, and ` +
    `the server's descriptors come back`,
  async () => {
    const limit = Number((await output("bash", ["-c", "ulimit -n"])).trim());
    assert(limit >= SILENT + HALF_HELLOS + 400, `ulimit -n is ${limit}: raise it to run this`);
    const certsDir = await Deno.makeTempDir({ prefix: "tlspush-guard-" });
    const handshakeS = 2;
    const server = await MeasuredServer.start([
      "--certs-dir",
      certsDir,
      "--handshake-timeout",
      String(handshakeS),
    ]);
    const webPort = await server.webPort();
    const caFile = `${certsDir}/ca.pem`;
    const hello = await captureClientHello(caFile);
    // Warm up both ports, so that what is counted after is the flood's, not first-use caches.
    await echoOnce(server.port, caFile, "warm-up");
    assertEquals(await webSocketEcho(webPort, caFile, "warm-up"), "warm-up");
    const fdsBefore = await steadyFds(server);

    const waitMs = handshakeS * 1000 + MARGIN_MS;
    const started = performance.now();
    const silent = await openMany(webPort, SILENT, waitMs);
    const halves = await openMany(
      webPort,
      HALF_HELLOS,
      waitMs,
      hello.subarray(0, hello.length >> 1),
    );
    const openedMs = performance.now() - started;
    const fdsPeak = await server.openFds();
    // Meanwhile, well-behaved clients of both ports are served.
    await echoOnce(server.port, caFile, "TLS during the flood");
    assertEquals(
      await webSocketEcho(webPort, caFile, "ws during the flood"),
      "ws during the flood",
    );

    const results = await Promise.all([...silent, ...halves]);
    const open = results.filter((result) => result.ending === "still open").length;
    const slowestMs = Math.max(...results.map((result) => result.ms));
    const fdsAfter = await fdsSettle(server, fdsBefore);
    console.log(
      `opened ${results.length} (${SILENT} silent, ${HALF_HELLOS} half-ClientHellos) in ` +
        `${(openedMs / 1000).toFixed(1)} s; closed by the server: ${results.length - open}, ` +
        `slowest after ${(slowestMs / 1000).toFixed(1)} s (--handshake-timeout ${handshakeS} s); ` +
        `server descriptors ${fdsBefore} before, ${fdsPeak} at the peak, ${fdsAfter} after`,
    );
    assertEquals(open, 0, `${open} connections still open after ${waitMs} ms`);
    assert(fdsPeak > fdsBefore + SILENT / 2, `the flood was accepted (${fdsPeak} descriptors)`);
    assert(fdsAfter <= fdsBefore + 2, `descriptors went from ${fdsBefore} to ${fdsAfter}`);
    assertEquals(
      droppedCount(server, /no complete request within --handshake-timeout 2 s/),
      SILENT + HALF_HELLOS,
      "every one logged, in a line per sweep",
    );
    await echoOnce(server.port, caFile, "TLS after the flood");
    assertEquals(await webSocketEcho(webPort, caFile, "ws after"), "ws after");
    const crashes = [...server.stdout, ...server.stderr].filter((line) =>
      /uncaught|panic|Stack backtrace/i.test(line)
    );
    assertEquals(crashes, [], "nothing crashed");
    assertEquals((await server.stop()).code, 0, server.stderr.join("\n"));
    await Deno.remove(certsDir, { recursive: true });
  },
);

/** A TLS connection to the web port that has sent `head` (and nothing else yet). */
async function webConnection(port: number, caFile: string, head: string): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [await Deno.readTextFile(caFile)],
  });
  await conn.handshake();
  await conn.write(encoder.encode(head));
  return conn;
}

/** Writes `byte` every 200 ms (at most `count` times) until the connection breaks. */
async function trickle(conn: Deno.Conn, byte: string, count: number): Promise<number> {
  let sent = 0;
  for (; sent < count; sent++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      await conn.write(encoder.encode(byte));
    } catch {
      break; // cut off
    }
  }
  return sent;
}

Deno.test(
  "the web port cuts off a request head or body that trickles in, closes an idle keep-alive " +
    "connection, and keeps an idle WebSocket",
  async () => {
    const certsDir = await Deno.makeTempDir({ prefix: "tlspush-guard-" });
    const token = "publish-token-0123456789";
    const server = await MeasuredServer.start([
      "--certs-dir",
      certsDir,
      "--handshake-timeout",
      "1",
      "--request-timeout",
      "1.5",
      "--keepalive-timeout",
      "1",
      "--publish-token",
      token,
    ]);
    const port = await server.webPort();
    const caFile = `${certsDir}/ca.pem`;
    const waitMs = 1500 + MARGIN_MS;
    const fdsBefore = await steadyFds(server);
    const webSocket = await openWebSocket(port, caFile);

    // Slowloris, the head: a header byte every 200 ms (bounded: 30 s at most).
    const head = await webConnection(port, caFile, "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: ");
    const headEnd = readToEnd(head, waitMs);
    const headBytes = await trickle(head, "a", 150);
    // ...and the body: an announced 1,000 bytes, one every 200 ms.
    const body = await webConnection(
      port,
      caFile,
      `POST /api/publish HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        "Content-Length: 1000\r\n\r\n",
    );
    const bodyEnd = readToEnd(body, waitMs);
    const bodyBytes = await trickle(body, "b", 150);
    // Keep-alive: one complete request, its answer, then nothing.
    const idle = await webConnection(port, caFile, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const idleEnd = await readToEnd(idle, waitMs);

    assert((await headEnd).ending !== "still open", "the trickled head was cut off");
    assert(headBytes < 150, `cut off while trickling (${headBytes} bytes sent)`);
    const bodyEnding = await bodyEnd;
    assert(bodyEnding.ending !== "still open", "the trickled body was cut off");
    assert(bodyBytes < 150, `cut off while trickling (${bodyBytes} bytes sent)`);
    assert(
      !new TextDecoder().decode(bodyEnding.bytes).startsWith("HTTP/1.1 200"),
      "nothing was published",
    );
    assert(idleEnd.ending !== "still open", "the idle keep-alive connection was closed");
    assert(new TextDecoder().decode(idleEnd.bytes).startsWith("HTTP/1.1 200"), "it was answered");
    for (const conn of [head, body, idle]) closeQuietly(conn);
    assert(droppedCount(server, /no complete request within --handshake-timeout 1 s/) >= 1);
    assert(droppedCount(server, /did not complete a request within --request-timeout 1.5 s/) >= 1);

    // The WebSocket outlived every one of those limits and still echoes.
    assert(!webSocket.closedByServer, "the WebSocket is still open");
    assertEquals(await webSocket.echo("still here"), "still here");
    await webSocket.close();
    const fdsAfter = await fdsSettle(server, fdsBefore);
    assert(fdsAfter <= fdsBefore + 2, `descriptors went from ${fdsBefore} to ${fdsAfter}`);
    assertEquals((await server.stop()).code, 0, server.stderr.join("\n"));
    await Deno.remove(certsDir, { recursive: true });
  },
);
