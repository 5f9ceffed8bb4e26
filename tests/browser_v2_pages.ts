/**
 * Protocol v2 in a real browser (headless Chromium through playwright-core): the client page
 * subscribes to channels and shows each MSG with its channel and number, whoever published it
 * (the hub, stdin, the publish API, the page itself with `--relay`), shows the server's ERR
 * without `--relay`, resumes after a dropped connection (missed messages replayed once) and
 * after a server restart on the same port (the GAP shown); the dashboard lists channels with
 * subscribers, retained history and rates, and sends on a channel that a v2 TLS client receives.
 * HTML in messages stays text. Screenshots go to `test-output/`.
 *
 * Run by `browser_test.ts` in a child `deno test --allow-all` (playwright-core reads `/proc`).
 */
import type { Page } from "playwright-core";
import { mintToken } from "../auth/token_minting.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, type TestServer, waitFor } from "./helpers.ts";
import { launchBrowser } from "./browser.ts";
import { entries, fixedLeaf, openPage, origin, OUTPUT, until } from "./browser_helpers.ts";
import { webFetch } from "./web_helpers.ts";
import { brokerBinary, startBrokerServer } from "./brokers.ts";

const PUBLISH_TOKEN = "publish-token-for-the-browser-tests";
const HOSTILE = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>`;

interface Shown {
  channel: string;
  seq: number;
  text: string;
}

/** Every MSG the page shows, in order. */
function shown(page: Page, channel?: string): Promise<Shown[]> {
  const selector = channel === undefined ? "#log li.in" : `#log li.in[data-channel="${channel}"]`;
  return page.locator(selector).evaluateAll((items) =>
    items.map((item) => ({
      channel: item.getAttribute("data-channel") ?? "",
      seq: Number(item.getAttribute("data-seq")),
      text: item.querySelector(".text")?.textContent ?? "",
    }))
  );
}

/** Opens the client page in v2 on `channels` and waits until every one is subscribed. */
async function openV2(page: Page, server: TestServer, channels: string[]): Promise<void> {
  await page.goto(`${origin(server)}/?protocol=v2&channels=${channels.join(",")}`);
  await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
  for (const channel of channels) await subscribed(page, channel);
}

async function subscribed(page: Page, channel: string): Promise<void> {
  await page.locator(`#channels tr[data-channel="${channel}"][data-state="subscribed"]`).waitFor({
    timeout: 15_000,
  });
}

/** The cells of a channel's row in the client page's table. */
function rowCells(page: Page, channel: string): Promise<string[]> {
  return page.locator(`#channels tr[data-channel="${channel}"] td`).allTextContents();
}

function publish(server: TestServer, channel: string, text: string) {
  return server.hub.publish(new OutgoingMessage(text, { kind: "api" }, channel));
}

