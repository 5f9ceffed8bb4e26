/**
 * The terminal client in protocol v2 (`--channel`, `--pub`, `--print-channel`, `--reconnect`),
 * as a user runs it (a `client.ts` process) against real servers: ALPN over TLS, `HELLO` over
 * `--plain`, the subprotocol over WebSocket; refusals; a v1-only peer; resuming after a server
 * restart, with a broker (nothing missed) and without (the GAP on stderr).
 */
import { assert, assertEquals } from "./assert.ts";
import { brokerTest, startBrokerServer } from "./brokers.ts";
import { startTestServer, testCertsDir, waitFor } from "./helpers.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS, runProgram, ServerProcess } from "./processes.ts";
import { mintToken } from "../auth/token_minting.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import { encodeFrame } from "../protocol/framing.ts";

const CA = async () => `${await testCertsDir()}/ca.pem`;

function listener(args: string[]): BackgroundProgram {
  return BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS);
}

async function subscribedTo(client: BackgroundProgram, channel: string): Promise<void> {
  await waitFor(
    () => client.stderr.includes(`subscribed to ${channel}`),
    15_000,
    `"subscribed to ${channel}" in ${client.stderr.join("|")}`,
  );
}

Deno.test("--channel/--pub over TLS, WebSocket and stdin: each message once, after its channel", async () => {
  const server = await startTestServer({ relay: true });
  const ca = await CA();
  const common = ["--port", String(server.port), "--ca", ca];
  const listening = listener([
    ...common,
    "--channel",
    "news",
    "--channel",
    "sport",
    "--print-channel",
  ]);
  try {
    await subscribedTo(listening, "news");
    await subscribedTo(listening, "sport");
    assert(listening.stderr.some((line) => line.endsWith("protocol v2")), "ALPN chose v2");

    // Subscribed to its own channel: it prints its own messages, then exits 0.
    const own = await runProgram("client.ts", [
      ...common,
      ...["--pub", "news", "--channel", "news", "--send", "hello news", "--send", "two words"],
    ]);
    assertEquals([own.code, own.stdout], [0, "hello news\ntwo words\n"], own.stderr);
    const ws = await runProgram("client.ts", [
      ...["--url", `wss://localhost:${server.web!.address.port}/ws`, "--ca", ca],
      ...["--pub", "sport", "--send", "over WebSocket"],
    ]);
    assertEquals([ws.code, ws.stdout], [0, ""], ws.stderr);
    const typed = await runProgram("client.ts", [...common, "--pub", "sport"], {
      stdin: "typed one\ntyped two\n",
    });
    assertEquals(typed.code, 0, typed.stderr);

    const expected = [
      "news hello news",
      "news two words",
      "sport over WebSocket",
      "sport typed one",
      "sport typed two",
    ];
    await waitFor(() => listening.stdout.length === expected.length, 15_000, "every message");
    assertEquals(listening.stdout, expected);
    // v1 clients are untouched: the broadcast channel was not used.
    assertEquals(server.hub.channels().find((c) => c.channel === "news")?.subscribers, 1);
  } finally {
    listening.kill("SIGINT");
    await listening.exited();
    await server.shutdown();
  }
});

Deno.test("--plain speaks HELLO tlspush/2 first; a refused PUB is reported and exits 1", async () => {
  const plain = await startTestServer({ plain: true, relay: true, ws: false });
  const noRelay = await startTestServer({ ws: false });
  try {
    const hello = await runProgram("client.ts", [
      ...["--plain", "--port", String(plain.port)],
      ...["--channel", "x", "--pub", "x", "--send", "after HELLO"],
    ]);
    assertEquals([hello.code, hello.stdout], [0, "after HELLO\n"], hello.stderr);

    const refused = await runProgram("client.ts", [
      ...["--port", String(noRelay.port), "--ca", await CA()],
      ...["--pub", "news", "--send", "not allowed"],
    ]);
    assertEquals(refused.code, 1, refused.stderr);
    assert(refused.stderr.includes("ERR forbidden publishing needs a server started with --relay"));
    assert(refused.stderr.includes("tlspush-client: the server refused 1 message"), refused.stderr);
    assert(!refused.stderr.includes("Stack backtrace"));
  } finally {
    await Promise.all([plain.shutdown(), noRelay.shutdown()]);
  }
});

Deno.test("a peer that speaks only v1 (it echoes HELLO): one clear line, exit 1, no retry", async () => {
  // An independent v1 echo server over plain TCP, as the Delphi sample behaves.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(4096);
        const decoder = new FrameDecoder();
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            for (const payload of decoder.push(buffer.subarray(0, n)).payloads) {
              await conn.write(encodeFrame(payload.slice()));
            }
          }
        } catch {
          // the client went away
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
  try {
    const result = await runProgram("client.ts", [
      ...["--plain", "--port", String(listener.addr.port), "--channel", "x", "--reconnect"],
    ], { timeoutMs: 20_000 });
    assertEquals(result.code, 1, result.stderr);
    assert(
      result.stderr.includes("the server does not speak protocol v2 (it echoed HELLO)"),
      result.stderr,
    );
    assert(!result.stderr.includes("reconnecting"), "a mismatch is not retried");
  } finally {
    listener.close();
    await serving;
  }
});

