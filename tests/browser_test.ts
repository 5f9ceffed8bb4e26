/**
 * Runs the browser tests (`browser_pages.ts`, `browser_v2_pages.ts`) in a child `deno test --allow-all`: playwright-core
 * reads `/proc` as it loads, which Deno permits only with every permission, and the rest of the
 * suite keeps its narrower ones. The child's report is shown indented.
 *
 * Chromium comes from Debian (`.ci/run` installs it). Where it is missing the test is ignored
 * with the reason in its name, except under CI, where that is a failure.
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Debian's Chromium (the path `browser.ts` launches; not imported: it loads playwright-core). */
const CHROMIUM = "/usr/bin/chromium";
const missing = !installed(CHROMIUM) && !Deno.env.get("CI");

function installed(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name: missing
    ? `browser tests (ignored: ${CHROMIUM} is not installed; apt-get install chromium)`
    : "browser tests pass in headless Chromium (client page v1 and v2, dashboard, tokens, HTML as text)",
  ignore: missing,
  async fn() {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "tests/browser_pages.ts", "tests/browser_v2_pages.ts"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(child.stdout) + new TextDecoder().decode(child.stderr);
    console.log(report.trimEnd().split("\n").map((line) => `  │ ${line}`).join("\n"));
    assertEquals(child.code, 0, "the browser tests failed: see their report above");
  },
});
