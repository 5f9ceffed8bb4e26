/**
 * The repository stays as the style guide says: `deno fmt --check`, `deno lint` and the type
 * check of every entry point are clean (the same as `deno task check`).
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function deno(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}

Deno.test("deno fmt --check is clean", async () => {
  const { code, output } = await deno(["fmt", "--check"]);
  assertEquals(code, 0, output);
});

Deno.test("deno lint is clean", async () => {
  const { code, output } = await deno(["lint"]);
  assertEquals(code, 0, output);
});

Deno.test("every entry point type-checks", async () => {
  const { code, output } = await deno([
    "check",
    "server.ts",
    "client.ts",
    "scripts/",
    "tests/",
    "bench/run.ts",
    "bench/memory.ts",
  ]);
  assertEquals(code, 0, output);
});
