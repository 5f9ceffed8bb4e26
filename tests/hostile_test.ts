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
import { BackgroundProgram, SERVER_PERMISSIONS } from "./processes.ts";
import { connectToServer } from "../client/connect.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import { closeQuietly, writeAll } from "../util/net.ts";

/** Longest a hostile peer waits to see its connection end. */
const END_WAIT_MS = 10_000;

/** What a raw connection saw at its end. */
type Ending = "eof" | "reset" | "still open";

/** Reads (and keeps) everything until the server ends the connection or `waitMs` passes. */
async function readToEnd(
  conn: Deno.Conn,
  waitMs = END_WAIT_MS,
): Promise<{ ending: Ending; bytes: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"still open">((resolve) => {
    timer = setTimeout(() => resolve("still open"), waitMs);
  });
  const reading = (async (): Promise<Ending> => {
    const buffer = new Uint8Array(16 * 1024);
    for (let reads = 0; reads < 10_000; reads++) {
      try {
        const count = await conn.read(buffer);
        if (count === null) return "eof";
        chunks.push(buffer.slice(0, count));
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return "still open"; // we closed it
        return "reset"; // ConnectionReset, UnexpectedEof, a TLS alert...
      }
    }
    return "still open";
  })();
  const ending = await Promise.race([reading, expired]);
  clearTimeout(timer);
  if (ending === "still open") {
    try {
      conn.close(); // ends the pending read
    } catch {
      // closed already
    }
    await reading;
  }
  return { ending, bytes: concatBytes(chunks) };
}

/** A TLS record is complete once its 5-byte header and the length it announces have arrived. */
function completeRecord(bytes: Uint8Array): number | undefined {
  if (bytes.length < 5) return undefined;
  const size = 5 + ((bytes[3] << 8) | bytes[4]);
  return bytes.length >= size ? size : undefined;
}

/**
 * The first flight of a real Deno (rustls) TLS client: a ClientHello, captured by letting the
 * client talk to a plain TCP listener that reads it and hangs up.
 */
async function captureClientHello(caFile: string): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const tls = await Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [await Deno.readTextFile(caFile)],
  });
  const handshake = tls.handshake().then(() => "completed", (error) => (error as Error).name);
  const raw = await accepted;
  listener.close();
  let received: Uint8Array = new Uint8Array(0);
  for (let reads = 0; reads < 100 && completeRecord(received) === undefined; reads++) {
    const buffer = new Uint8Array(4096);
    const count = await raw.read(buffer);
    if (count === null) break;
    received = concatBytes([received, buffer.subarray(0, count)]);
  }
  raw.close(); // the client's handshake fails on the closed socket, and only then is it closed
  assert((await handshake) !== "completed", "the capture listener never answers");
  tls.close();
  const size = completeRecord(received);
  assert(size !== undefined, "a whole TLS record arrived");
  const hello = received.slice(0, size);
  assertEquals([hello[0], hello[5]], [0x16, 0x01], "a handshake record holding a ClientHello");
  return hello;
}

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

/** A normal client: one message out, its echo back, a clean close. */
async function echoOnce(port: number, caFile: string, message: string): Promise<void> {
  const conn = await connectToServer({ hostname: "localhost", port, caFile });
  await writeAll(conn, encodeFrame(message));
  await conn.closeWrite();
  const { ending, bytes } = await readToEnd(conn);
  closeQuietly(conn);
  assertEquals(ending, "eof", "a clean close after the echo");
  assertEquals(decodeFrames(bytes), [message]);
}

function decodeFrames(bytes: Uint8Array): string[] {
  const decoder = new FrameDecoder({ framing: "le32", maxFrame: 1 << 20 });
  const messages: string[] = [];
  const batch = decoder.push(bytes);
  for (const payload of batch.payloads) messages.push(new TextDecoder().decode(payload));
  if (batch.error) throw batch.error;
  decoder.finish();
  return messages;
}

/**
 * The server program started through `bash -c 'echo pid $$; exec deno run ...'`, so that its
 * PID is known, with its VmRSS and open descriptors read by `cat` and `ls` (Deno itself may
 * read /proc only with --allow-all).
 */
class MeasuredServer extends BackgroundProgram {
  pid = 0;
  port = 0;

  /** Starts `server.ts` on 127.0.0.1 with a free port and waits until it listens. */
  static async start(args: string[]): Promise<MeasuredServer> {
    const server = new MeasuredServer([
      "bash",
      "-c",
      'echo "pid $$"; exec "$@"',
      "bash",
      Deno.execPath(),
      "run",
      ...SERVER_PERMISSIONS,
      "server.ts",
      ...["--hostname", "127.0.0.1", "--port", "0", ...args],
    ]);
    server.pid = Number((await server.waitForLine(/^pid \d+$/)).slice(4));
    const line = await server.waitForLine(/listening on 127\.0\.0\.1:\d+/);
    server.port = Number(line.match(/listening on 127\.0\.0\.1:(\d+)/)![1]);
    return server;
  }

  /** Resident memory in KiB (VmRSS of /proc/PID/status). */
  async rssKiB(): Promise<number> {
    const status = await output("cat", [`/proc/${this.pid}/status`]);
    return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)![1]);
  }

  /** Open file descriptors (entries of /proc/PID/fd). */
  async openFds(): Promise<number> {
    return (await output("ls", [`/proc/${this.pid}/fd`])).split("\n").filter(Boolean).length;
  }

  /** SIGTERM, then the exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    return await this.exited();
  }
}

async function output(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!result.success) throw new Error(`${command} ${args.join(" ")} failed`);
  return new TextDecoder().decode(result.stdout);
}
