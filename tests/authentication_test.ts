/**
 * Authentication over real sockets (DESIGN.md section 10): `AUTH` first on v2 TLS, `?token=` and
 * `AUTH` on WebSocket, `ERR not-authenticated` and `ERR forbidden`, v1 clients refused, the
 * authentication deadline, a token's expiry and its renewal, the attacks (expired, not yet
 * valid, wrong signature, `alg: none`, HS/RS confusion, missing claims), and what `/metrics`
 * counts. Loopback only.
 */
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { mintToken } from "../auth/token_minting.ts";
import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, type TestServer, waitFor } from "./helpers.ts";
import { rawUpgrade, trustingClient, webPort, WsTestClient } from "./web_helpers.ts";

const SECRET = "auth-test-secret-0123456789-0123456789";
const V2 = ["tlspush/2"];
const now = () => Math.floor(Date.now() / 1000);
const base64url = (text: string) =>
  btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function token(
  claims: { sub?: string; subs?: string[]; pubs?: string[]; ttl?: number; nbf?: number } = {},
): Promise<string> {
  return mintToken({
    key: { secret: SECRET },
    sub: claims.sub ?? "alice",
    subs: claims.subs ?? ["metrics.*"],
    pubs: claims.pubs ?? ["chat"],
    ttlSeconds: claims.ttl ?? 3600,
    notBeforeSeconds: claims.nbf,
  });
}

function authServer(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  return startTestServer({ jwtSecret: SECRET, jwtClockSkewMs: 0, ...options });
}

/** Sends `commands` and waits for as many replies as were sent (`extra` more, e.g. MSGs). */
async function exchange(
  client: TestClient,
  extra: number,
  ...commands: string[]
): Promise<string[]> {
  const before = client.received.length;
  await client.send(...commands);
  await client.waitForMessages(before + commands.length + extra);
  return client.received.slice(before);
}

Deno.test("v2 over TLS: nothing before AUTH; then SUB and PUB within the token's patterns only", async () => {
  const server = await authServer();
  const client = await TestClient.connect(server, { alpn: V2 });
  assertEquals(await exchange(client, 0, "SUB metrics.cpu", "PUB chat hi", "PING"), [
    "ERR not-authenticated send AUTH <token> first",
    "ERR not-authenticated send AUTH <token> first",
    "ERR not-authenticated send AUTH <token> first",
  ]);
  assertEquals(await exchange(client, 0, `AUTH ${await token()}`), ["OK AUTH alice"]);
  const replies = await exchange(
    client,
    0,
    "SUB metrics.cpu",
    "SUB alerts",
    "SUB metrics",
    "PUB news nope",
    "PING",
  );
  assert(/^OK SUB metrics\.cpu \d+$/.test(replies[0]), replies[0]);
  assertEquals(replies.slice(1), [
    "ERR forbidden alice may not subscribe to alerts",
    "ERR forbidden alice may not subscribe to metrics",
    "ERR forbidden alice may not publish on news",
    "PONG",
  ]);
  // With authentication on, the token's pubs decide: no --relay needed.
  const published = await exchange(client, 0, "PUB chat hello");
  assert(/^OK PUB chat \d+$/.test(published[0]), published[0]);
  assert(server.log.some((line) => /authenticated as "alice"/.test(line)));
  assert(!server.log.some((line) => line.includes(SECRET)), "the secret is never logged");
  client.close();
  await server.shutdown();
});

Deno.test("HELLO tlspush/2 is allowed before AUTH (plain TCP and TLS without ALPN)", async () => {
  const server = await authServer({ plain: true, ws: false });
  const client = await TestClient.connect(server, { plain: true });
  assertEquals(await exchange(client, 0, "HELLO tlspush/2", `AUTH ${await token()}`), [
    "OK HELLO",
    "OK AUTH alice",
  ]);
  client.close();
  await server.shutdown();
});

