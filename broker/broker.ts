/**
 * What a cluster broker does for the hub, whichever server sits behind it (Redis or NATS
 * JetStream): publish a message cluster-wide under one sequence number, hand every instance
 * every message once in one order, replay a channel's retained messages, and say when it is up.
 * Nothing here knows a transport; `open_broker.ts` picks the implementation from a URL.
 *
 * @example
 * ```ts
 * import type { Broker } from "./broker.ts";
 * function wire(broker: Broker): void {
 *   broker.onMessage((message) => console.log(message.channel, message.seq, message.origin));
 *   broker.onStateChange((up, reason) => console.log(up ? "broker up" : "broker down", reason));
 * }
 * ```
 * @module
 */

/**
 * One message as every instance receives it from the broker.
 *
 * @example
 * ```ts
 * import type { BrokerMessage } from "./broker.ts";
 * const message: BrokerMessage = {
 *   channel: "metrics",
 *   seq: 1796197904150544,
 *   payload: new TextEncoder().encode("cpu 93%"),
 *   origin: "instance-a",
 * };
 * ```
 */
export interface BrokerMessage {
  /** The channel it was published on. */
  readonly channel: string;
  /**
   * Its sequence number: strictly increasing within the channel, the same on every instance,
   * never reused (also after the broker lost its data); not consecutive.
   */
  readonly seq: number;
  /** The UTF-8 payload, as published. */
  readonly payload: Uint8Array;
  /** The id of the instance that published it (`BrokerOptions.instanceId`). */
  readonly origin: string;
}

/**
 * A range of sequence numbers whose messages existed but are no longer retained (the `GAP`
 * of protocol v2): `[from, to)`.
 *
 * @example
 * ```ts
 * import type { HistoryGap } from "./broker.ts";
 * const gap: HistoryGap = { from: 10, to: 42 };
 * const line = `GAP metrics ${gap.from} ${gap.to}`;
 * ```
 */
export interface HistoryGap {
  /** The first number asked for. */
  readonly from: number;
  /** The first retained message at or after `from`, or `next` when there is none. */
  readonly to: number;
}

/**
 * One page of a channel's retained messages, from `Broker.history`.
 *
 * @example
 * ```ts
 * import type { HistoryPage } from "./broker.ts";
 * function replay(channel: string, page: HistoryPage, send: (line: string) => void): void {
 *   send(`OK SUB ${channel} ${page.next}`);
 *   if (page.gap) send(`GAP ${channel} ${page.gap.from} ${page.gap.to}`);
 *   for (const message of page.messages) send(`MSG ${channel} ${message.seq} ...`);
 * }
 * ```
 */
export interface HistoryPage {
  /** Retained messages with `seq >= fromSeq`, in sequence order, at most `limit`. */
  readonly messages: BrokerMessage[];
  /** More retained messages follow the last one (ask again from its `seq + 1`). */
  readonly more: boolean;
  /**
   * Messages at or after `fromSeq` that existed but are gone (trimmed by the history length or
   * age); `null` when none were dropped.
   */
  readonly gap: HistoryGap | null;
  /** The lowest sequence number a message published from now on can get. */
  readonly next: number;
  /**
   * The broker's record of this channel is complete from this number on. Below it the broker
   * lost its data (it was restarted empty, or the channel is new): messages numbered below
   * `since` may have existed that no `gap` can report.
   */
  readonly since: number;
}

/**
 * What an instance says about itself in its heartbeat through the broker.
 *
 * @example
 * ```ts
 * import type { InstanceInfo } from "./broker.ts";
 * const info: InstanceInfo = { id: "instance-a", clients: 1200, started: Date.now() };
 * ```
 */
export interface InstanceInfo {
  /** The instance id (the `origin` of its messages). */
  readonly id: string;
  /** How many clients it serves. */
  readonly clients: number;
  /** When it started, in ms since the Unix epoch. */
  readonly started: number;
}

