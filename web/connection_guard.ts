/**
 * The defences of the TLS port, for the HTTPS/WebSocket port: `Deno.serve` has no hook for a
 * new connection, no header or keep-alive timeout, and (denoland/deno#14547) cannot close a
 * socket whose TLS handshake has not finished. So the guard looks at the port's accepted
 * sockets itself, every {@link ConnectionGuard.sweepMs}, through {@link SocketReaper.sweep}, and
 * learns from the request handler (`info.remoteAddr`, `info.completed`) which of them made
 * requests. Each socket holds a slot of the server's one connection budget from the moment it
 * is seen (handshake or not), and is shut down when:
 * - it has sent no complete request head within `handshakeMs` (silent TCP, a ClientHello and
 *   then nothing, a request head trickled in byte by byte: slowloris);
 * - a request (its body, its answer) has been under way longer than `requestMs`;
 * - it has been idle between requests (HTTP keep-alive) longer than `keepAliveMs`; a next request
 *   head that trickles in counts as idle, since the handler has not seen it;
 * - the budget has no slot for it.
 * A WebSocket is exempt: its keep-alive is ping/pong (`Deno.upgradeWebSocket`'s idle timeout).
 *
 * Without the reaper (not Linux, no `--allow-ffi`) the guard is inert and only WebSocket peers
 * take slots, when they upgrade.
 *
 * @example
 * ```ts
 * import { ConnectionBudget } from "../hub/connection_budget.ts";
 * import { Logger } from "../util/logger.ts";
 * import { SocketReaper } from "../util/socket_reaper.ts";
 * import { ConnectionGuard } from "./connection_guard.ts";
 * const logger = new Logger();
 * const guard = new ConnectionGuard({
 *   port: 9003, reaper: new SocketReaper(), budget: new ConnectionBudget(10_000, logger), logger,
 *   timeouts: { handshakeMs: 10_000, requestMs: 30_000, keepAliveMs: 30_000 },
 * });
 * Deno.serve({ port: 9003 }, (_request, info) => {
 *   const admission = guard.admit(info);
 *   return new Response(admission ? "hello\n" : "too many connections\n", {
 *     status: admission ? 200 : 503,
 *   });
 * });
 * ```
 * @module
 */
import type { ConnectionBudget, Slot } from "../hub/connection_budget.ts";
import type { ConnectRate } from "../hub/connect_rate.ts";
import type { Logger } from "../util/logger.ts";
import { plural } from "../util/logger.ts";
import { peerKey, type SocketReaper } from "../util/socket_reaper.ts";

/** The web port's time limits, in ms. */
export interface WebTimeouts {
  /** From first sight of a socket to its first complete request head (`--handshake-timeout`). */
  handshakeMs: number;
  /** From a request's head to the end of its answer (`--request-timeout`). */
  requestMs: number;
  /** Between requests on one connection (`--keepalive-timeout`). */
  keepAliveMs: number;
}

/** What the guard needs. */
export interface ConnectionGuardOptions {
  /** The web port (the local port of the sockets to guard). */
  port: number;
  /** Finds and shuts down the sockets (a {@link SocketReaper}). */
  reaper: Pick<SocketReaper, "available" | "sweep">;
  /** The server-wide connection budget (`--max-connections`). */
  budget: ConnectionBudget;
  /** Where drops are reported. */
  logger: Logger;
  /** The limits. */
  timeouts: WebTimeouts;
  /** What a refused connection is called in the log (default "web connection"). */
  what?: string;
  /** New connections per source address per second (`--connect-rate`), counted at first sight. */
  connectRate?: ConnectRate;
  /** The clock (for tests). */
  now?: () => number;
}

/** A request the guard let through. */
export interface Admission {
  /**
   * The request becomes a WebSocket: its connection is exempt from the time limits from now on.
   * Returns the connection's slot (release it when the WebSocket closes), or undefined when the
   * guard is inert: then the WebSocket must take a slot of the budget itself.
   */
  webSocket(): Slot | undefined;
}

