/**
 * Soak and fault tests over loopback (issue 3, item 8): many concurrent clients echoing random
 * traffic, broadcasts while one client never reads, and clients with `--reconnect` outliving a
 * server killed with SIGKILL. Every loop is bounded and everything stops by itself; nothing
 * here asserts on timing (speed is for the benchmarks).
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { prng, startTestServer, TestClient, waitFor } from "./helpers.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS, ServerProcess } from "./processes.ts";
import { connectToServer } from "../client/connect.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame } from "../protocol/framing.ts";

/** Characters of 1 to 4 UTF-8 bytes, so payload sizes in bytes and in characters differ. */
const ALPHABET = ["a", "Z", "0", " ", "~", "é", "ß", "Ж", "€", "✓", "日", "本", "🚀", "𝄞"];

/**
 * A long random text drawn from {@link ALPHABET}, with the UTF-16 index and UTF-8 offset of
 * every character boundary: messages are slices of it, cut only between characters.
 */
const POOL = (() => {
  const random = prng(0xa1fa);
  const chars: string[] = [];
  const units = [0];
  const bytes = [0];
  const utf8Lengths = ALPHABET.map((char) => new TextEncoder().encode(char).length);
  for (let i = 0; i < 200_000; i++) {
    const pick = Math.floor(random() * ALPHABET.length);
    chars.push(ALPHABET[pick]);
    units.push(units[i] + ALPHABET[pick].length);
    bytes.push(bytes[i] + utf8Lengths[pick]);
  }
  return { text: chars.join(""), units, bytes };
})();

/** A message of about `size` UTF-8 bytes (empty for 0), led by a tag that makes it unique. */
function randomMessage(random: () => number, tag: string, size: number): string {
  if (size === 0) return "";
  const want = Math.max(0, size - tag.length);
  const { text, units, bytes } = POOL;
  const last = bytes.length - 1;
  let start = Math.floor(random() * last);
  if (bytes[last] - bytes[start] < want) start = 0;
  // The first boundary at least `want` bytes after the start.
  let low = start;
  let high = last;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (bytes[middle] - bytes[start] >= want) high = middle;
    else low = middle + 1;
  }
  return tag + text.slice(units[start], units[low]);
}

/** Sizes 0..2 KiB, with one message in a hundred empty and one in a hundred of 8..64 KiB. */
function randomSize(random: () => number): number {
  const roll = random();
  if (roll < 0.01) return 0;
  if (roll < 0.02) return 8192 + Math.floor(random() * 57344);
  return Math.floor(random() * 2049);
}

/** Writes `bytes` cut at random points into writes of 1 byte to 16 KiB. */
async function sendInRandomChunks(
  client: TestClient,
  bytes: Uint8Array,
  random: () => number,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const size = random() < 0.05 ? 1 + Math.floor(random() * 8) : 1 + Math.floor(random() * 16384);
    await client.sendRaw(bytes.subarray(offset, offset + size));
    offset += size;
  }
}

const CLIENTS = 300;
const MESSAGES_PER_CLIENT = 200;

Deno.test(`soak: ${CLIENTS} concurrent TLS clients x ${MESSAGES_PER_CLIENT} random messages: every echo arrives intact, in order, once`, async () => {
  const server = await startTestServer({ ws: false });
  // Connect in waves (a burst of 300 SYNs could overflow the accept backlog and wait for
  // SYN retransmits); all of them then run at once.
  const clients: TestClient[] = [];
  for (let wave = 0; wave < CLIENTS; wave += 50) {
    const connecting = [];
    for (let i = wave; i < Math.min(CLIENTS, wave + 50); i++) {
      connecting.push(TestClient.connect(server));
    }
    clients.push(...await Promise.all(connecting));
  }
  await waitFor(() => server.hub.size === CLIENTS, 20_000, `${CLIENTS} clients in the hub`);

  const sent: string[][] = [];
  let totalBytes = 0;
  await Promise.all(clients.map(async (client, c) => {
    const random = prng(0x5eed + c);
    const messages = Array.from(
      { length: MESSAGES_PER_CLIENT },
      (_, m) => randomMessage(random, `c${c}m${m}:`, randomSize(random)),
    );
    sent.push(messages);
    const wire = concatBytes(messages.map((message) => encodeFrame(message)));
    totalBytes += wire.length;
    await sendInRandomChunks(client, wire, random);
    await client.waitForMessages(MESSAGES_PER_CLIENT, 60_000);
    // Equal strings are equal bytes: the decoder never replaces, and no message holds U+FFFD.
    assertEquals(client.received.length, MESSAGES_PER_CLIENT, `client ${c}: no duplicates`);
    assertEquals(client.received, messages, `client ${c}: every echo, intact and in order`);
    await client.finish();
  }));
  assertEquals(sent.length, CLIENTS);
  assert(totalBytes > 50 * 1024 * 1024, `meaningful volume (${totalBytes} bytes each way)`);

  await waitFor(() => server.hub.size === 0, 10_000, "every client gone from the hub");
  const total = CLIENTS * MESSAGES_PER_CLIENT;
  assertEquals(server.hub.totals.messagesIn, total);
  assertEquals(server.hub.totals.messagesOut, total);
  const cleanCloses = server.log.filter((line) =>
    line.includes(
      `closed: peer closed the connection (${MESSAGES_PER_CLIENT} messages in, ` +
        `${MESSAGES_PER_CLIENT} out`,
    )
  );
  assertEquals(cleanCloses.length, CLIENTS, "every client closed cleanly with all its echoes");
  assert(!server.log.some((line) => /error|slow consumer/.test(line)), server.log.join("\n"));
  await server.shutdown();
});

