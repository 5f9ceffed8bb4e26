/**
 * The repository stays as the style guide says: `deno fmt --check`, `deno lint` and the type
 * check of every entry point are clean (the same as `deno task check`).
 */
import { assertEquals } from "./assert.ts";
import { runDeno } from "./processes.ts";

Deno.test("deno fmt --check is clean", async () => {
  const { code, output } = await runDeno(["fmt", "--check"]);
  assertEquals(code, 0, output);
});

Deno.test("deno lint is clean", async () => {
  const { code, output } = await runDeno(["lint"]);
  assertEquals(code, 0, output);
});

Deno.test("every entry point type-checks", async () => {
  const { code, output } = await runDeno([
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

/** The folders of library code, layer by layer (DESIGN.md section 4). */
const SOURCE_DIRS = [
  "protocol",
  "util",
  "tls",
  "hub",
  "stream",
  "web",
  "broker",
  "server",
  "cli",
  "client",
]
  .filter((dir) => {
    try {
      return Deno.statSync(new URL(`../${dir}`, import.meta.url)).isDirectory;
    } catch {
      return false;
    }
  });

Deno.test("every documentation example type-checks", async () => {
  const sources: string[] = ["server.ts", "client.ts", "scripts/gen-cert.ts"];
  for (const dir of SOURCE_DIRS) {
    for (const entry of Deno.readDirSync(new URL(`../${dir}`, import.meta.url))) {
      if (entry.isFile && entry.name.endsWith(".ts")) sources.push(`${dir}/${entry.name}`);
    }
  }
  const { code, output } = await runDeno(["check", "--doc", ...sources]);
  assertEquals(code, 0, output);
});
