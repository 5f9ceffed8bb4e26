/**
 * What every broker shares, whatever server it talks to: its redacted URL and options, the
 * up/down and message events, the gate on publishes in flight, the counters for `/metrics`, the
 * checks of a history request, and error messages with the password taken out. `RedisBroker` and
 * `NatsBroker` add how they connect, publish, read and keep history.
 *
 * @example
 * ```ts
 * import type { BrokerBase } from "./broker_base.ts";
 * function describe(broker: BrokerBase): string {
 *   return `${broker.url} (${broker.up ? "up" : "down"}), instance ${broker.instanceId}`;
 * }
 * ```
 * @module
 */
import type {
  Broker,
  BrokerMessage,
  BrokerStats,
  HistoryPage,
  InstanceInfo,
  SeenInstance,
} from "./broker.ts";
import { BrokerEvents } from "./broker_events.ts";
import { BrokerUnavailableError } from "./broker_errors.ts";
import {
  type BrokerOptions,
  resolveBrokerOptions,
  type ResolvedBrokerOptions,
} from "./broker_options.ts";
import { type BrokerUrl, redact, scrubSecrets } from "./broker_url.ts";
import { assertChannelName } from "./channel_name.ts";
import { PublishGate } from "./publish_gate.ts";

/**
 * The shared half of a broker.
 *
 * @example
 * ```ts
 * import { RedisBroker } from "./redis_broker.ts";
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const broker = new RedisBroker(parseBrokerUrl("redis://:secret@127.0.0.1:6379"), {});
 * broker.url; // "redis://:***@127.0.0.1:6379": a BrokerBase
 * ```
 */
export abstract class BrokerBase implements Broker {
  /** The redacted URL. */
  readonly url: string;
  /** Where to connect, secrets included. */
  protected readonly target: BrokerUrl;
  /** The options with their defaults. */
  protected readonly options: ResolvedBrokerOptions;
  /** Up/down and message handlers, and their counters. */
  protected readonly events: BrokerEvents = new BrokerEvents();
  /** Publishes in flight: bounded, timed out. */
  protected readonly gate: PublishGate;
  /** This instance's heartbeat, once announced. */
  protected announced: InstanceInfo | undefined;

  /** A broker for `url`, not yet connected. */
  constructor(url: BrokerUrl, options: BrokerOptions = {}) {
    this.target = url;
    this.url = redact(url);
    this.options = resolveBrokerOptions(options);
    this.gate = new PublishGate({
      maxInFlight: this.options.maxInFlight,
      maxInFlightBytes: this.options.maxInFlightBytes,
      timeoutMs: this.options.publishTimeoutMs,
    });
  }

  /** Connected and able to publish cluster-wide. */
  get up(): boolean {
    return this.events.up;
  }

  /** This instance's id (the `origin` of its messages). */
  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Adds a handler for every message of every channel. */
  onMessage(handler: (message: BrokerMessage) => void): void {
    this.events.onMessage(handler);
  }

  /** Adds a handler for up/down transitions. */
  onStateChange(handler: (up: boolean, reason: string) => void): void {
    this.events.onStateChange(handler);
  }

  /** Sets this instance's heartbeat and sends it when up. */
  announce(info: InstanceInfo): void {
    this.announced = info;
    this.beat();
  }

  /** Counters for `/metrics`. */
  stats(): BrokerStats {
    return {
      published: this.gate.published,
      publishFailed: this.gate.failed,
      received: this.events.received,
      reconnects: this.events.reconnects,
      missed: this.events.missed,
      inFlight: this.gate.inFlight,
    };
  }

  /** Retained messages of `channel` from `fromSeq`, and whether some are gone. */
  async history(channel: string, fromSeq: number, limit: number): Promise<HistoryPage> {
    assertChannelName(channel);
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) throw new RangeError(`fromSeq ${fromSeq}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit ${limit}`);
    if (!this.up) throw new BrokerUnavailableError(`broker ${this.url} is down: no history`);
    try {
      return await this.readHistory(channel, fromSeq, limit);
    } catch (error) {
      throw new BrokerUnavailableError(
        `history of ${channel} from broker ${this.url}: ${this.describe(error)}`,
        { cause: this.scrubbed(error) },
      );
    }
  }

  abstract start(): Promise<void>;
  abstract publish(channel: string, payload: Uint8Array): Promise<number>;
  abstract instances(): SeenInstance[];
  abstract close(): Promise<void>;

  /** The history request itself, its arguments checked and the broker up. */
  protected abstract readHistory(
    channel: string,
    fromSeq: number,
    limit: number,
  ): Promise<HistoryPage>;

  /** Sends this instance's heartbeat now, if announced and up. */
  protected abstract beat(): void;

  /** An error's first line, secrets removed. */
  protected describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string })?.code;
    const line = message.split("\n")[0] || code || "unknown error";
    return scrubSecrets(line, this.target);
  }

  /** The error itself unless it quotes a secret; then a copy without it. */
  protected scrubbed(error: unknown): unknown {
    const message = error instanceof Error ? error.message : String(error);
    return scrubSecrets(message, this.target) === message ? error : new Error(this.describe(error));
  }
}