const HEALTHY = 16;
const BROADCAST_BYTES = 16 * 1024;
/** Broadcasts sent after the sleeper is cut off, to show the others carry on. */
const BROADCASTS_AFTER_CUT = 100;
/** Bound on the whole run: about 25 MiB queued for the sleeper, far beyond loopback buffers. */
const MAX_BROADCASTS = 1600;
/** How many broadcasts the slowest healthy client may be behind before the sender waits. */
const WINDOW = 24;

Deno.test("soak: broadcasts under echo load reach every healthy client in order; the one that never reads is cut off", async () => {
  const maxPending = 64 * 1024;
  const server = await startTestServer({ ws: false, maxPending });
  const healthy: TestClient[] = [];
  for (let i = 0; i < HEALTHY; i++) healthy.push(await TestClient.connect(server));
  // Completes its handshake (so it is in the hub) and then never reads a byte.
  const sleeper = await connectToServer({
    hostname: "localhost",
    port: server.port,
    caFile: server.caFile,
  });
  const sleeperPort = (sleeper.localAddr as Deno.NetAddr).port;
  await waitFor(() => server.hub.size === HEALTHY + 1, 10_000, "all clients in the hub");

  const random = prng(0xb0a7);
  const broadcasts: string[] = [];
  const echoes: string[][] = healthy.map(() => []);
  const isBroadcast = (message: string) => message.startsWith("b:");
  const broadcastsSeen = healthy.map(() => ({ scanned: 0, count: 0 }));
  const slowestHealthy = () => {
    let slowest = Infinity;
    healthy.forEach((client, c) => {
      const seen = broadcastsSeen[c];
      for (; seen.scanned < client.received.length; seen.scanned++) {
        if (isBroadcast(client.received[seen.scanned])) seen.count++;
      }
      slowest = Math.min(slowest, seen.count);
    });
    return slowest;
  };
  const cutOff = () => server.log.some((line) => /slow consumer/.test(line));

  let cutAt = -1;
  for (let b = 0; b < MAX_BROADCASTS; b++) {
    if (cutAt < 0 && cutOff()) cutAt = b;
    if (cutAt >= 0 && b >= cutAt + BROADCASTS_AFTER_CUT) break;
    const message = randomMessage(random, `b:${b}:`, BROADCAST_BYTES);
    broadcasts.push(message);
    server.broadcast(message);
    // The load: every healthy client keeps echoing small messages meanwhile.
    await Promise.all(healthy.map((client, c) => {
      const echo = randomMessage(random, `e:${c}:${b}:`, Math.floor(random() * 1024));
      echoes[c].push(echo);
      return client.send(echo);
    }));
    // One broadcast per turn of the event loop (as stdin lines arrive), and never more than
    // WINDOW ahead of the slowest healthy reader: the test stays bounded in memory.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (broadcasts.length - slowestHealthy() > WINDOW) {
      await waitFor(
        () => broadcasts.length - slowestHealthy() <= WINDOW / 2,
        30_000,
        "the healthy clients to catch up",
      );
    }
  }
  assert(cutAt >= 0, `the sleeper was never cut off after ${MAX_BROADCASTS} broadcasts`);

  const expectedCount = broadcasts.length;
  await waitFor(() => slowestHealthy() === expectedCount, 30_000, "every broadcast delivered");
  healthy.forEach((client, c) => {
    const received = client.received;
    assertEquals(received.filter(isBroadcast), broadcasts, `client ${c}: every broadcast in order`);
  });
  for (const [c, client] of healthy.entries()) {
    await client.waitForMessages(expectedCount + echoes[c].length, 30_000);
    assertEquals(client.received.filter((m) => !isBroadcast(m)), echoes[c], `client ${c} echoes`);
  }

  const slow = server.log.filter((line) => /slow consumer/.test(line));
  assertEquals(slow.length, 1, `only the sleeper is cut off:\n${slow.join("\n")}`);
  assert(
    new RegExp(
      `client #\\d+ 127\\.0\\.0\\.1:${sleeperPort} closed: slow consumer: .*limit 64\\.0 KiB`,
    )
      .test(slow[0]),
    slow[0],
  );
  assertEquals(server.hub.size, HEALTHY, "the healthy clients are all still connected");
  assertEquals((await server.broadcast("still here")).delivered, HEALTHY);

  // The sleeper, reading at last, finds what the kernel buffered and then the end of the stream.
  let drained = 0;
  const buffer = new Uint8Array(256 * 1024);
  const ended = await (async () => {
    for (let reads = 0; reads < 100_000; reads++) {
      try {
        const count = await sleeper.read(buffer);
        if (count === null) return "eof";
        drained += count;
      } catch {
        return "reset";
      }
    }
    return "still open";
  })();
  assert(ended !== "still open", `the sleeper's connection ended (${drained} bytes buffered)`);
  sleeper.close();

  for (const client of healthy) await client.finish();
  await server.shutdown();
});

