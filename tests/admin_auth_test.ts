/** The admin token: generation, comparison, the three ways a request may carry it. */
import { assert, assertEquals } from "./assert.ts";
import { AdminAuth } from "../web/admin_auth.ts";
import { generateToken } from "../web/secret_token.ts";
import { originAllowed } from "../web/origin.ts";

const TOKEN = "correct-horse-battery-staple";

Deno.test("generated tokens are 256-bit, URL-safe and different each time", () => {
  const a = generateToken();
  const b = generateToken();
  assert(/^[A-Za-z0-9_-]{43}$/.test(a), a);
  assert(a !== b);
  const auth = new AdminAuth(undefined, 9003);
  assert(auth.generated);
  assertEquals(auth.token.length, 43);
  assertEquals(new AdminAuth(TOKEN, 9003).generated, false);
});

Deno.test("matches only the exact token, whatever the length of the guess", () => {
  const auth = new AdminAuth(TOKEN, 9003);
  assert(auth.matches(TOKEN));
  for (
    const guess of [null, undefined, "", "c", TOKEN.slice(0, -1), TOKEN + "x", "X" + TOKEN.slice(1)]
  ) {
    assert(!auth.matches(guess), String(guess));
  }
  // Same length, last character wrong: still refused.
  assert(!auth.matches(TOKEN.slice(0, -1) + "f"));
});

Deno.test("a request may carry the token as a bearer header, in the query or in the cookie", () => {
  const auth = new AdminAuth(TOKEN, 9003);
  const url = "https://localhost:9003/metrics";
  assert(auth.accepts(new Request(url, { headers: { authorization: `Bearer ${TOKEN}` } })));
  assert(auth.accepts(new Request(`${url}?token=${TOKEN}`)));
  assert(auth.inQuery(new Request(`${url}?token=${TOKEN}`)));
  assert(
    auth.accepts(new Request(url, { headers: { cookie: `a=b; tlspush_admin_9003=${TOKEN}` } })),
  );
  assert(!auth.accepts(new Request(url)));
  assert(!auth.accepts(new Request(url, { headers: { authorization: `Basic ${TOKEN}` } })));
  assert(!auth.accepts(new Request(`${url}?token=wrong`)));
  // The cookie of another port's server does not count.
  assert(!auth.accepts(new Request(url, { headers: { cookie: `tlspush_admin_9004=${TOKEN}` } })));
});

Deno.test("the session cookie is HttpOnly, SameSite=Strict, Secure over TLS", () => {
  const cookie = new AdminAuth(TOKEN, 9003).sessionCookie(true);
  assertEquals(cookie, `tlspush_admin_9003=${TOKEN}; Path=/; HttpOnly; SameSite=Strict; Secure`);
});

Deno.test("WebSocket upgrades from another origin are refused; non-browsers have none", () => {
  const request = (origin?: string) =>
    new Request("https://localhost:9003/ws", {
      headers: { host: "localhost:9003", ...(origin ? { origin } : {}) },
    });
  assert(originAllowed(request()));
  assert(originAllowed(request("https://localhost:9003")));
  assert(!originAllowed(request("https://evil.example")));
  assert(!originAllowed(request("https://localhost:9004")));
  assert(!originAllowed(request("http://localhost:9003")));
  assert(!originAllowed(request("null")));
});