async function noHtmlRan(page: Page): Promise<void> {
  assertEquals(await page.locator("#log img, #log script, #log b").count(), 0);
  assertEquals(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
}

Deno.test({
  name: "browser, protocol v2: channels, publishing, resume and GAP, the dashboard's channels",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await Deno.mkdir(OUTPUT, { recursive: true });
    const leaf = await fixedLeaf();
    const browser = await launchBrowser(leaf.cert);
    const problems: string[] = [];
    try {
      await t.step(
        "the page subscribes to channels and shows MSGs from the hub, stdin and the publish API",
        async () => {
          const server = await startTestServer({ ...leaf, publishToken: PUBLISH_TOKEN });
          try {
            const page = await openPage(browser, problems);
            await openV2(page, server, ["news"]);
            // More channels from the field, by Enter and by the button.
            await page.fill("#channel", "metrics/cpu");
            await page.press("#channel", "Enter");
            await subscribed(page, "metrics/cpu");
            await page.fill("#channel", "broadcast");
            await page.click("#subscribe");
            await subscribed(page, "broadcast");
            // The address keeps the mode and the channels, for a bookmark.
            assertEquals(
              new URL(page.url()).search,
              "?protocol=v2&channels=news,metrics/cpu,broadcast",
            );
            // A bad name is refused on the page and never sent.
            await page.fill("#channel", "no spaces");
            await page.press("#channel", "Enter");
            await page.locator("#subscribe-result.bad", { hasText: "channel names are 1 to 128" })
              .waitFor();
            assertEquals(await page.locator("#channels tbody tr").count(), 3);

            const fromHub = await publish(server, "news", "from the hub");
            const response = await webFetch(server, "/api/publish?channel=metrics/cpu", {
              method: "POST",
              body: "cpu 93%",
              headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
            });
            assertEquals(response.status, 200);
            const fromApi = await response.json();
            const fromStdin = await server.broadcast("from stdin");
            await publish(server, "elsewhere", "not for this page");
            const hostile = await publish(server, "news", HOSTILE);
            await until(async () => (await shown(page)).length >= 4, "4 MSGs");
            assertEquals(await shown(page), [
              { channel: "news", seq: fromHub.seq!, text: "from the hub" },
              { channel: "metrics/cpu", seq: fromApi.seq, text: "cpu 93%" },
              { channel: "broadcast", seq: fromStdin.seq!, text: "from stdin" },
              { channel: "news", seq: hostile.seq!, text: HOSTILE },
            ]);
            // What the entries show: the channel and the number next to the text.
            const entry = page.locator("#log li.in").first();
            assertEquals(await entry.locator(".tag").textContent(), "msg");
            assertEquals(await entry.locator(".channel").textContent(), "news");
            assertEquals(await entry.locator(".seq").textContent(), `#${fromHub.seq}`);
            await noHtmlRan(page);
            await until(
              async () => (await rowCells(page, "news"))[2] === "2",
              "the news row's message count",
            );
            assertEquals((await rowCells(page, "news")).slice(0, 5), [
              "news",
              "subscribed",
              "2",
              String(hostile.seq),
              "0",
            ]);

            // Unsubscribe: the row goes, the server stops sending, the address follows.
            await page.click('#channels tr[data-channel="news"] button');
            await waitFor(
              () => !server.hub.channels().some((c) => c.channel === "news" && c.subscribers > 0),
              10_000,
              "the server to drop the subscription",
            );
            assertEquals(new URL(page.url()).search, "?protocol=v2&channels=metrics/cpu,broadcast");
            await publish(server, "news", "after unsubscribing");
            const last = await publish(server, "metrics/cpu", "still subscribed here");
            await until(async () => (await shown(page)).length >= 5, "the fifth MSG");
            assertEquals((await shown(page)).slice(4), [
              { channel: "metrics/cpu", seq: last.seq!, text: "still subscribed here" },
            ]);
            await page.close();
          } finally {
            await server.shutdown();
          }
        },
      );

      await t.step(
        "with authentication on, the page sends the token of its #token= and gets what it allows",
        async () => {
          const secret = "browser-test-jwt-secret-0123456789-abcdef";
          const server = await startTestServer({ ...leaf, jwtSecret: secret });
          try {
            const token = await mintToken({
              key: { secret },
              sub: "alice",
              subs: ["news"],
              pubs: [],
              ttlSeconds: 600,
            });
            const page = await openPage(browser, problems);
            await page.goto(`${origin(server)}/?protocol=v2&channels=news,secrets#token=${token}`);
            await subscribed(page, "news");
            await page.locator("#log li .text", { hasText: "as alice" }).waitFor({
              timeout: 10_000,
            });
            await page.locator('#channels tr[data-channel="secrets"]', { hasText: "forbidden" })
              .waitFor({ timeout: 10_000 });
            const sent = await publish(server, "news", "for alice");
            await publish(server, "secrets", "not for alice");
            await until(async () => (await shown(page)).length >= 1, "the MSG");
            assertEquals(await shown(page), [{
              channel: "news",
              seq: sent.seq!,
              text: "for alice",
            }]);
            assert(new URL(page.url()).hash.startsWith("#token="), "the fragment is kept");
            assert(!server.log.some((line) => line.includes(token)), "the token is never logged");
            // Without the token the page is told, and shown nothing.
            const bare = await openPage(browser, problems);
            await bare.goto(`${origin(server)}/?protocol=v2&channels=news`);
            await bare.locator('#channels tr[data-channel="news"]', {
              hasText: "not-authenticated",
            })
              .waitFor({ timeout: 10_000 });
            await page.close();
            await bare.close();
          } finally {
            await server.shutdown();
          }
        },
      );

      await t.step(
        "PUB: without --relay the server's ERR is shown plainly; with it the page sees its own MSG",
        async () => {
          const plain = await startTestServer(leaf);
          try {
            const page = await openPage(browser, problems);
            await openV2(page, plain, ["news"]);
            await page.fill("#publish-channel", "news");
            await page.fill("#message", "may I?");
            await page.press("#message", "Enter");
            await page.locator("#send-result.bad").waitFor();
            assertEquals(
              await page.textContent("#send-result"),
              "Not published on news: publishing needs a server started with --relay (forbidden)",
            );
            assert(
              (await entries(page, "error")).includes(
                "publishing needs a server started with --relay (forbidden)",
              ),
            );
            // An ERR leaves the connection open.
            assertEquals(await page.getAttribute("#state", "data-state"), "connected");
            assertEquals(await shown(page), []);
            await page.close();
          } finally {
            await plain.shutdown();
          }

          const relay = await startTestServer({ ...leaf, relay: true });
          const tls = await TestClient.connect(relay, { alpn: ["tlspush/2"] });
          try {
            await tls.send("SUB news");
            await waitFor(() => tls.received[0]?.startsWith("OK SUB news "), 5000, "OK SUB");
            const page = await openPage(browser, problems);
            await openV2(page, relay, ["news"]);
            await page.fill("#publish-channel", "news");
            await page.fill("#message", "my own words " + HOSTILE);
            await page.click("#send");
            await until(async () => (await shown(page)).length === 1, "the page's own MSG");
            const [own] = await shown(page);
            assertEquals(own.channel, "news");
            assertEquals(own.text, "my own words " + HOSTILE);
            await page.locator("#send-result", { hasText: `as #${own.seq}.` }).waitFor();
            assertEquals(
              await page.textContent("#send-result"),
              `Published on news as #${own.seq}.`,
            );
            assertEquals(await entries(page, "out"), ["my own words " + HOSTILE]);
            await noHtmlRan(page);
            // The same message, with the same number, at a v2 TLS client.
            const line = `MSG news ${own.seq} my own words ${HOSTILE}`;
            await waitFor(() => tls.received.includes(line), 5000, "the MSG at the TLS client");
            await page.close();
          } finally {
            tls.close();
            await relay.shutdown();
          }
        },
      );

      await t.step(
        "a dropped connection resumes from after the last number: what was missed comes once",
        async () => {
          const server = await startTestServer(leaf);
          try {
            const page = await openPage(browser, problems);
            await openV2(page, server, ["news"]);
            const one = await publish(server, "news", "one");
            await until(async () => (await shown(page)).length === 1, "the first MSG");
            const peer = [...server.hub.peers()].find((peer) => peer.transport === "ws")!;
            await peer.shutdown(0); // the server drops the page (close code 1001)
            await page.locator('#state[data-state="waiting"]').waitFor({ timeout: 10_000 });
            const two = await publish(server, "news", "two");
            const three = await publish(server, "news", "three");
            await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
            await subscribed(page, "news");
            await page.locator('#log li.status[data-channel="news"] .text', {
              hasText: `from #${one.seq! + 1}`,
            }).waitFor();
            const four = await publish(server, "news", "four");
            await until(async () => (await shown(page)).length >= 4, "4 MSGs");
            await new Promise((resolve) => setTimeout(resolve, 200)); // a duplicate would show now
            assertEquals(
              (await shown(page)).map(({ seq, text }) => [seq, text]),
              [[one.seq, "one"], [two.seq, "two"], [three.seq, "three"], [four.seq, "four"]],
            );
            assertEquals(await page.locator("#log li.gap").count(), 0);
            await page.close();
          } finally {
            await server.shutdown();
          }
        },
      );

      await t.step(
        "after the server restarts on the same port the page resumes and shows the GAP",
        async () => {
          const first = await startTestServer({ ...leaf, relay: true });
          const ports = { port: first.port, wsPort: first.web!.address.port };
          // While the server is down, Chromium reports each refused reconnect on the console.
          const restartProblems: string[] = [];
          const page = await openPage(browser, restartProblems);
          let second: TestServer | undefined;
          try {
            await openV2(page, first, ["news", "metrics/cpu"]);
            await page.click("#clear"); // a shorter log for the screenshot
            await publish(first, "metrics/cpu", "cpu 41%");
            await page.fill("#publish-channel", "news");
            await page.fill("#message", "published from the page");
            await page.press("#message", "Enter");
            // The page's own message first: "before" is then the last news message it saw.
            await until(async () => (await shown(page)).length === 2, "the page's own MSG");
            const before = await publish(first, "news", "the last message before the restart");
            await until(async () => (await shown(page)).length === 3, "3 MSGs");
            await first.shutdown();
            await page.locator('#state[data-state="waiting"]').waitFor({ timeout: 10_000 });
            second = await startTestServer({ ...leaf, relay: true, ...ports });
            const gap = page.locator('#log li.gap[data-channel="news"] .text');
            await gap.waitFor({ timeout: 20_000 });
            const text = (await gap.textContent())!;
            assert(text.includes(`from #${before.seq! + 1} `), text);
            await subscribed(page, "news");
            await subscribed(page, "metrics/cpu");
            await until(async () => (await rowCells(page, "news"))[4] === "1", "a gap counted");
            const after = await publish(second, "news", "the first message after the restart");
            await publish(second, "metrics/cpu", "cpu 7%");
            await until(async () => (await shown(page)).length === 5, "5 MSGs");
            const news = await shown(page, "news");
            assertEquals(news.at(-1)!.text, "the first message after the restart");
            assertEquals(news.at(-1)!.seq, after.seq);
            assert(after.seq! > before.seq!, "numbers never go back across a restart");
            await noHtmlRan(page);
            await page.screenshot({ path: `${OUTPUT}client-v2.png`, fullPage: true });
            assertEquals(
              restartProblems.filter((line) => !/WebSocket connection to .* failed/.test(line)),
              [],
            );
            await page.close();
          } finally {
            await first.shutdown();
            await second?.shutdown();
          }
        },
      );

      await t.step(
        "the dashboard lists channels with counts and rates, and sends on a channel to a v2 TLS client",
        async () => {
          const server = await startTestServer({ ...leaf, publishToken: PUBLISH_TOKEN });
          const v1 = await TestClient.connect(server);
          const v2 = await TestClient.connect(server, { alpn: ["tlspush/2"] });
          try {
            await v2.send("SUB news");
            await waitFor(() => v2.received[0]?.startsWith("OK SUB news "), 5000, "OK SUB");
            const client = await openPage(browser, problems);
            await openV2(client, server, ["news", "broadcast"]);
            const admin = await openPage(browser, problems);
            await admin.goto(`${origin(server)}/admin?token=${server.web!.auth.token}`);
            await admin.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });

            // Traffic: news at a rising rate, a metrics channel nobody subscribes to (retained only).
            for (let round = 0; round < 5; round++) {
              for (let i = 0; i < 4 * (round + 1); i++) {
                await publish(server, "news", `tick ${round}.${i}`);
                await new Promise((resolve) => setTimeout(resolve, 1000 / (4 * (round + 1))));
              }
              await publish(server, "metrics/cpu", `cpu ${40 + round}%`);
            }
            const row = (channel: string) =>
              admin.locator(`#channels tr[data-channel="${channel}"] td`).allTextContents();
            await until(async () => (await row("news"))[2] === "60", "news retained 60");
            const news = await row("news");
            assertEquals(news.slice(0, 3), ["news", "2", "60"]); // the v2 TLS client and the page
            assert(Number(news[3]) > 0, `news messages/s ${news[3]}`);
            await until(async () => (await row("metrics/cpu"))[2] === "5", "metrics retained 5");
            assertEquals((await row("metrics/cpu")).slice(0, 3), ["metrics/cpu", "0", "5"]);
            assertEquals((await row("broadcast")).slice(0, 3), ["broadcast", "2", "0"]); // v1 + page
            assertEquals(await admin.textContent("#channel-count"), "3");
            assertEquals(await admin.textContent("#channels-count"), "3 channels");

            await admin.fill("#broadcast-channel", "news");
            await admin.fill("#broadcast", "hello news, from the dashboard " + HOSTILE);
            await admin.click("#broadcast-send");
            const line = await waitFor(
              () =>
                v2.received.find((m) => m.endsWith(" hello news, from the dashboard " + HOSTILE)),
              10_000,
              "the MSG at the v2 TLS client",
            );
            const match = /^MSG news (\d+) /.exec(line);
            assert(match, line);
            const seq = Number(match[1]);
            await admin.locator("#broadcast-result", { hasText: `as #${seq}.` }).waitFor();
            assertEquals(
              await admin.textContent("#broadcast-result"),
              `Sent to 2 clients on news as #${seq}.`,
            );
            await until(
              async () => (await shown(client, "news")).some((m) => m.seq === seq),
              "the dashboard's message on the page",
            );
            assertEquals(await admin.locator("#log img, #log script, #log b").count(), 0);

            // A bad channel name is refused by the server, with the rule.
            await admin.fill("#broadcast-channel", "no spaces");
            await admin.fill("#broadcast", "nowhere");
            await admin.press("#broadcast", "Enter");
            await admin.locator("#broadcast-result.bad", { hasText: "channel names are" })
              .waitFor();
            assertEquals(
              await admin.textContent("#broadcast-result"),
              "not sent: channel names are 1 to 128 bytes of A-Z a-z 0-9 _ - . : /",
            );

            // A channel's name in the table picks it; broadcast reaches the v1 client, not news'.
            await admin.click('#channels tr[data-channel="broadcast"] button');
            assertEquals(await admin.inputValue("#broadcast-channel"), "broadcast");
            await admin.fill("#broadcast", "to every v1 client");
            await admin.press("#broadcast", "Enter");
            await waitFor(
              () => v1.received.includes("to every v1 client"),
              10_000,
              "the v1 client",
            );
            assert(
              !v1.received.some((m) => m.includes("hello news")),
              "news is not for v1 clients",
            );
            assert(
              !v2.received.some((m) => m.includes("to every v1 client")),
              "v2: not subscribed",
            );
            await admin.locator("#broadcast-result", { hasText: "Sent to 2 clients on broadcast" })
              .waitFor();
            await admin.fill("#broadcast-channel", "news");
            await new Promise((resolve) => setTimeout(resolve, 1200)); // one more chart point
            assert(await admin.locator("#cluster").isHidden(), "no cluster card without --broker");
            await admin.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });
            await client.close();
            await admin.close();
          } finally {
            v1.close();
            v2.close();
            await server.shutdown();
          }
        },
      );

      await t.step({
        name: "with --broker, the dashboard shows the broker and every instance with its clients",
        // Without redis-server it fails under CI (brokers.ts says what to install), else skips.
        ignore: brokerBinary("redis") === undefined && !Deno.env.get("CI"),
        fn: async () => {
          const redis = await startBrokerServer("redis");
          const [a, b] = [
            await startTestServer({ ...leaf, broker: redis.url }),
            await startTestServer({ ...leaf, broker: redis.url }),
          ];
          const onB = await Promise.all([TestClient.connect(b), TestClient.connect(b)]);
          try {
            const admin = await openPage(browser, problems);
            await admin.goto(`${origin(a)}/admin?token=${a.web!.auth.token}`);
            await admin.locator('#broker-state[data-state="connected"]').waitFor({
              timeout: 10_000,
            });
            assertEquals(await admin.textContent("#broker"), redis.url);
            // B's heartbeat (every 5 s) carries its two clients.
            await admin.locator("#instances tr[data-instance] td.clients", { hasText: "2" })
              .waitFor({ timeout: 15_000 });
            assertEquals(await admin.locator("#instances tbody tr").count(), 2);
            assertEquals(
              await admin.locator("#instances td", { hasText: "(this one)" }).count(),
              1,
            );
            await admin.screenshot({ path: `${OUTPUT}dashboard-cluster.png`, fullPage: true });

            await redis.kill("SIGKILL");
            await admin.locator('#broker-state[data-state="error"]').waitFor({ timeout: 15_000 });
            assertEquals(await admin.textContent("#broker-state"), "broker down");
            await admin.close();
          } finally {
            for (const c of onB) c.close();
            await Promise.all([a.shutdown(), b.shutdown()]);
            await redis.stop();
          }
        },
      });

      assertEquals(problems, []);
    } finally {
      await browser.close();
    }
  },
});
