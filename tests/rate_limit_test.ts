/**
 * `--rate` and `--connect-rate` under a flood, over real sockets: v2 gets `ERR rate-limited`
 * for what is over, v1 is read more slowly and loses nothing, too many new connections from one
 * address are refused on both ports, and the server keeps serving everyone else meanwhile. The
 * token bucket itself runs on a fake clock. No timing is asserted.
 */
import { ConnectRate } from "../hub/connect_rate.ts";
import { newSecurityCounters } from "../hub/security_counters.ts";
import { Logger } from "../util/logger.ts";
import { TokenBucket } from "../util/token_bucket.ts";
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { rawUpgrade } from "./web_helpers.ts";

const V2 = ["tlspush/2"];

Deno.test("token bucket: a burst, then the rate; debt tells how long to pause", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 5, () => now);
  for (let i = 0; i < 5; i++) assert(bucket.tryTake());
  assert(!bucket.tryTake(), "the burst is spent");
  now = 100; // one token back
  assert(bucket.tryTake());
  assert(!bucket.tryTake());
  now = 10_000;
  assert(bucket.full, "never more than the burst");
  assertEquals(bucket.debit(5), 0);
  assertEquals(bucket.debit(10), 1000, "10 short at 10 a second: one second");
});

Deno.test("connect rate: an allowance per address, refusals logged once a burst", () => {
  let now = 0;
  const counters = newSecurityCounters();
  const lines: string[] = [];
  const rate = new ConnectRate(
    2,
    new Logger({ write: (line) => lines.push(line) }),
    counters,
    () => now,
  );
  assert(rate.admits("10.0.0.1") && rate.admits("10.0.0.1"));
  assert(!rate.admits("10.0.0.1") && !rate.admits("10.0.0.1"));
  assert(rate.admits("10.0.0.2"), "another address has its own allowance");
  assertEquals(counters.connectRefused, 2);
  assertEquals(lines.filter((line) => line.includes("--connect-rate")).length, 1, "once a burst");
  now = 1000;
  assert(rate.admits("10.0.0.1"));
});

Deno.test("--rate: a v2 flood gets ERR rate-limited beyond the burst; another client is served", async () => {
  const server = await startTestServer({ rate: 5, rateBurst: 5 });
  const flooder = await TestClient.connect(server, { alpn: V2 });
  const other = await TestClient.connect(server, { alpn: V2 });
  await flooder.send(...Array.from({ length: 200 }, (_, i) => `PING ${i}`));
  await other.send("PING other");
  await other.waitForMessages(1);
  assertEquals(other.received, ["PONG other"]);
  const replies = await flooder.waitForMessages(200);
  const pongs = replies.filter((line) => line.startsWith("PONG"));
  const limited = replies.filter((line) => line === "ERR rate-limited over --rate 5/s");
  assertEquals(pongs.length + limited.length, 200, "every command answered, in order");
  assert(pongs.length >= 5 && pongs.length < 200, `${pongs.length} answered`);
  assertEquals(server.hub.security.rateLimited, limited.length);
  flooder.close();
  other.close();
  await server.shutdown();
});

Deno.test("--rate: a v1 flood is read more slowly and every message still comes back", async () => {
  const server = await startTestServer({ rate: 200, rateBurst: 50 });
  const flooder = await TestClient.connect(server);
  const other = await TestClient.connect(server);
  const messages = Array.from({ length: 400 }, (_, i) => `m${i}`);
  await flooder.send(...messages);
  await other.send("still served");
  await other.waitForMessages(1);
  assertEquals(other.received, ["still served"]);
  assertEquals(await flooder.waitForMessages(400), messages, "none dropped, in order");
  assert(server.hub.security.rateThrottled > 0, "the flooder was paused");
  await flooder.finish();
  await other.finish();
  await server.shutdown();
});

Deno.test("--connect-rate: a connection flood from one address is refused on both ports; clients in are served", async () => {
  const server = await startTestServer({ connectRate: 3 });
  const inside = await TestClient.connect(server);
  const attempts = await Promise.allSettled(
    Array.from({ length: 12 }, async () => {
      const client = await TestClient.connect({ port: server.port, caFile: server.caFile });
      await client.send("x");
      await client.waitForMessages(1, 3000);
      client.close();
    }),
  );
  const refused = attempts.filter((attempt) => attempt.status === "rejected").length;
  // At most 3 a second get in (more only if the flood itself took longer than a second).
  assert(refused > 0, `${refused} of 12 refused`);
  await inside.send("hello");
  await inside.waitForMessages(1);
  assertEquals(inside.received, ["hello"]);
  // The WebSocket port has the same rule: of a burst of upgrades, those over it get 429.
  const upgrades = await Promise.all(Array.from({ length: 10 }, () => rawUpgrade(server, "/ws")));
  for (const upgrade of upgrades) upgrade.conn.close();
  const statuses = upgrades.map((upgrade) => upgrade.status);
  assert(statuses.includes(429) && statuses.every((s) => s === 429 || s === 101), statuses.join());
  assert(server.hub.security.connectRefused > refused);
  await server.waitForLog(/refused connection from 127\.0\.0\.1: over --connect-rate 3\/s/);
  // A second later the address may connect again.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const later = await TestClient.connect({ port: server.port, caFile: server.caFile });
  await later.send("back");
  await waitFor(() => later.received.length === 1);
  later.close();
  inside.close();
  await server.shutdown();
});
