/**
 * The instances heard from recently, for a broker whose heartbeats arrive as messages (NATS):
 * the last heartbeat of each, dropped when it is older than the time to live or says goodbye.
 *
 * @example
 * ```ts
 * import { PresenceTable } from "./presence_table.ts";
 * const table = new PresenceTable(6000);
 * table.heard({ id: "a", clients: 3, started: 0 });
 * table.list().length; // 1
 * ```
 * @module
 */
import type { InstanceInfo, SeenInstance } from "./broker.ts";

/**
 * Last heartbeats by instance id.
 *
 * @example
 * ```ts
 * import { PresenceTable } from "./presence_table.ts";
 * const table = new PresenceTable(100);
 * table.heard({ id: "a", clients: 0, started: 0 }, 1000);
 * table.list(1200); // []: older than 100 ms
 * ```
 */
export class PresenceTable {
  readonly #ttlMs: number;
  readonly #seen = new Map<string, SeenInstance>();

  /** A table forgetting instances unheard for `ttlMs`. */
  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** Records a heartbeat heard at `now`. */
  heard(info: InstanceInfo, now: number = Date.now()): void {
    this.#seen.set(info.id, {
      id: info.id,
      clients: info.clients,
      started: info.started,
      seen: now,
    });
  }

  /** Forgets an instance (it said goodbye). */
  forget(id: string): void {
    this.#seen.delete(id);
  }

  /** The live instances, by id. */
  list(now: number = Date.now()): SeenInstance[] {
    for (const [id, instance] of this.#seen) {
      if (now - instance.seen > this.#ttlMs) this.#seen.delete(id);
    }
    return [...this.#seen.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}

/**
 * Reads a heartbeat message (`{"id", "clients", "started"}`, or `{"id", "bye": true}`);
 * undefined when it is not one.
 *
 * @example
 * ```ts
 * import { parseHeartbeat } from "./presence_table.ts";
 * parseHeartbeat('{"id":"a","clients":2,"started":5}'); // { info: {...}, bye: false }
 * parseHeartbeat("nonsense"); // undefined
 * ```
 */
export function parseHeartbeat(text: string): { info: InstanceInfo; bye: boolean } | undefined {
  try {
    const value = JSON.parse(text);
    if (typeof value?.id !== "string") return undefined;
    return {
      info: {
        id: value.id,
        clients: Number(value.clients) || 0,
        started: Number(value.started) || 0,
      },
      bye: value.bye === true,
    };
  } catch {
    return undefined;
  }
}
