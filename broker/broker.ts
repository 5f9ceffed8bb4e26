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
import type {
  ClusterCounters,
  ClusterHistoryGap,
  ClusterHistoryPage,
  ClusterMessage,
  InstanceInfo,
  SeenInstance,
} from "../hub/cluster.ts";

export type { InstanceInfo, SeenInstance };

/** One message as every instance receives it from the broker (see `hub/cluster.ts`). */
export type BrokerMessage = ClusterMessage;

/** Messages of a channel that existed but are gone (see `hub/cluster.ts`). */
export type HistoryGap = ClusterHistoryGap;

/** A page of a channel's history (see `hub/cluster.ts`). */
export type HistoryPage = ClusterHistoryPage;

/** Counters for `/metrics` (see `hub/cluster.ts`). */
export type BrokerStats = ClusterCounters;

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
