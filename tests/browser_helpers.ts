/**
 * Helpers of the browser tests (`browser_pages.ts`, `browser_v2_pages.ts`): one leaf certificate
 * for every server (the browser pins it), pages that record console errors, waiting, and reading
 * the client page's log.
 *
 * @example
 * ```ts
 * import { fixedLeaf, openPage } from "./browser_helpers.ts";
 * import { launchBrowser } from "./browser.ts";
 * const leaf = await fixedLeaf();
 * const browser = await launchBrowser(leaf.cert);
 * const problems: string[] = [];
 * const page = await openPage(browser, problems);
 * ```
 * @module
 */
import type { Page } from "playwright-core";
import { testCertsDir, type TestServer } from "./helpers.ts";
import type { TestBrowser } from "./browser.ts";

/** Where screenshots go (the copies in `docs/` come from there). */
export const OUTPUT: string = new URL("../test-output/", import.meta.url).pathname;

/** The leaf every server of a test file serves, so the browser's pin holds for all of them. */
export async function fixedLeaf(): Promise<{ cert: string; key: string }> {
  const certsDir = await testCertsDir();
  const dir = await Deno.makeTempDir({ prefix: "tlspush-leaf-" });
  await Deno.copyFile(`${certsDir}/server.pem`, `${dir}/server.pem`);
  await Deno.copyFile(`${certsDir}/server-key.pem`, `${dir}/server-key.pem`);
  return { cert: `${dir}/server.pem`, key: `${dir}/server-key.pem` };
}

/** Opens a page that records console errors and uncaught exceptions (CSP violations among them). */
export async function openPage(browser: TestBrowser, problems: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return page;
}

/** Polls an asynchronous condition for at most 10 s. */
export async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `https://localhost:PORT` of the server's web side. */
export function origin(server: TestServer): string {
  return `https://localhost:${server.web!.address.port}`;
}

/** The texts of the client page's log entries of one kind (`in`, `out`, `status`, `gap`...). */
export function entries(page: Page, kind: string): Promise<string[]> {
  return page.locator(`#log li.${kind} .text`).allTextContents();
}

/** Waits for a log entry of `kind` whose text contains `text`. */
export async function waitForEntry(page: Page, kind: string, text: string): Promise<void> {
  await page.locator(`#log li.${kind} .text`, { hasText: text }).first().waitFor({
    timeout: 10_000,
  });
}
