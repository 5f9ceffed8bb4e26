/**
 * The web endpoint's guard rails over real HTTPS: the admin token on `/admin`, `/admin/ws` and
 * `/metrics`, the Origin check, the Content-Security-Policy and other headers, pages without
 * inline script, the token absent from every later log line, and the dashboard feed.
 */
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, type TestServer, waitFor } from "./helpers.ts";
import { rawUpgrade, trustingClient, webFetch, webOrigin, webPort } from "./web_helpers.ts";

function tokenOf(server: TestServer): string {
  return server.web!.auth.token;
}

Deno.test("/metrics and /admin refuse a missing or wrong token with 401", async () => {
  const server = await startTestServer();
  for (const path of ["/metrics", "/admin", "/admin?token=wrong", "/admin/ws"]) {
    const response = await webFetch(server, path);
    assertEquals(response.status, 401, path);
    assert(!(await response.text()).includes(tokenOf(server)));
  }
  const wrongBearer = await webFetch(server, "/metrics", {
    headers: { authorization: `Bearer ${"x".repeat(43)}` },
  });
  assertEquals(wrongBearer.status, 401);
  await wrongBearer.body?.cancel();
  const upgrade = await rawUpgrade(server, "/admin/ws");
  assertEquals(upgrade.status, 401);
  upgrade.conn.close();
  await server.shutdown();
});