Deno.test("--reconnect without a broker: after a server restart the GAP is reported on stderr", async () => {
  const certsDir = await testCertsDir();
  const first = await ServerProcess.start(["--certs-dir", certsDir, "--no-ws", "--relay"]);
  const port = String(first.port);
  const common = ["--port", port, "--ca", `${certsDir}/ca.pem`];
  const client = listener([...common, "--channel", "orders", "--reconnect"]);
  let second: ServerProcess | undefined;
  try {
    await subscribedTo(client, "orders");
    await runProgram("client.ts", [...common, "--pub", "orders", "--send", "before"]);
    await waitFor(() => client.stdout.length === 1, 15_000, "the first message");
    assertEquals((await first.stop()).code, 0);
    second = await ServerProcess.start([
      "--certs-dir",
      certsDir,
      "--no-ws",
      "--relay",
      "--port",
      port,
    ]);
    const gap = await waitFor(
      () => client.stderr.find((line) => line.startsWith("gap on orders: messages ")),
      30_000,
      `the GAP in ${client.stderr.join("|")}`,
    );
    assert(gap.endsWith("are no longer retained by the server"), gap);
    assertEquals(client.stderr.filter((line) => line === "subscribed to orders").length, 2);
    await runProgram("client.ts", [...common, "--pub", "orders", "--send", "after"]);
    await waitFor(() => client.stdout.length === 2, 15_000, "the message after the restart");
    assertEquals(client.stdout, ["before", "after"]);
  } finally {
    client.kill("SIGINT");
    await client.exited();
    await (second ?? first).stop();
  }
});

for (const kind of ["redis", "nats"] as const) {
  brokerTest(
    kind,
    "--reconnect with a broker: a server restart loses nothing, each message printed once",
    async () => {
      const broker = await startBrokerServer(kind);
      const certsDir = await testCertsDir();
      const args = ["--certs-dir", certsDir, "--no-ws", "--relay", "--broker", broker.url];
      const a = await ServerProcess.start(args);
      const b = await ServerProcess.start(args);
      const port = String(a.port);
      const ca = ["--ca", `${certsDir}/ca.pem`];
      const publish = async (server: ServerProcess, text: string) => {
        const result = await runProgram("client.ts", [
          ...["--port", String(server.port), ...ca, "--pub", "orders", "--send", text],
        ]);
        assertEquals(result.code, 0, result.stderr);
      };
      const client = listener(["--port", port, ...ca, "--channel", "orders", "--reconnect"]);
      let restarted: ServerProcess | undefined;
      try {
        await subscribedTo(client, "orders");
        await publish(a, "order 1");
        await publish(b, "order 2");
        await waitFor(() => client.stdout.length === 2, 15_000, "the first two");
        assertEquals((await a.stop()).code, 0);
        // Published while the client's server is down: the broker keeps them.
        await publish(b, "order 3");
        await publish(b, "order 4");
        restarted = await ServerProcess.start([...args, "--port", port]);
        await waitFor(() => client.stdout.length === 4, 30_000, "the missed two, replayed");
        await publish(restarted, "order 5");
        await waitFor(() => client.stdout.length === 5, 15_000, "the live one");
        await new Promise((resolve) => setTimeout(resolve, 300));
        assertEquals(client.stdout, ["order 1", "order 2", "order 3", "order 4", "order 5"]);
        assert(!client.stderr.some((line) => line.startsWith("gap on")), client.stderr.join("\n"));
      } finally {
        client.kill("SIGINT");
        await client.exited();
        await Promise.all([b.stop(), (restarted ?? a).stop()]);
        await broker.stop();
      }
    },
  );
}

Deno.test("--token: the client authenticates before subscribing; a refused token exits 1", async () => {
  const secret = "a-secret-for-the-client-test-0123456789";
  const server = await startTestServer({ jwtSecret: secret, ws: false });
  const common = ["--port", String(server.port), "--ca", await CA()];
  const token = await mintToken({
    key: { secret },
    sub: "alice",
    subs: ["metrics.*"],
    pubs: ["metrics.cpu"],
    ttlSeconds: 600,
  });
  try {
    const own = await runProgram("client.ts", [
      ...common,
      ...["--token", token, "--channel", "metrics.cpu", "--pub", "metrics.cpu", "--send", "93%"],
    ]);
    assertEquals([own.code, own.stdout], [0, "93%\n"], own.stderr);
    assert(own.stderr.includes("authenticated as alice"), own.stderr);

    const forbidden = await runProgram("client.ts", [
      ...common,
      ...["--token", token, "--pub", "alerts", "--send", "not mine"],
    ]);
    assertEquals(forbidden.code, 1, forbidden.stderr);
    assert(forbidden.stderr.includes("ERR forbidden"), forbidden.stderr);

    const wrong = await runProgram("client.ts", [
      ...common,
      ...["--token", token.slice(0, -4) + "AAAA", "--channel", "metrics.cpu", "--reconnect"],
    ]);
    assertEquals(wrong.code, 1, wrong.stderr);
    assert(wrong.stderr.includes("the server refused the token: ERR "), wrong.stderr);
    assert(!wrong.stderr.includes("reconnecting"), "a refused token is not retried");
    assert(!wrong.stderr.includes(token), "the token is never printed");
  } finally {
    await server.shutdown();
  }
});
