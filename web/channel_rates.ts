/**
 * Messages per second of each channel, for the dashboard: counts what the hub publishes in a
 * window and turns it into rates when asked. Memory stays bounded: the counts are cleared at
 * every window, and at most {@link MAX_RATED_CHANNELS} channels are counted in one window.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { ChannelRates } from "./channel_rates.ts";
 * const rates = new ChannelRates(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }));
 * rates.start();
 * setTimeout(() => console.log(rates.take().get("news") ?? 0), 1000); // messages/s on news
 * ```
 * @module
 */
import type { Hub } from "../hub/hub.ts";

/**
 * Most channels counted in one window; messages on further channels are not counted (a flood of
 * fresh channel names cannot grow this map without bound).
 *
 * @example
 * ```ts
 * import { MAX_RATED_CHANNELS } from "./channel_rates.ts";
 * console.log(`rates kept for at most ${MAX_RATED_CHANNELS} channels a second`);
 * ```
 */
export const MAX_RATED_CHANNELS = 10_000;

/** A window shorter than this gives the previous rates again: a few ms make no rate. */
const MIN_WINDOW_MS = 500;

/**
 * Counts published messages per channel while started.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { OutgoingMessage } from "../hub/message.ts";
 * import { Logger } from "../util/logger.ts";
 * import { ChannelRates } from "./channel_rates.ts";
 * let now = 0;
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const rates = new ChannelRates(hub, () => now);
 * rates.start();
 * await hub.publish(new OutgoingMessage("cpu 93%", { kind: "api" }, "metrics"));
 * now = 2000;
 * rates.take().get("metrics"); // 0.5 (one message in 2 s)
 * rates.stop();
 * ```
 */
export class ChannelRates {
  readonly #hub: Hub;
  readonly #now: () => number;
  #counts = new Map<string, number>();
  #rates = new Map<string, number>();
  #windowStart = 0;
  #stop: (() => void) | undefined;

  /** Rates of `hub`'s channels; `now` is the clock in ms (injectable for tests). */
  constructor(hub: Hub, now: () => number = Date.now) {
    this.#hub = hub;
    this.#now = now;
  }

  /** Whether messages are being counted. */
  get started(): boolean {
    return this.#stop !== undefined;
  }

  /** Starts counting (again, from nothing); does nothing when started. */
  start(): void {
    if (this.#stop) return;
    this.#counts = new Map();
    this.#rates = new Map();
    this.#windowStart = this.#now();
    this.#stop = this.#hub.onPublish((message) => {
      const count = this.#counts.get(message.channel);
      if (count !== undefined) this.#counts.set(message.channel, count + 1);
      else if (this.#counts.size < MAX_RATED_CHANNELS) this.#counts.set(message.channel, 1);
    });
  }

  /** Stops counting and forgets the counts. */
  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#counts = new Map();
    this.#rates = new Map();
  }

  /**
   * Messages per second of every channel that published since the previous call (or since
   * {@link start}); a channel without messages is absent. Starts a new window, unless the
   * current one is under half a second old: then the previous rates come back unchanged.
   */
  take(): ReadonlyMap<string, number> {
    const now = this.#now();
    const elapsed = now - this.#windowStart;
    if (!this.#stop || elapsed < MIN_WINDOW_MS) return this.#rates;
    const rates = new Map<string, number>();
    for (const [channel, count] of this.#counts) rates.set(channel, count * 1000 / elapsed);
    this.#counts = new Map();
    this.#rates = rates;
    this.#windowStart = now;
    return rates;
  }
}