Deno.test("refused tokens: expired, not yet valid, wrong signature, alg none, missing claims, garbage", async () => {
  const server = await authServer();
  const client = await TestClient.connect(server, { alpn: V2 });
  const exp = now() + 600;
  const other = new TextEncoder().encode("another-secret-0123456789-0123456789-xyz");
  const none = `${base64url('{"alg":"none"}')}.${
    base64url(JSON.stringify({ sub: "mallory", exp, subs: ["*"] }))
  }.`;
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
  const [header, , signature] = (await token()).split(".");
  const forged = `${header}.${
    base64url(JSON.stringify({ sub: "alice", exp, subs: ["*"] }))
  }.${signature}`;
  const attempts: [string, string][] = [
    [await sign({ sub: "alice", exp: now() - 30 }), "token expired"],
    [await token({ nbf: 600 }), "token not yet valid (nbf)"],
    [
      await new SignJWT({ sub: "alice", exp }).setProtectedHeader({ alg: "HS256" }).sign(other),
      "bad signature",
    ],
    [forged, "bad signature"],
    [none, "token algorithm not allowed: this server takes HS256 only"],
    [await sign({ sub: "alice" }), 'token has no "exp" claim'],
    [await sign({ exp }), 'token has no "sub" claim'],
    [
      await sign({ sub: "alice", exp, subs: ["a*b"] }),
      'invalid "subs" claim: a list of channel names or prefixes ending in "*"',
    ],
    ["not.a.token", "malformed token"],
  ];
  const replies = await exchange(
    client,
    0,
    ...attempts.map(([t]) => `AUTH ${t}`),
    "SUB metrics.cpu",
  );
  assertEquals(replies, [
    ...attempts.map(([, reason]) => `ERR not-authenticated ${reason}`),
    "ERR not-authenticated send AUTH <token> first",
  ]);
  const logged = server.log.join("\n");
  for (const [t] of attempts) assert(!logged.includes(t), "a token is never logged");
  assertEquals(server.hub.security.authFailures, attempts.length);
  client.close();
  await server.shutdown();
});

