/**
 * The JWT verifier against the attacks a token server meets: every refusal named, with the
 * reason the client is told; nothing here needs a socket (the server tests prove the same over
 * real connections).
 */
import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { AuthenticationError, VerificationKeyError } from "../auth/auth_errors.ts";
import { JwtVerifier, MAX_TOKEN_LENGTH } from "../auth/jwt_verifier.ts";
import { mintToken } from "../auth/token_minting.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const SECRET = "test-secret-0123456789-0123456789-abcdef";
const now = () => Math.floor(Date.now() / 1000);
const bytes = (text: string) => new TextEncoder().encode(text);
const base64url = (text: string) =>
  btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

async function refusal(verifier: JwtVerifier, token: string): Promise<string> {
  const error = await assertRejects(verifier.verify(token), AuthenticationError);
  return (error as AuthenticationError).reason;
}

function hs256(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(bytes(secret));
}

Deno.test("a valid HS256 token gives its identity, patterns and expiry", async () => {
  const verifier = await JwtVerifier.fromSecret(SECRET, { clockSkewMs: 0 });
  const exp = now() + 60;
  const token = await hs256({ sub: "alice", exp, subs: ["metrics.*", "alerts"], pubs: ["chat"] });
  const permissions = await verifier.verify(token);
  assertEquals(permissions.identity, "alice");
  assertEquals(permissions.source, "token");
  assertEquals(permissions.expiresAt, exp * 1000);
  assert(permissions.maySubscribe("metrics.cpu") && permissions.maySubscribe("alerts"));
  assert(!permissions.maySubscribe("metrics") && !permissions.maySubscribe("chat"));
  assert(permissions.mayPublish("chat") && !permissions.mayPublish("alerts"));
});

Deno.test("no subs or pubs claim: nothing may be subscribed or published", async () => {
  const verifier = await JwtVerifier.fromSecret(SECRET);
  const permissions = await verifier.verify(await hs256({ sub: "bob", exp: now() + 60 }));
  assert(!permissions.maySubscribe("broadcast") && !permissions.mayPublish("broadcast"));
});

Deno.test("expired, not yet valid, and the clock skew allowed", async () => {
  const strict = await JwtVerifier.fromSecret(SECRET, { clockSkewMs: 0 });
  const lenient = await JwtVerifier.fromSecret(SECRET, { clockSkewMs: 30_000 });
  const expired = await hs256({ sub: "a", exp: now() - 10 });
  assertEquals(await refusal(strict, expired), "token expired");
  assertEquals((await lenient.verify(expired)).identity, "a", "10 s late is within 30 s of skew");
  assertEquals(await refusal(lenient, await hs256({ sub: "a", exp: now() - 60 })), "token expired");
  const early = await hs256({ sub: "a", exp: now() + 120, nbf: now() + 60 });
  assertEquals(await refusal(strict, early), "token not yet valid (nbf)");
  assertEquals(await refusal(lenient, early), "token not yet valid (nbf)");
  const almost = await hs256({ sub: "a", exp: now() + 120, nbf: now() + 10 });
  assertEquals((await lenient.verify(almost)).identity, "a");
});

Deno.test("missing or malformed claims are refused by name", async () => {
  const verifier = await JwtVerifier.fromSecret(SECRET);
  const exp = now() + 60;
  assertEquals(await refusal(verifier, await hs256({ sub: "a" })), 'token has no "exp" claim');
  assertEquals(await refusal(verifier, await hs256({ exp })), 'token has no "sub" claim');
  assertEquals(
    await refusal(verifier, await hs256({ sub: "a", exp: "soon" })),
    'invalid "exp" claim',
  );
  for (const subs of ["metrics.*", [1], ["a*b"], [""], { a: 1 }]) {
    assert(
      (await refusal(verifier, await hs256({ sub: "a", exp, subs }))).startsWith('invalid "subs"'),
      JSON.stringify(subs),
    );
  }
  assert(
    (await refusal(verifier, await hs256({ sub: "a", exp, pubs: "x" }))).startsWith(
      'invalid "pubs"',
    ),
  );
  for (const sub of ["", "evil\nclient #1 authenticated", "x".repeat(257), 42]) {
    const reason = await refusal(verifier, await hs256({ sub, exp }));
    assert(reason.startsWith('invalid "sub"'), `${JSON.stringify(sub)}: ${reason}`);
  }
});