Deno.test("the dashboard link trades the token for an HttpOnly cookie, then serves the page", async () => {
  const server = await startTestServer({ adminToken: "a-token-for-the-tests-0123" });
  const login = await webFetch(server, "/admin?token=a-token-for-the-tests-0123");
  assertEquals(login.status, 303);
  assertEquals(login.headers.get("location"), "/admin");
  const cookie = login.headers.get("set-cookie")!;
  assert(/HttpOnly; SameSite=Strict; Secure$/.test(cookie), cookie);
  const page = await webFetch(server, "/admin", { headers: { cookie: cookie.split(";")[0] } });
  assertEquals(page.status, 200);
  assertEquals(page.headers.get("cache-control"), "no-store");
  const html = await page.text();
  assert(html.includes("<title>tlspush dashboard</title>"));
  assert(!html.includes("a-token-for-the-tests-0123"));
  // A token given by the operator is never printed.
  assert(!server.log.some((line) => line.includes("a-token-for-the-tests-0123")));
  assert(
    server.log.some((line) =>
      /dashboard: https:\/\/127\.0\.0\.1:\d+\/admin \(token from/.test(line)
    ),
  );
  await server.shutdown();
});

Deno.test("/metrics speaks Prometheus text with the hub's counters", async () => {
  const server = await startTestServer();
  const client = await TestClient.connect(server);
  await client.send("abc", "defg");
  await client.waitForMessages(2);
  const response = await webFetch(server, "/metrics", {
    headers: { authorization: `Bearer ${tokenOf(server)}` },
  });
  assertEquals(response.status, 200);
  assert(response.headers.get("content-type")!.startsWith("text/plain; version=0.0.4"));
  const text = await response.text();
  for (
    const line of [
      'tlspush_connected_clients{transport="tls"} 1',
      'tlspush_connected_clients{transport="ws"} 0',
      "tlspush_messages_received_total 2",
      "tlspush_received_bytes_total 7",
      "tlspush_messages_sent_total 2",
      "tlspush_sent_bytes_total 7",
      "# TYPE tlspush_messages_received_total counter",
      "tlspush_channels 1", // broadcast, of the v1 client
      "tlspush_subscriptions 1",
      "tlspush_retained_messages 0",
    ]
  ) {
    assert(text.split("\n").includes(line), `missing ${line} in\n${text}`);
  }
  client.close();
  await server.shutdown();
});

Deno.test("pages and assets carry a strict CSP and no inline script or style", async () => {
  const server = await startTestServer();
  const cookie = `${server.web!.auth.cookieName}=${tokenOf(server)}`;
  const expected: [string, string][] = [
    ["/", "text/html"],
    ["/admin", "text/html"],
    ["/client.js", "text/javascript"],
    ["/admin.js", "text/javascript"],
    ["/v2.js", "text/javascript"],
    ["/subscriptions.js", "text/javascript"],
    ["/style.css", "text/css"],
    ["/uplot.js", "text/javascript"],
    ["/uplot.css", "text/css"],
    ["/favicon.svg", "image/svg+xml"],
  ];
  for (const [path, type] of expected) {
    const response = await webFetch(server, path, { headers: { cookie } });
    assertEquals(response.status, 200, path);
    assert(response.headers.get("content-type")!.startsWith(type), path);
    const csp = response.headers.get("content-security-policy")!;
    assert(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), csp);
    assert(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
    assertEquals(response.headers.get("x-content-type-options"), "nosniff");
    assertEquals(response.headers.get("referrer-policy"), "no-referrer");
    assertEquals(response.headers.get("x-frame-options"), "DENY");
    const body = await response.text();
    if (type === "text/html") {
      // Every <script> has a src (no inline code), no inline event handlers or style attributes.
      for (const tag of body.match(/<script\b[^>]*>/g) ?? []) assert(/\bsrc=/.test(tag), tag);
      assert(!/\son[a-z]+=/i.test(body), `inline handler in ${path}`);
      assert(!/\sstyle=/i.test(body), `inline style in ${path}`);
    }
    if (path === "/uplot.js") assert(body.startsWith("/*! https://github.com/leeoniya/uPlot"));
  }
  const missing = await webFetch(server, "/nope");
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  const post = await webFetch(server, "/", { method: "POST", body: "x" });
  assertEquals(post.status, 405);
  await post.body?.cancel();
  await server.shutdown();
});

Deno.test("WebSocket upgrades from another origin are refused with 403", async () => {
  const server = await startTestServer();
  const own = webOrigin(server);
  const cookie = `${server.web!.auth.cookieName}=${tokenOf(server)}`;
  const cases: [string, Record<string, string>, number][] = [
    ["/ws", { origin: "https://evil.example" }, 403],
    ["/ws", { origin: own }, 101],
    ["/ws", {}, 101],
    ["/admin/ws", { origin: "https://evil.example", cookie }, 403],
    ["/admin/ws", { origin: own, cookie }, 101],
  ];
  for (const [path, headers, status] of cases) {
    const upgrade = await rawUpgrade(server, path, headers);
    assertEquals(upgrade.status, status, `${path} ${JSON.stringify(headers)}`);
    upgrade.conn.close();
  }
  await server.shutdown();
});

Deno.test("the dashboard feed streams stats and log lines and broadcasts to every client", async () => {
  const server = await startTestServer();
  const tls = await TestClient.connect(server);
  const feed = new WebSocket(`wss://localhost:${webPort(server)}/admin/ws`, {
    client: await trustingClient(server),
    headers: { authorization: `Bearer ${tokenOf(server)}` },
  });
  // deno-lint-ignore no-explicit-any
  const messages: any[] = [];
  feed.onmessage = (event) => messages.push(JSON.parse(event.data));
  await new Promise((resolve, reject) => {
    feed.onopen = resolve;
    feed.onerror = reject;
  });
  const hello = await waitFor(() => messages.find((m) => m.type === "hello"), 5000, "hello");
  assertEquals(hello.stats.connected, 1);
  assertEquals(hello.stats.peers[0].transport, "tls");
  assert(hello.log.some((line: string) => /listening on/.test(line)));
  // The dashboard line is in the history, but the token is not.
  assert(hello.log.some((line: string) => line.includes("/admin?token=<admin token>")));
  assert(!JSON.stringify(hello).includes(tokenOf(server)));

  feed.send(JSON.stringify({ type: "broadcast", text: "from the dashboard" }));
  assertEquals(await tls.waitForMessages(1), ["from the dashboard"]);
  await waitFor(() => messages.find((m) => m.type === "broadcast" && m.clients === 1), 5000, "ack");
  await waitFor(
    () => messages.find((m) => m.type === "log" && /broadcast .* to 1 client/.test(m.line)),
    5000,
    "the broadcast log line",
  );
  const stats = await waitFor(
    () => messages.find((m) => m.type === "stats" && m.stats.channels.retained === 1),
    5000,
    "a stats update",
  );
  assertEquals(stats.stats.channels.top[0].channel, "broadcast");
  assertEquals(stats.stats.channels.top[0].subscribers, 1);

  // On a channel: a v2 client subscribed to it gets it as MSG; the v1 client does not.
  const v2 = await TestClient.connect(server, { alpn: ["tlspush/2"] });
  await v2.send("SUB news");
  await v2.waitForMessages(1);
  feed.send(JSON.stringify({ type: "broadcast", text: "news for v2", channel: "news" }));
  const ack = await waitFor(
    () => messages.find((m) => m.type === "broadcast" && m.channel === "news"),
    5000,
    "the ack on news",
  );
  assertEquals(ack.clients, 1);
  assertEquals((await v2.waitForMessages(2))[1], `MSG news ${ack.seq} news for v2`);
  await waitFor(
    () =>
      messages.find((m) => m.type === "log" && /published 11 B on news to 1 client/.test(m.line)),
    5000,
    "the log line naming the channel",
  );
  for (const channel of ["no spaces", "", 7, "x".repeat(129)]) {
    feed.send(JSON.stringify({ type: "broadcast", text: "nowhere", channel }));
  }
  await waitFor(
    () =>
      messages.filter((m) => m.type === "error" && /^not sent: channel names/.test(m.message))
        .length === 4,
    5000,
    "four refusals of bad channel names",
  );
  assertEquals(tls.received, ["from the dashboard"]);
  v2.close();
  feed.send("not json");
  await waitFor(
    () => messages.find((m) => m.message === "unknown command"),
    5000,
    "an error reply",
  );

  const closed = new Promise((resolve) => feed.onclose = resolve);
  feed.close();
  await closed;
  tls.close();
  await server.shutdown();
  // The token appears in exactly one log line: the dashboard URL at startup.
  assertEquals(server.log.filter((line) => line.includes(tokenOf(server))).length, 1);
});
