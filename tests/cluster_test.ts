/**
 * Clusters on a real broker (DESIGN.md section 8): several `server.ts` processes on one Redis or
 * NATS server, clients on each, messages from every source; the broker killed and restarted, an
 * instance killed, a client resuming on another instance.
 */
import { assert, assertEquals } from "./assert.ts";
import { type BrokerServer, brokerTest, startBrokerServer } from "./brokers.ts";
import { assertOneCleanLine, testCertsDir, TestClient, waitFor } from "./helpers.ts";
import { runProgram, ServerProcess } from "./processes.ts";

type Kind = "redis" | "nats";
const PUBLISH = "cluster-publish-token-0123";
const ADMIN = "cluster-admin-token-456789";

/** One server process of the cluster, with its web port and CA. */
interface Instance {
  process: ServerProcess;
  webPort: number;
  caFile: string;
}

async function startInstance(broker: BrokerServer, extra: string[] = []): Promise<Instance> {
  const shared = await testCertsDir();
  const certsDir = await Deno.makeTempDir({ prefix: "tlspush-cluster-certs-" });
  // One CA for the whole cluster; each instance writes its own leaf.
  for (const file of ["ca.pem", "ca-key.pem"]) {
    await Deno.copyFile(`${shared}/${file}`, `${certsDir}/${file}`);
  }
  const process = await ServerProcess.start([
    "--certs-dir",
    certsDir,
    "--broker",
    broker.url,
    "--relay",
    "--publish-token",
    PUBLISH,
    "--admin-token",
    ADMIN,
    ...extra,
  ]);
  const line = await process.waitForLine(/wss listening on 127\.0\.0\.1:\d+/);
  return {
    process,
    webPort: Number(line.match(/wss listening on 127\.0\.0\.1:(\d+)/)![1]),
    caFile: `${certsDir}/ca.pem`,
  };
}

async function client(instance: Instance, v2 = false): Promise<TestClient> {
  const target = { port: instance.process.port, caFile: instance.caFile };
  return await TestClient.connect(target, v2 ? { alpn: ["tlspush/2"] } : {});
}

async function publishApi(instance: Instance, body: string, channel = "broadcast") {
  using http = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(instance.caFile)] });
  const response = await fetch(
    `https://localhost:${instance.webPort}/api/publish?channel=${channel}`,
    { method: "POST", body, headers: { authorization: `Bearer ${PUBLISH}` }, client: http },
  );
  return { status: response.status, body: await response.json() };
}

