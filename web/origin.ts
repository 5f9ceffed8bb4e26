/**
 * The Origin check of WebSocket upgrades. Browsers always send `Origin` on a WebSocket
 * handshake and cannot forge it, so a page from another site (which could otherwise ride on
 * the dashboard cookie: cross-site WebSocket hijacking) is refused. Programs that are not
 * browsers (tlspush-client, scripts) send no Origin and are let through to the next check.
 *
 * @example
 * ```ts
 * import { originAllowed } from "./origin.ts";
 * originAllowed(new Request("https://localhost:9003/ws", {
 *   headers: { host: "localhost:9003", origin: "https://evil.example" },
 * })); // false
 * ```
 * @module
 */

/**
 * True when the request has no Origin, or one naming this very server (scheme, host, port).
 *
 * @example
 * ```ts
 * import { originAllowed } from "./origin.ts";
 * originAllowed(new Request("https://localhost:9003/ws", {
 *   headers: { host: "localhost:9003", origin: "https://localhost:9003" },
 * })); // true: the page came from this server
 * ```
 */
export function originAllowed(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const host = request.headers.get("host");
  if (!host) return false;
  const scheme = new URL(request.url).protocol; // "https:" (or "http:" with --plain)
  return origin.toLowerCase() === `${scheme}//${host}`.toLowerCase();
}