Deno.test("RS256 server: an HS256 token signed with its public key PEM (HS/RS confusion) is refused", async () => {
  const { publicKey } = await generateKeyPair("RS256", { extractable: true });
  const pem = await exportSPKI(publicKey);
  const dir = await Deno.makeTempDir({ prefix: "tlspush-jwt-" });
  await Deno.writeTextFile(`${dir}/public.pem`, pem);
  const server = await startTestServer({ jwtPublicKey: `${dir}/public.pem` });
  assert(server.log.some((line) => /authentication on: .*a JWT \(RS256\)/.test(line)));
  const client = await TestClient.connect(server, { alpn: V2 });
  const confused = await new SignJWT({ sub: "mallory", exp: now() + 60, subs: ["*"] })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(pem));
  assertEquals(await exchange(client, 0, `AUTH ${confused}`, "SUB anything"), [
    "ERR not-authenticated token algorithm not allowed: this server takes RS256 only",
    "ERR not-authenticated send AUTH <token> first",
  ]);
  client.close();
  await server.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("v1 clients are refused with authentication on, and get no broadcast meanwhile", async () => {
  const server = await authServer({ authTimeoutMs: 60_000 });
  const silent = await TestClient.connect(server); // no ALPN: v1 until it speaks
  const talker = await TestClient.connect(server);
  await waitFor(() => server.hub.size === 2);
  await server.broadcast("secret news");
  await talker.send("hello");
  await talker.closed;
  assertEquals(talker.received, [], "no echo, no broadcast");
  await server.waitForLog(/closed: v1 client refused: authentication is on/);
  await server.broadcast("more secret news");
  // The silent one is still connected, and was sent nothing.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(silent.received, []);
  silent.close();
  await server.shutdown();
});

Deno.test("a client that does not authenticate in time is closed (v2 told why)", async () => {
  const server = await authServer({ authTimeoutMs: 300 });
  const v2 = await TestClient.connect(server, { alpn: V2 });
  const v1 = await TestClient.connect(server);
  await Promise.all([v2.closed, v1.closed]);
  assertEquals(v2.received, ["ERR not-authenticated not authenticated within 0.3 s"]);
  assertEquals(v1.received, []);
  assertEquals(server.hub.security.authClosed, 2);
  assertEquals(server.hub.size, 0);
  await server.shutdown();
});

Deno.test("at exp the connection closes, unless a new AUTH came first; a new token may narrow", async () => {
  const server = await authServer({ history: 0 });
  const expiring = await TestClient.connect(server, { alpn: V2 });
  const renewing = await TestClient.connect(server, { alpn: V2 });
  const short = await token({ ttl: 3, subs: ["metrics.*", "alerts"] });
  assertEquals(await exchange(expiring, 0, `AUTH ${short}`), ["OK AUTH alice"]);
  const first = await exchange(renewing, 0, `AUTH ${short}`, "SUB alerts", "SUB metrics.cpu");
  assertEquals(first[0], "OK AUTH alice");
  assert(
    /^OK SUB alerts \d+$/.test(first[1]) && /^OK SUB metrics\.cpu \d+$/.test(first[2]),
    first.join(),
  );
  // Another identity cannot take the connection over.
  assertEquals(await exchange(renewing, 0, `AUTH ${await token({ sub: "mallory" })}`), [
    "ERR forbidden a new token must name the identity already authenticated",
  ]);
  // Renewed with a longer token that no longer grants alerts: that subscription is dropped.
  assertEquals(await exchange(renewing, 0, `AUTH ${await token({ ttl: 600 })}`), ["OK AUTH alice"]);
  await server.waitForLog(/renewed its token as "alice"/);
  await expiring.closed;
  assertEquals(expiring.received.at(-1), "ERR not-authenticated token expired");
  assertEquals(await exchange(renewing, 0, "PING still here"), ["PONG still here"]);
  const renewedPeer = [...server.hub.peers()][0];
  assertEquals(server.hub.channelsOf(renewedPeer), ["metrics.cpu"]);
  renewing.close();
  await server.shutdown();
});

Deno.test("WebSocket: ?token= before the upgrade, AUTH after it, 401 for a bad token, v1 refused", async () => {
  const server = await authServer();
  const good = await token();
  const viaQuery = await WsTestClient.connect(server, {
    path: `/ws?token=${good}`,
    protocols: ["tlspush.v2"],
  });
  viaQuery.send("SUB metrics.cpu", "SUB alerts");
  await viaQuery.waitForMessages(2);
  assert(/^OK SUB metrics\.cpu \d+$/.test(viaQuery.received[0]));
  assertEquals(viaQuery.received[1], "ERR forbidden alice may not subscribe to alerts");

  const viaCommand = await WsTestClient.connect(server, { protocols: ["tlspush.v2"] });
  viaCommand.send("SUB metrics.cpu", `AUTH ${good}`, "SUB metrics.cpu");
  await viaCommand.waitForMessages(3);
  assertEquals(viaCommand.received.slice(0, 2), [
    "ERR not-authenticated send AUTH <token> first",
    "OK AUTH alice",
  ]);
  assert(/^OK SUB metrics\.cpu \d+$/.test(viaCommand.received[2]));

  const refused = await rawUpgrade(server, "/ws?token=not.a.token", {
    "Sec-WebSocket-Protocol": "tlspush.v2",
  });
  assertEquals(refused.status, 401);
  refused.conn.close();

  const v1 = await WsTestClient.connect(server);
  v1.send("hello");
  const closed = await v1.closed;
  assertEquals(closed.code, 1008);
  assertEquals(v1.received, []);
  await viaQuery.close();
  await viaCommand.close();
  await server.shutdown();
});

Deno.test("/metrics counts what authentication refused", async () => {
  const server = await authServer({ adminToken: "metrics-admin-token-0123" });
  const client = await TestClient.connect(server, { alpn: V2 });
  await exchange(client, 0, "AUTH x.y.z", `AUTH ${await token()}`, "SUB nope");
  const response = await fetch(`https://localhost:${webPort(server)}/metrics`, {
    headers: { authorization: "Bearer metrics-admin-token-0123" },
    client: await trustingClient(server),
  });
  const text = await response.text();
  assert(text.includes("tlspush_auth_failures_total 1"), text);
  assert(text.includes("tlspush_auth_successes_total 1"), text);
  assert(text.includes("tlspush_forbidden_total 1"), text);
  client.close();
  await server.shutdown();
});