Deno.test("soak: clients with --reconnect outlive a server killed by SIGKILL and carry on after its restart on the same port", async () => {
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-reconnect-" });
  const first = await ServerProcess.start(["--certs-dir", certsDir, "--no-ws"]);
  const port = String(first.port);
  const common = ["--port", port, "--ca", `${certsDir}/ca.pem`, "--reconnect"];
  const listeners = [0, 1].map(() =>
    BackgroundProgram.denoRun("client.ts", ["--listen", ...common], CLIENT_PERMISSIONS)
  );
  const sender = BackgroundProgram.denoRun("client.ts", common, CLIENT_PERMISSIONS);
  const connected = (server: ServerProcess) =>
    server.stdout.filter((line) => / connected from 127\.0\.0\.1:/.test(line)).length;
  await waitFor(() => connected(first) === 3, 20_000, "three clients on the first server");
  await sender.type("one");
  await sender.waitForLine(/^one$/);
  await first.type("before");
  for (const client of [...listeners, sender]) await client.waitForLine(/^before$/);

  first.kill("SIGKILL");
  assertEquals((await first.exited()).signal, "SIGKILL");
  // Each client notices, says so on stderr, and keeps retrying while nobody listens.
  for (const client of [...listeners, sender]) {
    for (
      const attempt of [
        /lost: .*; reconnecting in \d+\.\d\d s \(attempt 1\)/,
        /connection refused .*; reconnecting in \d+\.\d\d s \(attempt 2\)/,
      ]
    ) {
      await waitFor(
        () => client.stderr.find((line) => attempt.test(line)),
        15_000,
        `${attempt} on stderr:\n${client.stderr.join("\n")}`,
      );
    }
  }

  // Same port, same certs directory: the CA the clients trust is reused, the leaf is new.
  const second = await ServerProcess.start(["--certs-dir", certsDir, "--no-ws", "--port", port]);
  assertEquals(String(second.port), port);
  assert(second.stdout.some((line) => /using the CA /.test(line)), second.stdout.join("\n"));
  await waitFor(() => connected(second) === 3, 30_000, "the three clients back, by themselves");
  await second.type("after");
  for (const client of [...listeners, sender]) await client.waitForLine(/^after$/);
  await sender.type("two"); // sending resumes on the new connection
  await sender.waitForLine(/^two$/);

  for (const listener of listeners) listener.kill("SIGINT");
  await sender.endInput(); // half-close: the server closes it after the last echo
  const expectations: [BackgroundProgram, string[]][] = [
    [listeners[0], ["before", "after"]],
    [listeners[1], ["before", "after"]],
    [sender, ["one", "before", "after", "two"]],
  ];
  for (const [client, expected] of expectations) {
    const status = await client.exited();
    assertEquals(status.code, 0, client.stderr.join("\n"));
    assertEquals(client.stdout, expected, "nothing lost, nothing repeated");
    assert(
      !client.stderr.some((line) => /Stack backtrace|Uncaught/.test(line)),
      client.stderr.join("\n"),
    );
  }
  assertEquals((await second.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});
