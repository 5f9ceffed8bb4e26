import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { webFetch, webPort, WsTestClient } from "./web_helpers.ts";
import { MAX_BATCH_MESSAGES } from "../web/publish_api.ts";

const TOKEN = "publish-token-for-tests-0123";
const ADMIN = "admin-token-for-tests-456789";

function publish(server: Parameters<typeof webFetch>[0], path: string, init: RequestInit = {}) {
  return webFetch(server, path, {
    method: "POST",
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...init.headers },
  });
}

Deno.test("the README's curl line publishes to every client: TLS and WebSocket alike", async () => {
  const server = await startTestServer({ publishToken: TOKEN });
  await server.waitForLog(/publish API: POST https:\/\/[^ ]+:\d+\/api\/publish\?channel=NAME/);
  assert(!server.log.some((line) => line.includes(TOKEN)), "the token is never logged");
  const tls = await TestClient.connect(server);
  const ws = await WsTestClient.connect(server);

  // The README's example, run as a user would: only the port differs (tests use free ports).
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const line = readme.split("\n").find((text) => text.startsWith("curl --cacert certs/ca.pem"));
  assert(line, "the README shows a curl example");
  const command = line.replace("localhost:9003", `localhost:${webPort(server)}`)
    .replace("channel=metrics", "channel=broadcast");
  const cwd = await Deno.makeTempDir();
  await Deno.mkdir(`${cwd}/certs`);
  await Deno.copyFile(server.caFile, `${cwd}/certs/ca.pem`);
  const curl = await new Deno.Command("bash", {
    args: ["-c", command],
    cwd,
    env: { TOKEN },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(curl.code, 0, new TextDecoder().decode(curl.stderr));
  const answer = JSON.parse(new TextDecoder().decode(curl.stdout));
  assertEquals(answer.channel, "broadcast");
  assertEquals(answer.delivered, 2);
  assertEquals(await tls.waitForMessages(1), ["cpu 93%"]);
  assertEquals(await ws.waitForMessages(1), ["cpu 93%"]);
  await server.waitForLog(/broadcast 7 B to 2 clients/);

  await tls.finish();
  await ws.close();
  await server.shutdown();
  await Deno.remove(cwd, { recursive: true });
});

Deno.test("without a publish token the API answers 404 and the log says how to turn it on", async () => {
  const server = await startTestServer();
  await server.waitForLog(/publish API off: start with --publish-token/);
  const response = await publish(server, "/api/publish", { body: "x" });
  assertEquals(response.status, 404);
  assertEquals((await response.json()).error, "not-found");
  await server.shutdown();
});

Deno.test(
  "the publish API refuses wrong tokens, cookies, the admin token, GET, bad bodies and channels",
  async () => {
    const server = await startTestServer({
      publishToken: TOKEN,
      adminToken: ADMIN,
      maxFrame: 1024,
    });
    const client = await TestClient.connect(server);
    const cases: [string, RequestInit, number, string][] = [
      ["/api/publish", { headers: { authorization: "" } }, 401, "not-authenticated"],
      [
        "/api/publish",
        { headers: { authorization: `Bearer ${TOKEN}x` } },
        401,
        "not-authenticated",
      ],
      ["/api/publish", { headers: { authorization: `Bearer ${ADMIN}` } }, 401, "not-authenticated"],
      [
        "/api/publish",
        { headers: { authorization: "", cookie: `tlspush_admin=${TOKEN}; token=${TOKEN}` } },
        401,
        "not-authenticated",
      ],
      ["/api/publish", { method: "GET" }, 405, "bad-request"],
      ["/api/publish", { body: new Uint8Array([0x68, 0xff, 0x69]) }, 400, "bad-command"],
      ["/api/publish?channel=has%20space", { body: "x" }, 400, "bad-channel"],
      ["/api/publish?channel=" + "c".repeat(129), { body: "x" }, 400, "bad-channel"],
      ["/api/publish", { body: "x".repeat(1025) }, 413, "too-large"],
      ["/api/publish/batch", { body: "not json" }, 400, "bad-command"],
      ["/api/publish/batch", { body: '{"data": "an object, not an array"}' }, 400, "bad-command"],
      ["/api/publish/batch", { body: '["fine", {"data": 5}]' }, 400, "bad-command"],
      [
        "/api/publish/batch",
        { body: '["fine", {"channel": "a b", "data": "x"}]' },
        400,
        "bad-channel",
      ],
      ["/api/publish/batch", { body: '[{"channel": null, "data": "x"}]' }, 400, "bad-channel"],
      [
        "/api/publish/batch",
        { body: JSON.stringify(["fine", "y".repeat(1025)]) },
        413,
        "too-large",
      ],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await publish(server, path, init);
      const body = await response.json();
      assertEquals(
        [response.status, body.error],
        [status, code],
        `${path} ${JSON.stringify(init)}`,
      );
      assert(typeof body.message === "string" && body.message.length > 0);
    }
    // A body over the limit sent without a length (chunked) is cut off as it arrives.
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 3; i++) controller.enqueue(new Uint8Array(600).fill(0x61));
        controller.close();
      },
    });
    assertEquals((await publish(server, "/api/publish", { body: chunked })).status, 413);
    const tooMany = JSON.stringify(Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => ""));
    assertEquals((await publish(server, "/api/publish/batch", { body: tooMany })).status, 413);

    assertEquals(
      server.hub.totals.messagesOut,
      0,
      "nothing refused was published, in part or whole",
    );
    await client.finish();
    await server.shutdown();
  },
);

Deno.test("a batch publishes every message in order, each with its own answer", async () => {
  const server = await startTestServer({ publishToken: TOKEN });
  const client = await TestClient.connect(server);
  const batch = ["one", { data: "two" }, { channel: "broadcast", data: "three" }, ""];
  const response = await publish(server, "/api/publish/batch", { body: JSON.stringify(batch) });
  assertEquals(response.status, 200);
  const { results } = await response.json();
  assertEquals(
    results.map((r: { channel: string; delivered: number }) => [r.channel, r.delivered]),
    [
      ["broadcast", 1],
      ["broadcast", 1],
      ["broadcast", 1],
      ["broadcast", 1],
    ],
  );
  assertEquals(await client.waitForMessages(4), ["one", "two", "three", ""]);
  await waitFor(() =>
    server.log.filter((line) => /broadcast .* to 1 client$/.test(line)).length === 4
  );
  await client.finish();
  await server.shutdown();
});
