/**
 * The files the web endpoint serves, embedded in the program: the pages and scripts of `pages/`
 * and the uPlot chart library from npm are imported as text, so `deno compile` and `deno bundle`
 * carry them and nothing reads the source tree (or a CDN) at run time.
 *
 * @example
 * ```ts
 * import { ASSETS } from "./assets.ts";
 * ASSETS.get("/uplot.js")?.contentType; // "text/javascript; charset=utf-8"
 * ```
 * @module
 */
import adminHtml from "./pages/admin.html" with { type: "text" };
import adminJs from "./pages/admin.js" with { type: "text" };
import clientHtml from "./pages/client.html" with { type: "text" };
import clientJs from "./pages/client.js" with { type: "text" };
import favicon from "./pages/favicon.svg" with { type: "text" };
import styleCss from "./pages/style.css" with { type: "text" };
import subscriptionsJs from "./pages/subscriptions.js" with { type: "text" };
import v2Js from "./pages/v2.js" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** One embedded file. */
export interface Asset {
  /** The `Content-Type` it is served with. */
  readonly contentType: string;
  /** Its bytes. */
  readonly body: Uint8Array<ArrayBuffer>;
}

const HTML = "text/html; charset=utf-8";
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

function asset(contentType: string, text: string): Asset {
  return { contentType, body: new TextEncoder().encode(text) };
}

/**
 * The client page (served at `/`).
 *
 * @example
 * ```ts
 * import { CLIENT_PAGE } from "./assets.ts";
 * new Response(CLIENT_PAGE.body, { headers: { "content-type": CLIENT_PAGE.contentType } });
 * ```
 */
export const CLIENT_PAGE: Asset = asset(HTML, clientHtml);

/**
 * The dashboard page (served at `/admin`, to holders of the token only).
 *
 * @example
 * ```ts
 * import { ADMIN_PAGE } from "./assets.ts";
 * ADMIN_PAGE.contentType; // "text/html; charset=utf-8"
 * ```
 */
export const ADMIN_PAGE: Asset = asset(HTML, adminHtml);

/**
 * Public files by path: scripts, styles, the chart library, the icon.
 *
 * @example
 * ```ts
 * import { ASSETS } from "./assets.ts";
 * const asset = ASSETS.get("/style.css");
 * if (asset) new Response(asset.body, { headers: { "content-type": asset.contentType } });
 * ```
 */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["/client.js", asset(JS, clientJs)],
  ["/v2.js", asset(JS, v2Js)],
  ["/subscriptions.js", asset(JS, subscriptionsJs)],
  ["/admin.js", asset(JS, adminJs)],
  ["/style.css", asset(CSS, styleCss)],
  ["/uplot.js", asset(JS, uplotJs)],
  ["/uplot.css", asset(CSS, uplotCss)],
  ["/favicon.svg", asset("image/svg+xml", favicon)],
]);
