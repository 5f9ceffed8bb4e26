/**
 * Hostile peers against a real server process (issue 3, item 8): TCP that never starts TLS, a
 * ClientHello and then silence, garbage instead of TLS, a header claiming 2 GiB, a negative
 * length, invalid UTF-8 and a frame cut mid-way. Each is logged and closed (the peer sees the
 * end of its connection within a bounded wait), the server keeps serving, and over a couple of
 * hundred attempts its memory and its open file descriptors stay flat.
 *
 * The server runs in its own process so that /proc/PID/status (VmRSS) and /proc/PID/fd describe
 * the server alone.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { header, prng } from "./helpers.ts";
import { MeasuredServer } from "./processes.ts";
import {
  captureClientHello,
  decodeFrames,
  echoOnce,
  END_WAIT_MS,
  type Ending,
  readToEnd,
} from "./raw_socket.ts";
import { connectToServer } from "../client/connect.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { closeQuietly, writeAll } from "../util/net.ts";

/** One hostile attempt: what it did, its local port, and the log line that must name it. */
interface Attempt {
  kind: string;
  port: number;
  ending: Ending;
  logPattern: RegExp;
  /** What else must hold about the bytes the server sent back, if anything. */
  check?: () => void;
}

type Kind = (target: Target) => Promise<Attempt>;

const escapePort = (port: number) => `127\\.0\\.0\\.1:${port}`;

interface Target {
  port: number;
  caFile: string;
  hello: Uint8Array;
  random: () => number;
  handshakeSeconds: string;
}

/** Opens TCP and says nothing at all. */
async function silentTcp(target: Target): Promise<Attempt> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
  const port = (conn.localAddr as Deno.NetAddr).port;
  const { ending } = await readToEnd(conn);
  closeQuietly(conn);
  return {
    kind: "TCP that never starts TLS",
    port,
    ending,
    logPattern: new RegExp(
      `TLS handshake with ${escapePort(port)} not completed within ` +
        `${target.handshakeSeconds} s: dropped`,
    ),
  };
}

/** Sends a genuine ClientHello, reads the server's answer, and then stays silent. */
async function helloThenSilence(target: Target): Promise<Attempt> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
  const port = (conn.localAddr as Deno.NetAddr).port;
  await writeAll(conn, target.hello);
  const { ending, bytes } = await readToEnd(conn);
  closeQuietly(conn);
  return {
    kind: "a ClientHello then silence",
    port,
    ending,
    logPattern: new RegExp(
      `TLS handshake with ${escapePort(port)} not completed within ` +
        `${target.handshakeSeconds} s: dropped`,
    ),
    // The server did answer the hello (a ServerHello record) before giving up on the peer.
    check: () => assertEquals(bytes[0], 0x16, "a TLS handshake record came back"),
  };
}

/** Sends an HTTP request and random bytes where TLS was expected. */
async function garbage(target: Target): Promise<Attempt> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
  const port = (conn.localAddr as Deno.NetAddr).port;
  const noise = Uint8Array.from({ length: 2048 }, () => Math.floor(target.random() * 256));
  const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  await writeAll(conn, concatBytes([request, noise])).catch(() => {}); // it may hang up first
  const { ending } = await readToEnd(conn);
  closeQuietly(conn);
  return {
    kind: "garbage instead of TLS",
    port,
    ending,
    logPattern: new RegExp(`TLS handshake with ${escapePort(port)} failed: `),
  };
}

/**
 * Completes TLS, sends one valid frame followed by `bad`, then (for a cut frame) half-closes.
 * The valid frame's echo must come back, and then the end of the stream.
 */
function afterHandshake(
  kind: string,
  bad: Uint8Array,
  reason: RegExp,
  halfClose = false,
): (target: Target) => Promise<Attempt> {
  return async (target) => {
    const conn = await connectToServer({
      hostname: "localhost",
      port: target.port,
      caFile: target.caFile,
    });
    const port = (conn.localAddr as Deno.NetAddr).port;
    const hello = `before ${kind}`;
    await writeAll(conn, concatBytes([encodeFrame(hello), bad]));
    if (halfClose) await conn.closeWrite();
    const { ending, bytes } = await readToEnd(conn);
    closeQuietly(conn);
    return {
      kind,
      port,
      ending,
      logPattern: new RegExp(
        `error: client #\\d+ ${escapePort(port)}: protocol error: .*${reason.source}`,
      ),
      check: () => assertEquals(decodeFrames(bytes), [hello], "the frame before the bad one"),
    };
  };
}