/**
 * An instance seen through the broker, with when its last heartbeat was seen.
 *
 * @example
 * ```ts
 * import type { SeenInstance } from "./broker.ts";
 * function describe(instance: SeenInstance): string {
 *   return `${instance.id}: ${instance.clients} clients, seen ${Date.now() - instance.seen} ms ago`;
 * }
 * ```
 */
export interface SeenInstance extends InstanceInfo {
  /** When its last heartbeat was seen, in ms since the Unix epoch (this instance's clock). */
  readonly seen: number;
}

/**
 * Counters for `/metrics`, since the broker object was created.
 *
 * @example
 * ```ts
 * import type { BrokerStats } from "./broker.ts";
 * function metrics(stats: BrokerStats): string {
 *   return `tlspush_broker_published_total ${stats.published}\n`;
 * }
 * ```
 */
export interface BrokerStats {
  /** Messages this instance published that the broker accepted. */
  readonly published: number;
  /** Publishes refused: broker down, too many in flight, timed out, or failed. */
  readonly publishFailed: number;
  /** Messages received from the broker (from every instance, this one included). */
  readonly received: number;
  /** Times the connection came back after being lost. */
  readonly reconnects: number;
  /**
   * Messages this instance could not receive because the broker had trimmed them before it
   * read them (it was away longer than the broker's delivery buffer), or lost them in a
   * restart without data before this instance read them, where that can be known.
   */
  readonly missed: number;
  /** Publishes sent and not yet answered. */
  readonly inFlight: number;
}

/**
 * A cluster broker: one per server instance.
 *
 * Register `onMessage` and `onStateChange` before `start()`. Local publishes are delivered to
 * this instance through `onMessage` when they come back from the broker, like everyone else's,
 * so every instance sees one order.
 *
 * @example
 * ```ts
 * import type { Broker } from "./broker.ts";
 * async function run(broker: Broker): Promise<void> {
 *   broker.onMessage((message) => console.log(message.channel, message.seq));
 *   await broker.start(); // rejects BrokerUnavailableError when unreachable
 *   const seq = await broker.publish("metrics", new TextEncoder().encode("cpu 93%"));
 *   const page = await broker.history("metrics", seq, 100);
 *   console.log(page.messages.length, page.gap);
 *   await broker.close();
 * }
 * ```
 */
export interface Broker {
  /** Which server it talks to, with any password redacted (for log lines). */
  readonly url: string;
  /** Connected and able to publish cluster-wide. */
  readonly up: boolean;
  /** Connects; rejects `BrokerUnavailableError` (password redacted) if unreachable. */
  start(): Promise<void>;
  /**
   * Publishes cluster-wide; resolves with the message's sequence number. Rejects at once with
   * `BrokerUnavailableError` when down (never "delivered locally only"), with
   * `BrokerOverloadedError` when too many publishes are in flight, `BrokerTimeoutError` when
   * the broker did not answer in time (the message may still be delivered), and
   * `BrokerPayloadTooLargeError` when the broker cannot carry that many bytes.
   */
  publish(channel: string, payload: Uint8Array): Promise<number>;
  /**
   * Every message of every channel, from every instance including this one, exactly once
   * each, in one order that every instance sees the same way. Handlers run synchronously, in
   * registration order; one that throws does not stop the others.
   */
  onMessage(handler: (message: BrokerMessage) => void): void;
  /**
   * Retained messages of `channel` with `seq >= fromSeq` (at most `limit`), whether any at or
   * after `fromSeq` are gone, and the next sequence number. Rejects `BrokerUnavailableError`
   * when down.
   */
  history(channel: string, fromSeq: number, limit: number): Promise<HistoryPage>;
  /** Up/down transitions (the first `up` when `start()` succeeds), one call each. */
  onStateChange(handler: (up: boolean, reason: string) => void): void;
  /** Sets this instance's heartbeat (sent at once when up, then periodically). */
  announce(info: InstanceInfo): void;
  /** The instances whose heartbeat was seen recently, this one included. */
  instances(): SeenInstance[];
  /** Counters for `/metrics`. */
  stats(): BrokerStats;
  /** Disconnects; pending publishes reject. No state change is reported. */
  close(): Promise<void>;
}