/** A request the guard refused: its connection has no place (`budget`) or came too fast (`rate`). */
export interface Refusal {
  /** Why: answer 503 for `budget`, 429 for `rate`, and close. */
  refused: "budget" | "rate";
}

/** One accepted socket of the port, as far as the guard knows it. */
interface Tracked {
  /** Its budget slot; undefined when refused. */
  slot: Slot | undefined;
  /** Why it has no slot. */
  refusal?: Refusal;
  /** Its peer, the key it is known by. */
  key: string;
  /** When it was first seen. */
  seenAt: number;
  /** When its last request ended (or when it was seen, before any). */
  idleSince: number;
  /** Requests it has made. */
  requests: number;
  /** Start times of its requests under way (several at once over HTTP/2). */
  underWay: number[];
  /** A WebSocket now. */
  upgraded: boolean;
  /** The sweep that last saw it. */
  sweep: number;
}

/** Why a sweep shut sockets down, as the log says it. */
type Reason = "handshake" | "request" | "keepalive" | "refused";

/** Sweeps at least this often, and no more often than {@link MIN_SWEEP_MS}. */
const MAX_SWEEP_MS = 1000;
const MIN_SWEEP_MS = 50;

/**
 * Watches the accepted sockets of one `Deno.serve` port.
 *
 * @example
 * ```ts
 * import type { ConnectionGuard } from "./connection_guard.ts";
 * function report(guard: ConnectionGuard): string {
 *   return guard.active ? `${guard.tracked} sockets watched` : "guard off";
 * }
 * ```
 */
export class ConnectionGuard {
  readonly #options: ConnectionGuardOptions;
  readonly #now: () => number;
  readonly #sockets = new Map<string, Tracked>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #sweeps = 0;

