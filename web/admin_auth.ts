/**
 * The admin token that guards `/admin`, its WebSocket and `/metrics`.
 *
 * A request proves it knows the token in one of three ways: `Authorization: Bearer TOKEN`
 * (scrapers, scripts), the `?token=` query of the dashboard URL the server prints (answered by a
 * redirect that moves it into a cookie, so it leaves the address bar and the history), or that
 * HttpOnly, SameSite=Strict cookie. Every comparison takes the same time whatever the guess.
 *
 * @example
 * ```ts
 * import { AdminAuth } from "./admin_auth.ts";
 * const auth = new AdminAuth(undefined, 9003); // generates a token
 * auth.accepts(new Request("https://localhost:9003/metrics", {
 *   headers: { authorization: `Bearer ${auth.token}` },
 * })); // true
 * ```
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/** Random bytes in a generated token (256 bits). */
const TOKEN_BYTES = 32;

/**
 * Checks admin credentials and issues the dashboard cookie.
 *
 * @example
 * ```ts
 * import { AdminAuth } from "./admin_auth.ts";
 * const auth = new AdminAuth("0123456789abcdef-token", 9003);
 * auth.inQuery(new Request("https://localhost:9003/admin?token=0123456789abcdef-token")); // true
 * auth.sessionCookie(true); // "tlspush_admin_9003=...; Path=/; HttpOnly; SameSite=Strict; Secure"
 * ```
 */
export class AdminAuth {
  /** The token. */
  readonly token: string;
  /** True when the server made the token up (so it prints it once). */
  readonly generated: boolean;
  /** Name of the session cookie (per port: cookies do not tell ports apart). */
  readonly cookieName: string;
  readonly #tokenBytes: Uint8Array;

  /** Uses `token`, or generates one; `port` names the cookie. */
  constructor(token: string | undefined, port: number) {
    this.generated = token === undefined;
    this.token = token ?? generateToken();
    this.cookieName = `tlspush_admin_${port}`;
    this.#tokenBytes = new TextEncoder().encode(this.token);
  }

  /** True when `candidate` is the token; the time taken does not depend on where they differ. */
  matches(candidate: string | null | undefined): boolean {
    if (!candidate) return false;
    const bytes = new TextEncoder().encode(candidate);
    // timingSafeEqual needs equal lengths: compare against itself when they differ, so a wrong
    // length takes as long as a wrong byte (the length of the token is not a secret anyway).
    const same = bytes.length === this.#tokenBytes.length;
    return timingSafeEqual(same ? bytes : this.#tokenBytes, this.#tokenBytes) && same;
  }

  /** True when the request carries the token in a bearer header, the query or the cookie. */
  accepts(request: Request): boolean {
    return this.matches(bearerToken(request)) || this.matches(queryToken(request)) ||
      this.matches(readCookie(request, this.cookieName));
  }

  /** True when the token came in the URL query (the printed dashboard link). */
  inQuery(request: Request): boolean {
    return this.matches(queryToken(request));
  }

  /** The `Set-Cookie` value that lets this browser in for the rest of its session. */
  sessionCookie(secure: boolean): string {
    return `${this.cookieName}=${this.token}; Path=/; HttpOnly; SameSite=Strict` +
      (secure ? "; Secure" : "");
  }
}

/**
 * A new random token: 43 URL-safe characters.
 *
 * @example
 * ```ts
 * import { generateToken } from "./admin_auth.ts";
 * generateToken().length; // 43
 * ```
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

function queryToken(request: Request): string | null {
  return new URL(request.url).searchParams.get("token");
}

function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}
