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
import { bearerToken, generateToken, SecretToken } from "./secret_token.ts";

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
  readonly #secret: SecretToken;

  /** Uses `token`, or generates one; `port` names the cookie. */
  constructor(token: string | undefined, port: number) {
    this.generated = token === undefined;
    this.token = token ?? generateToken();
    this.cookieName = `tlspush_admin_${port}`;
    this.#secret = new SecretToken(this.token);
  }

  /** True when `candidate` is the token; the time taken does not depend on where they differ. */
  matches(candidate: string | null | undefined): boolean {
    return this.#secret.matches(candidate);
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