Deno.test("a wrong signature, a tampered payload and garbage are refused", async () => {
  const verifier = await JwtVerifier.fromSecret(SECRET);
  const exp = now() + 60;
  const other = await hs256({ sub: "a", exp, subs: ["*"] }, "another-secret-0123456789-0123456789");
  assertEquals(await refusal(verifier, other), "bad signature");
  const [header, , signature] = (await hs256({ sub: "a", exp, subs: ["news"] })).split(".");
  const forged = base64url(JSON.stringify({ sub: "a", exp, subs: ["*"] }));
  assertEquals(await refusal(verifier, `${header}.${forged}.${signature}`), "bad signature");
  for (const garbage of ["x", "a.b.c", "...", "eyJ.eyJ.", `${header}.${forged}`]) {
    assertEquals(await refusal(verifier, garbage), "malformed token", garbage);
  }
  assertEquals(
    await refusal(verifier, "a".repeat(MAX_TOKEN_LENGTH + 1)),
    `token longer than ${MAX_TOKEN_LENGTH} characters`,
  );
});

Deno.test('alg "none" is refused, whatever the key', async () => {
  const header = base64url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const payload = base64url(JSON.stringify({ sub: "mallory", exp: now() + 60, subs: ["*"] }));
  const hs = await JwtVerifier.fromSecret(SECRET);
  assertEquals(
    await refusal(hs, `${header}.${payload}.`),
    "token algorithm not allowed: this server takes HS256 only",
  );
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  const es = await JwtVerifier.fromPublicKey(await exportSPKI(publicKey));
  assertEquals(
    await refusal(es, `${header}.${payload}.`),
    "token algorithm not allowed: this server takes ES256 only",
  );
});

Deno.test("HS/RS confusion: an HS256 token signed with the RSA public key PEM is refused", async () => {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const pem = await exportSPKI(publicKey);
  const verifier = await JwtVerifier.fromPublicKey(pem);
  assertEquals(verifier.algorithm, "RS256");
  const claims = { sub: "mallory", exp: now() + 60, subs: ["*"], pubs: ["*"] };
  assertEquals(
    await refusal(verifier, await hs256(claims, pem)),
    "token algorithm not allowed: this server takes RS256 only",
  );
  // The real key pair works, through the minting code the token task uses.
  const token = await mintToken({
    key: { privateKeyPem: await exportPKCS8(privateKey) },
    sub: "alice",
    subs: ["news"],
    pubs: [],
    ttlSeconds: 60,
  });
  assertEquals((await verifier.verify(token)).identity, "alice");
  // ES256 signed for another key of the same kind is a bad signature; another kind is refused.
  const es = await generateKeyPair("ES256");
  const esToken = await new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(
    es.privateKey,
  );
  assertEquals(
    await refusal(verifier, esToken),
    "token algorithm not allowed: this server takes RS256 only",
  );
});

Deno.test("ES256: its own tokens pass, another key's do not", async () => {
  const mine = await generateKeyPair("ES256", { extractable: true });
  const theirs = await generateKeyPair("ES256", { extractable: true });
  const verifier = await JwtVerifier.fromPublicKey(await exportSPKI(mine.publicKey));
  assertEquals(verifier.algorithm, "ES256");
  const mint = async (key: CryptoKey) =>
    await mintToken({
      key: { privateKeyPem: await exportPKCS8(key) },
      sub: "sensor-7",
      subs: [],
      pubs: ["metrics.sensor-7"],
      ttlSeconds: 60,
    });
  assert((await verifier.verify(await mint(mine.privateKey))).mayPublish("metrics.sensor-7"));
  assertEquals(await refusal(verifier, await mint(theirs.privateKey)), "bad signature");
});

Deno.test("keys the server cannot use are refused with a clear message", async () => {
  await assertRejects(
    JwtVerifier.fromSecret("short"),
    VerificationKeyError,
    "at least 32 bytes",
  );
  await assertRejects(
    JwtVerifier.fromPublicKey("hello"),
    VerificationKeyError,
    "not a PEM public key",
  );
  const { privateKey, publicKey } = await generateKeyPair("ES384", { extractable: true });
  await assertRejects(
    JwtVerifier.fromPublicKey(await exportPKCS8(privateKey)),
    VerificationKeyError,
    "that is a private key",
  );
  await assertRejects(
    JwtVerifier.fromPublicKey(await exportSPKI(publicKey)),
    VerificationKeyError,
    "neither an EC P-256 key (ES256) nor an RSA key (RS256)",
  );
});