async function dashboardSend(instance: Instance, text: string): Promise<void> {
  const http = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(instance.caFile)] });
  const feed = new WebSocket(`wss://localhost:${instance.webPort}/admin/ws`, {
    client: http,
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const answered = Promise.withResolvers<void>();
  feed.onmessage = (event) => {
    if (JSON.parse(event.data).type === "broadcast") answered.resolve();
  };
  await new Promise((resolve, reject) => {
    feed.onopen = resolve;
    feed.onerror = reject;
  });
  feed.send(JSON.stringify({ type: "broadcast", text }));
  await answered.promise;
  feed.close();
  http.close();
}

/** The data of every `MSG broadcast <seq> <data>` a v2 client got, with its number. */
function broadcasts(v2: TestClient): { seq: number; data: string }[] {
  return v2.received.filter((line) => line.startsWith("MSG broadcast ")).map((line) => {
    const [, , seq, ...data] = line.split(" ");
    return { seq: Number(seq), data: data.join(" ") };
  });
}

async function stopAll(instances: Instance[], clients: TestClient[]): Promise<void> {
  for (const c of clients) c.close();
  await Promise.all(instances.map((instance) => instance.process.stop()));
}

for (const kind of ["redis", "nats"] as Kind[]) {
  brokerTest(
    kind,
    "three instances: stdin, dashboard, API and relay messages reach every client once, in one order",
    async () => {
      const broker = await startBrokerServer(kind);
      const instances = [
        await startInstance(broker),
        await startInstance(broker),
        await startInstance(broker),
      ];
      const v1 = await Promise.all(instances.map((instance) => client(instance)));
      const v2 = await Promise.all(instances.map((instance) => client(instance, true)));
      try {
        for (const c of v2) await c.send("SUB broadcast");
        await waitFor(() => v2.every((c) => c.received.length === 1));
        await instances[0].process.type("from stdin on 1");
        await dashboardSend(instances[1], "from the dashboard on 2");
        assertEquals((await publishApi(instances[2], "from the API on 3")).status, 200);
        await v1[0].send("relayed from a client on 1");
        const sent = [
          "from stdin on 1",
          "from the dashboard on 2",
          "from the API on 3",
          "relayed from a client on 1",
        ];
        await waitFor(
          () => v2.every((c) => broadcasts(c).length === sent.length),
          15_000,
          "every message on every instance",
        );
        const orders = v2.map((c) => broadcasts(c));
        assertEquals(
          orders[1],
          orders[0],
          "instance 2 saw the same messages, numbers and order as 1",
        );
        assertEquals(orders[2], orders[0], "and so did instance 3");
        assertEquals(
          [...orders[0].map((m) => m.data)].sort(),
          [...sent].sort(),
          "each exactly once",
        );
        const seqs = orders[0].map((m) => m.seq);
        assertEquals(seqs, [...seqs].sort((a, b) => a - b), "in increasing number");
        // v1 clients: every message once; the relaying client its own echo once, not twice.
        await waitFor(
          () => v1.every((c) => c.received.length === sent.length),
          10_000,
          "v1 clients",
        );
        for (const c of v1) assertEquals([...c.received].sort(), [...sent].sort());
        await new Promise((resolve) => setTimeout(resolve, 300));
        assertEquals(v2.map((c) => broadcasts(c).length), [4, 4, 4], "no late duplicate");
      } finally {
        await stopAll(instances, [...v1, ...v2]);
        await broker.stop();
      }
    },
  );

  brokerTest(
    kind,
    "a client resumes on another instance from its last number, missing nothing",
    async () => {
      const broker = await startBrokerServer(kind);
      const [a, b] = [await startInstance(broker), await startInstance(broker)];
      const first = await client(a, true);
      let resumed: TestClient | undefined;
      try {
        await first.send("SUB orders");
        // Subscribed before the first publish: OK SUB comes first.
        await waitFor(() => first.received.length === 1, 10_000, "OK SUB");
        for (let i = 1; i <= 3; i++) await publishApi(a, `order ${i}`, "orders");
        await waitFor(() => first.received.length === 4, 10_000, "the first three messages");
        const last = Number(first.received.at(-1)!.split(" ")[2]);
        first.close();
        for (let i = 4; i <= 6; i++) await publishApi(b, `order ${i}`, "orders");
        resumed = await client(b, true);
        await resumed.send(`SUB orders ${last + 1}`);
        await waitFor(() => resumed!.received.length === 4, 10_000, "the three missed messages");
        assert(/^OK SUB orders \d+$/.test(resumed.received[0]), resumed.received[0]);
        assertEquals(resumed.received.slice(1).map((l) => l.split(" ").slice(3).join(" ")), [
          "order 4",
          "order 5",
          "order 6",
        ]);
      } finally {
        await stopAll([a, b], [first, ...(resumed ? [resumed] : [])]);
        await broker.stop();
      }
    },
  );

  brokerTest(
    kind,
    "the broker killed mid-run: local clients served, publishing refused, all back without a restart",
    async () => {
      const broker = await startBrokerServer(kind);
      const [a, b] = [await startInstance(broker), await startInstance(broker)];
      const onA = await client(a, true);
      const onB = await client(b);
      try {
        await onA.send("SUB broadcast");
        await waitFor(() => onA.received.length === 1);
        await broker.kill("SIGKILL");
        await a.process.waitForLine(/error: broker .* lost/, 20_000);
        // Local service goes on: v1 echo, v2 commands.
        await onB.send("echo while the broker is down");
        assertEquals(await onB.waitForMessages(1), ["echo while the broker is down"]);
        await onA.send("PING still here", "PUB broadcast not now");
        await waitFor(() => onA.received.length === 3);
        assertEquals(onA.received[1], "PONG still here");
        assert(onA.received[2].startsWith("ERR unavailable "), onA.received[2]);
        const refused = await publishApi(a, "not now either");
        assertEquals([refused.status, refused.body.error], [503, "unavailable"]);
        await a.process.type("a stdin line while down");
        await a.process.waitForLine(/error: stdin message not sent: /);
        assertEquals(
          a.process.stdout.filter((l) => /broker .* lost/.test(l)).length,
          1,
          "said once",
        );

        await broker.restart();
        await a.process.waitForLine(/broker \S+ is back/, 30_000);
        await b.process.waitForLine(/broker \S+ is back/, 30_000);
        const ok = await publishApi(b, "after the broker came back");
        assertEquals(ok.status, 200, JSON.stringify(ok.body));
        await waitFor(
          () => onA.received.some((l) => l.endsWith(" after the broker came back")),
          10_000,
        );
        assertEquals(await onB.waitForMessages(2), [
          "echo while the broker is down",
          "after the broker came back",
        ]);
        assert(
          !onA.received.some((l) => l.includes("not now")),
          "nothing refused was delivered later",
        );
      } finally {
        await stopAll([a, b], [onA, onB]);
        await broker.stop();
      }
    },
  );

  brokerTest(kind, "an instance killed with SIGKILL: the others go on", async () => {
    const broker = await startBrokerServer(kind);
    const [a, b, c] = [
      await startInstance(broker),
      await startInstance(broker),
      await startInstance(broker),
    ];
    const onC = await client(c);
    try {
      a.process.kill("SIGKILL");
      await a.process.exited();
      assertEquals((await publishApi(b, "b carries on")).status, 200);
      assertEquals(await onC.waitForMessages(1), ["b carries on"]);
    } finally {
      await stopAll([b, c], [onC]);
      await broker.stop();
    }
  });
}

brokerTest(
  "redis",
  "a broker that cannot be reached at startup: exit 1, one line, no password",
  async () => {
    const result = await runProgram("server.ts", [
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      "--no-ws",
      "--certs-dir",
      await testCertsDir(),
      "--broker",
      "redis://:secret-password@127.0.0.1:1",
    ], { timeoutMs: 30_000 });
    assertEquals(result.code, 1, result.stderr);
    assertOneCleanLine(result.stderr, /tlspush-server: .*127\.0\.0\.1:1/);
    assert(
      !result.stderr.includes("secret-password") && !result.stdout.includes("secret-password"),
    );
    assert(!/listening on/.test(result.stdout), "it never said it was listening");
  },
);