  /** Starts sweeping (when the reaper is available). */
  constructor(options: ConnectionGuardOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    if (!options.reaper.available) return;
    this.#timer = setInterval(() => this.sweep(), this.sweepMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Whether sockets are really watched (else everything is let through, unbudgeted). */
  get active(): boolean {
    return this.#timer !== undefined;
  }

  /** How often the sockets are looked at: a quarter of the shortest limit, within 50 ms..1 s. */
  get sweepMs(): number {
    const { handshakeMs, requestMs, keepAliveMs } = this.#options.timeouts;
    const quarter = Math.min(handshakeMs, requestMs, keepAliveMs) / 4;
    return Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, quarter));
  }

  /** Sockets watched now (each holds a slot of the budget). */
  get tracked(): number {
    return this.#sockets.size;
  }

  /**
   * Notes a request of the connection `info` describes. A {@link Refusal} when that connection
   * has no place in the budget or came too fast: answer so and close it (the next sweep shuts it
   * down anyway).
   */
  admit(info: Deno.ServeHandlerInfo): Admission | Refusal {
    if (!this.active) return ADMIT_UNGUARDED;
    const key = peerKey(info.remoteAddr as Deno.NetAddr);
    if (key === undefined) return ADMIT_UNGUARDED;
    const socket = this.#sockets.get(key) ?? this.#track(key, this.#sweeps);
    if (!socket.slot) return socket.refusal ?? BUDGET_REFUSAL; // the next sweep shuts it down
    const start = this.#now();
    socket.requests++;
    socket.underWay.push(start);
    const ended = () => {
      socket.underWay.splice(socket.underWay.indexOf(start), 1);
      socket.idleSince = this.#now();
    };
    info.completed.then(ended, ended);
    return {
      webSocket: () => {
        socket.upgraded = true;
        // Closing the WebSocket gives the place back at once; should its socket linger, the
        // sweep takes it for a new connection (without a request: dropped in time).
        return { release: () => this.#release(socket) };
      },
    };
  }

  /**
   * Looks at every accepted socket once: budgets the new ones, shuts down those over a limit,
   * forgets those that are gone. Runs on its own timer; public for tests and for shutdown.
   */
  sweep(): void {
    const sweep = ++this.#sweeps;
    const now = this.#now();
    const { handshakeMs, requestMs, keepAliveMs } = this.#options.timeouts;
    const dropped = new Map<Reason, string[]>();
    this.#options.reaper.sweep(this.#options.port, (key) => {
      const socket = this.#sockets.get(key) ?? this.#track(key, sweep, now);
      socket.sweep = sweep;
      let reason: Reason | undefined;
      if (!socket.slot) reason = "refused"; // over the budget
      else if (socket.upgraded) return false;
      else if (socket.underWay.length > 0) {
        if (now - Math.min(...socket.underWay) > requestMs) reason = "request";
      } else if (socket.requests === 0) {
        if (now - socket.seenAt > handshakeMs) reason = "handshake";
      } else if (now - socket.idleSince > keepAliveMs) reason = "keepalive";
      if (!reason) return false;
      const list = dropped.get(reason) ?? [];
      dropped.set(reason, list);
      list.push(key);
      // Forgotten at once: its address and port may come back on a new connection before the
      // next sweep. Should this socket itself linger until then, it is taken for a new one.
      this.#release(socket);
      return true;
    });
    // Seen in an earlier sweep, or added by a request before this one, and not found now: gone.
    for (const socket of this.#sockets.values()) {
      if (socket.sweep < sweep) this.#release(socket);
    }
    this.#report(dropped);
  }

  /**
   * Stops sweeping and shuts down every socket that is neither a WebSocket nor in the middle of
   * a request (those end with the server's own shutdown), so that nothing holds the port open.
   */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#options.reaper.sweep(this.#options.port, (key) => {
      const socket = this.#sockets.get(key);
      return !socket || (!socket.upgraded && socket.underWay.length === 0);
    });
    for (const socket of this.#sockets.values()) this.#release(socket);
  }

  #track(key: string, sweep: number, now = this.#now()): Tracked {
    const what = this.#options.what ?? "web connection";
    // The address without its port: --connect-rate counts per source address.
    const host = key.slice(0, key.lastIndexOf(":"));
    const tooFast = this.#options.connectRate?.admits(host, what) === false;
    const slot = tooFast ? undefined : this.#options.budget.take(key, what);
    const socket: Tracked = {
      slot,
      refusal: tooFast ? RATE_REFUSAL : slot ? undefined : BUDGET_REFUSAL,
      key,
      seenAt: now,
      idleSince: now,
      requests: 0,
      underWay: [],
      upgraded: false,
      sweep,
    };
    this.#sockets.set(key, socket);
    return socket;
  }

  /** Gives the socket's slot back and forgets it. */
  #release(socket: Tracked): void {
    socket.slot?.release();
    socket.slot = undefined;
    if (this.#sockets.get(socket.key) === socket) this.#sockets.delete(socket.key);
  }

  /** One line per reason and sweep, not one a socket: a flood must not flood the log. */
  #report(dropped: Map<Reason, string[]>): void {
    const { handshakeMs, requestMs } = this.#options.timeouts;
    // Closing idle keep-alive connections is routine, and so is a closed WebSocket's leftover.
    const because: Partial<Record<Reason, string>> = {
      handshake: `sent no complete request within --handshake-timeout ${handshakeMs / 1000} s`,
      request: `did not complete a request within --request-timeout ${requestMs / 1000} s`,
    };
    for (const [reason, keys] of dropped) {
      if (!because[reason]) continue;
      const examples = keys.slice(0, 3).join(", ") + (keys.length > 3 ? ", ..." : "");
      this.#options.logger.info(
        `web port: dropped ${plural(keys.length, "connection")} that ${because[reason]} ` +
          `(${examples}): the socket is shut down`,
      );
    }
  }
}

const BUDGET_REFUSAL: Refusal = { refused: "budget" };
const RATE_REFUSAL: Refusal = { refused: "rate" };

/** Without the guard every request passes and a WebSocket takes its own slot. */
const ADMIT_UNGUARDED: Admission = { webSocket: () => undefined };
