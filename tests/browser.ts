/**
 * A headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core) for the browser
 * tests. It starts with a fresh profile, none of Chromium's background traffic (this network
 * refuses it), and trusts exactly one certificate: the test server's leaf, pinned by the SHA-256
 * of its public key (`--ignore-certificate-errors-spki-list`), never a blanket ignore.
 *
 * @example
 * ```ts
 * import { launchBrowser } from "./browser.ts";
 * const browser = await launchBrowser("/tmp/certs/server.pem");
 * const page = await browser.context.newPage();
 * await browser.close();
 * ```
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { type BrowserContext, chromium } from "playwright-core";

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium pins it. */
export async function spkiHash(certPem: string): Promise<string> {
  const cert = new x509.X509Certificate(certPem);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", cert.publicKey.rawData));
  return btoa(String.fromCharCode(...digest));
}

/** A running browser with its one context. */
export interface TestBrowser {
  /** The browser context (one profile). */
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium trusting the certificate in `certFile` (PEM) only. */
export async function launchBrowser(certFile: string): Promise<TestBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "tlspush-chromium-" });
  const pin = await spkiHash(await Deno.readTextFile(certFile));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      `--ignore-certificate-errors-spki-list=${pin}`,
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
