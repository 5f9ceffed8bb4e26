/**
 * The pages in a real browser (headless Chromium through playwright-core), against a server on
 * loopback: the client page connects, sends, shows echoes and broadcasts; the dashboard lists
 * TLS and browser clients, broadcasts to both and charts the traffic, and refuses a missing or
 * wrong token; HTML in messages stays text. Screenshots go to `test-output/`.
 *
 * playwright-core probes `/proc` when it loads, which Deno allows only with `--allow-all`, so
 * `browser_test.ts` runs this file in a child `deno test --allow-all`; the rest of the suite
 * keeps its narrower permissions.
 */
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { launchBrowser } from "./browser.ts";
import {
  entries,
  fixedLeaf,
  openPage,
  origin,
  OUTPUT,
  until,
  waitForEntry,
} from "./browser_helpers.ts";

Deno.test({
  name: "browser: client page, dashboard, tokens, HTML stays text, screenshots",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await Deno.mkdir(OUTPUT, { recursive: true });
    const leaf = await fixedLeaf();
    const browser = await launchBrowser(leaf.cert);
    const problems: string[] = [];
    try {
      await t.step("the client page connects, sends, shows the echo and a broadcast", async () => {
        const server = await startTestServer(leaf);
        try {
          const page = await openPage(browser, problems);
          await page.goto(`${origin(server)}/`);
          await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
          assertEquals(
            await page.inputValue("#url"),
            `wss://localhost:${server.web!.address.port}/ws`,
          );
          // A plain / (an old bookmark) is v1, as it always was: no channels, plain echo.
          assertEquals(await page.inputValue("#protocol"), "v1");
          assert(await page.isHidden("#channels-card"));
          assertEquals(new URL(page.url()).search, "");
          await page.fill("#message", "hello from the browser");
          await page.press("#message", "Enter");
          await waitForEntry(page, "in", "hello from the browser");
          assertEquals(await page.locator("#log li.in .tag").first().textContent(), "echo");
          server.broadcast("the operator says hi");
          await waitForEntry(page, "in", "the operator says hi");
          assertEquals(await entries(page, "out"), ["hello from the browser"]);
          assertEquals(await page.textContent("#count-in"), "2");
          await page.click("#disconnect");
          await page.locator('#state[data-state="disconnected"]').waitFor();
          assert(await page.isDisabled("#send"));
          await page.click("#connect");
          await page.locator('#state[data-state="connected"]').waitFor();
          await page.fill("#message", "back again ✓");
          await page.click("#send");
          await waitForEntry(page, "in", "back again ✓");
          await page.close();
        } finally {
          await server.shutdown();
        }
      });

      await t.step("HTML and script in messages are shown as text and run nothing", async () => {
        const server = await startTestServer({ ...leaf, relay: true });
        try {
          const page = await openPage(browser, problems);
          await page.goto(`${origin(server)}/`);
          await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
          const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>` +
            `<b>bold</b>`;
          // From another client (relayed), from the browser itself (echo), from the operator.
          const tls = await TestClient.connect(server);
          await tls.send(hostile);
          await page.fill("#message", hostile + " (typed)");
          await page.press("#message", "Enter");
          server.broadcast(hostile + " (broadcast)");
          await until(async () => (await entries(page, "in")).length >= 3, "3 messages");
          const shown = await entries(page, "in");
          assert(shown.includes(hostile), JSON.stringify(shown));
          assert(shown.includes(hostile + " (typed)"));
          assert(shown.includes(hostile + " (broadcast)"));
          assertEquals(await page.locator("#log img, #log script, #log b").count(), 0);
          assertEquals(
            await page.evaluate(() => (globalThis as { pwned?: number }).pwned),
            undefined,
          );
          tls.close();
          await page.close();
        } finally {
          await server.shutdown();
        }
      });

      await t.step("the dashboard lists TLS and browser clients, broadcasts, charts", async () => {
        const server = await startTestServer(leaf);
        const tls = await TestClient.connect(server);
        const second = await TestClient.connect(server);
        try {
          const client = await openPage(browser, problems);
          await client.goto(`${origin(server)}/`);
          await client.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });

          const admin = await openPage(browser, problems);
          const token = server.web!.auth.token;
          await admin.goto(`${origin(server)}/admin?token=${token}`);
          // The token left the address bar for an HttpOnly cookie.
          assertEquals(admin.url(), `${origin(server)}/admin`);
          await admin.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
          await admin.locator('#clients tr[data-transport="ws"]').waitFor({ timeout: 10_000 });
          assertEquals(await admin.locator('#clients tr[data-transport="tls"]').count(), 2);
          assertEquals(await admin.textContent("#connected"), "3");
          assert(
            (await admin.locator("#server-log li").allTextContents()).some((line) =>
              /connected from 127\.0\.0\.1:\d+ over WebSocket/.test(line)
            ),
          );

          // Traffic for the chart: a few seconds of echoes at a varying rate (bounded).
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 10 * (round + 1); i++) {
              await tls.send(`tick ${round}.${i}`);
              await new Promise((resolve) => setTimeout(resolve, 1000 / (10 * (round + 1))));
            }
            await client.fill("#message", `browser message ${round}`);
            await client.press("#message", "Enter");
          }
          await until(
            async () => Number(await admin.getAttribute("#chart", "data-points")) >= 4,
            "chart points",
          );
          assertEquals(await admin.locator("#chart canvas").count(), 1);
          const rate = await admin.textContent("#rate-messages");
          assert(Number(rate!.replaceAll(",", "")) > 0, `messages/s ${rate}`);

          await admin.fill("#broadcast", "hello everyone, from the dashboard");
          await admin.click("#broadcast-send");
          await waitForEntry(client, "in", "hello everyone, from the dashboard");
          await waitFor(
            () => tls.received.includes("hello everyone, from the dashboard"),
            10_000,
            "the broadcast at the TLS client",
          );
          await admin.locator("#broadcast-result", {
            hasText: "Sent to 3 clients on broadcast as #",
          })
            .waitFor();
          await client.screenshot({ path: `${OUTPUT}client.png` });
          await client.close();
          await admin.close();
        } finally {
          tls.close();
          second.close();
          await server.shutdown();
        }
      });

      await t.step("the dashboard refuses a missing or wrong token", async () => {
        const server = await startTestServer(leaf);
        try {
          await browser.context.clearCookies();
          const page = await openPage(browser, []); // a 401 page logs a console error: expected
          for (const path of ["/admin", "/admin?token=wrong", "/metrics"]) {
            const response = await page.goto(`${origin(server)}${path}`);
            assertEquals(response?.status(), 401, path);
            assert((await page.textContent("body"))!.includes("admin token required"));
          }
          // A cookie from an earlier server (another token) does not open this one.
          const response = await page.goto(`${origin(server)}/admin?token=${"A".repeat(43)}`);
          assertEquals(response?.status(), 401);
          await page.close();
        } finally {
          await server.shutdown();
        }
      });

      assertEquals(problems, []);
    } finally {
      await browser.close();
    }
  },
});
