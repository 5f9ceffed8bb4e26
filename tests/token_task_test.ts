/**
 * `deno task token` as a user runs it: `--help`, a token the server's verifier accepts with the
 * claims asked for, and one clear line (exit 2) for each mistake.
 */
import { JwtVerifier } from "../auth/jwt_verifier.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SECRET = "token-task-secret-0123456789-0123456789";

async function task(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "token", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout).trim(), stderr: text.decode(stderr).trim() };
}

Deno.test("deno task token prints a token the server accepts, with the claims asked for", async () => {
  const { code, stdout } = await task(
    ["--sub", "alice", "--subs", "metrics.*,alerts", "--pubs", "chat", "--ttl", "1h"],
    { TLSPUSH_JWT_SECRET: SECRET },
  );
  assertEquals(code, 0);
  const permissions = await (await JwtVerifier.fromSecret(SECRET)).verify(stdout);
  assertEquals(permissions.identity, "alice");
  assertEquals([...permissions.subs], ["metrics.*", "alerts"]);
  assertEquals([...permissions.pubs], ["chat"]);
  const left = permissions.expiresAt! - Date.now();
  assert(left > 3000_000 && left <= 3606_000, `${left} ms left`);
});

Deno.test("deno task token: --help, and one line with exit 2 for each mistake", async () => {
  const help = await task(["--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.startsWith("Usage: deno task token --sub NAME [options]"));
  const env = { TLSPUSH_JWT_SECRET: SECRET };
  const mistakes: [string[], Record<string, string>, RegExp][] = [
    [["--subs", "x"], env, /^token: --sub NAME is required/],
    [["--sub", "a"], {}, /^token: give the key: set TLSPUSH_JWT_SECRET/],
    [["--sub", "a", "--subs", "a*b"], env, /^token: --subs: 'a\*b' is not a channel name/],
    [["--sub", "a", "--ttl", "soon"], env, /^token: --ttl must be a duration such as 90s/],
    [["--sub", "a", "--bogus"], env, /^token: unknown flag --bogus/],
    [["--sub", "a", "--secret", "short"], {}, /^token: the JWT secret must be at least 32 bytes/],
  ];
  for (const [args, vars, pattern] of mistakes) {
    const { code, stderr } = await task(args, vars);
    assert(pattern.test(stderr), `${args.join(" ")}: ${stderr}`);
    assert(!stderr.includes("Stack backtrace") && !stderr.includes("    at "), stderr);
    assertEquals(code, /at least 32 bytes/.test(pattern.source) ? 1 : 2, args.join(" "));
  }
});
