/**
 * What one authenticated connection may do: who it is, which channels it may subscribe to and
 * publish on (patterns: exact names or a prefix ending in `*`), and until when. The same value
 * comes from a JWT (`sub`, `subs`, `pubs`, `exp`) or from an ACL entry for a client
 * certificate's identity (no expiry), so every transport checks it the same way.
 *
 * @example
 * ```ts
 * import { Permissions } from "./permissions.ts";
 * const alice = new Permissions({
 *   identity: "alice", subs: ["metrics.*"], pubs: [], source: "token", expiresAt: Date.now() + 60_000,
 * });
 * alice.maySubscribe("metrics.cpu"); // true
 * alice.mayPublish("metrics.cpu"); // false
 * ```
 * @module
 */
import { ChannelMatcher } from "../protocol/channel_pattern.ts";

/** Where permissions came from: a token (`AUTH`, `?token=`) or a client certificate's ACL entry. */
export type PermissionSource = "token" | "certificate";

/** The fields of {@link Permissions}. */
export interface PermissionsInit {
  /** The identity (a token's `sub`, a certificate's name). */
  identity: string;
  /** Channel patterns it may subscribe to. */
  subs: Iterable<string>;
  /** Channel patterns it may publish on. */
  pubs: Iterable<string>;
  /** Where they came from. */
  source: PermissionSource;
  /** When they end (ms since the epoch); undefined: never (certificate entries). */
  expiresAt?: number;
}

/**
 * Immutable permissions; throws `InvalidChannelPatternError` for an invalid pattern.
 *
 * @example
 * ```ts
 * import { Permissions } from "./permissions.ts";
 * const sensor = new Permissions({
 *   identity: "sensor-7", subs: [], pubs: ["metrics.sensor-7"], source: "certificate",
 * });
 * sensor.mayPublish("metrics.sensor-7"); // true
 * sensor.expiresAt; // undefined: an ACL entry does not expire
 * ```
 */
export class Permissions {
  /** The identity. */
  readonly identity: string;
  /** Where they came from. */
  readonly source: PermissionSource;
  /** When they end (ms since the epoch); undefined: never. */
  readonly expiresAt: number | undefined;
  readonly #subs: ChannelMatcher;
  readonly #pubs: ChannelMatcher;

  /** Compiles the patterns. */
  constructor(init: PermissionsInit) {
    this.identity = init.identity;
    this.source = init.source;
    this.expiresAt = init.expiresAt;
    this.#subs = new ChannelMatcher(init.subs);
    this.#pubs = new ChannelMatcher(init.pubs);
  }

  /** The subscribe patterns, as given. */
  get subs(): readonly string[] {
    return this.#subs.patterns;
  }

  /** The publish patterns, as given. */
  get pubs(): readonly string[] {
    return this.#pubs.patterns;
  }

  /** Whether `channel` may be subscribed to. */
  maySubscribe(channel: string): boolean {
    return this.#subs.matches(channel);
  }

  /** Whether `channel` may be published on. */
  mayPublish(channel: string): boolean {
    return this.#pubs.matches(channel);
  }
}