/** Every kind of hostile peer, each with what it does. */
const HOSTILE_KINDS: Kind[] = [
  silentTcp,
  helloThenSilence,
  garbage,
  afterHandshake("a header claiming 2 GiB", header(0x7fff_ffff), /exceeds the maximum/),
  afterHandshake("a negative length", header(-1), /negative frame length -1/),
  afterHandshake(
    "invalid UTF-8",
    concatBytes([header(4), new Uint8Array([0x66, 0xff, 0xc3, 0x28])]),
    /not valid UTF-8/,
  ),
  afterHandshake(
    "a frame cut mid-way",
    concatBytes([header(1000), new TextEncoder().encode("only the first part")]),
    /ended in the middle of a frame/,
    true,
  ),
];

/** Rounds measured after one warm-up round; each runs every kind this many times at once. */
const ROUNDS = 6;
const PER_KIND = 6;

Deno.test(
  `hostile peers (silent TCP, ClientHello then silence, garbage, 2 GiB header, negative length, ` +
    `invalid UTF-8, cut frame), ${HOSTILE_KINDS.length} kinds x ${PER_KIND} x ${ROUNDS} rounds: ` +
    `each logged and closed; the server keeps serving in flat memory with no leaked sockets`,
  () => hostileRounds(HOSTILE_KINDS),
);

/**
 * Starts a server process, runs one warm-up round and {@link ROUNDS} measured rounds of every
 * kind {@link PER_KIND} times at once, and checks each attempt, the server's health, its
 * memory and its file descriptors.
 */
async function hostileRounds(kinds: Kind[]): Promise<void> {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-hostile-" });
  const handshakeSeconds = "0.5";
  const server = await MeasuredServer.start([
    "--certs-dir",
    certsDir,
    "--no-ws",
    "--handshake-timeout",
    handshakeSeconds,
  ]);
  const caFile = `${certsDir}/ca.pem`;
  const target: Target = {
    port: server.port,
    caFile,
    hello: await captureClientHello(caFile),
    random: prng(0x4057113),
    handshakeSeconds,
  };

  const runRound = async () => {
    const logStart = server.stdout.length;
    const attempts = await Promise.all(
      kinds.flatMap((kind) => Array.from({ length: PER_KIND }, () => kind(target))),
    );
    for (const attempt of attempts) {
      assert(
        attempt.ending !== "still open",
        `${attempt.kind}: the server did not close the connection within ${END_WAIT_MS} ms`,
      );
      attempt.check?.();
      await server.waitForLine(attempt.logPattern, 10_000).catch(() => {
        throw new Error(
          `${attempt.kind} (port ${attempt.port}) not logged as ${attempt.logPattern}:\n` +
            server.stdout.slice(logStart).join("\n"),
        );
      });
      assert(
        server.stdout.slice(logStart).some((line) => attempt.logPattern.test(line)),
        `${attempt.kind}: logged in this round`,
      );
    }
    await echoOnce(server.port, caFile, "the server still serves");
    return attempts.length;
  };

  await runRound(); // warm-up: code paths compiled, buffers and caches at their working size
  const before = { rss: await server.rssKiB(), fds: await server.openFds() };
  let attempts = 0;
  for (let round = 0; round < ROUNDS; round++) attempts += await runRound();
  // Sockets are closed when the log says so; give the last ones a moment to be released.
  let fdsAfter = await server.openFds();
  for (let i = 0; i < 40 && fdsAfter > before.fds + 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    fdsAfter = await server.openFds();
  }
  const after = { rss: await server.rssKiB(), fds: fdsAfter };

  assertEquals(attempts, kinds.length * PER_KIND * ROUNDS);
  const growthMiB = (after.rss - before.rss) / 1024;
  assert(
    growthMiB < 50,
    `VmRSS grew ${growthMiB.toFixed(1)} MiB over ${attempts} hostile attempts ` +
      `(${before.rss} KiB -> ${after.rss} KiB)`,
  );
  assert(
    after.fds <= before.fds + 2,
    `open file descriptors went from ${before.fds} to ${after.fds}: sockets are leaking`,
  );
  const crashes = [...server.stdout, ...server.stderr].filter((line) =>
    /uncaught|panic|Stack backtrace/i.test(line)
  );
  assertEquals(crashes, [], "nothing crashed");
  await echoOnce(server.port, caFile, "still serving after every round");

  const status = await server.stop();
  assertEquals(status.code, 0, server.stderr.join("\n"));
  await Deno.remove(certsDir, { recursive: true });
}
