/**
 * What the hub needs of a broker to serve one audience from many instances: publish through it
 * (it gives the sequence number every instance agrees on) and read its history. The broker
 * layer (`broker/`) provides it; the composition root plugs it into the hub and hands every
 * message the broker delivers to {@link Hub.receive}, the hub's own messages included: with a
 * cluster the hub delivers nothing locally on its own, so every instance sees one order.
 *
 * @example
 * ```ts
 * import type { Cluster } from "./cluster.ts";
 * function describe(cluster: Cluster): string {
 *   return cluster.up ? "publishing cluster-wide" : "broker unavailable: publishing refused";
 * }
 * ```
 * @module
 */
import { TlspushError } from "../util/errors.ts";

/**
 * One message as every instance receives it from the broker.
 *
 * @example
 * ```ts
 * import type { ClusterMessage } from "./cluster.ts";
 * const message: ClusterMessage = {
 *   channel: "metrics",
 *   seq: 1796197904150544,
 *   payload: new TextEncoder().encode("cpu 93%"),
 *   origin: "instance-a",
 * };
 * ```
 */
export interface ClusterMessage {
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
 * import type { ClusterHistoryGap } from "./cluster.ts";
 * const gap: ClusterHistoryGap = { from: 10, to: 42 };
 * const line = `GAP metrics ${gap.from} ${gap.to}`;
 * ```
 */
export interface ClusterHistoryGap {
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
 * import type { ClusterHistoryPage } from "./cluster.ts";
 * function replay(channel: string, page: ClusterHistoryPage, send: (line: string) => void): void {
 *   send(`OK SUB ${channel} ${page.next}`);
 *   if (page.gap) send(`GAP ${channel} ${page.gap.from} ${page.gap.to}`);
 *   for (const message of page.messages) send(`MSG ${channel} ${message.seq} ...`);
 * }
 * ```
 */
export interface ClusterHistoryPage {
  /** Retained messages with `seq >= fromSeq`, in sequence order, at most `limit`. */
  readonly messages: ClusterMessage[];
  /** More retained messages follow the last one (ask again from its `seq + 1`). */
  readonly more: boolean;
  /**
   * Messages at or after `fromSeq` that existed but are gone (trimmed by the history length or
   * age); `null` when none were dropped.
   */
  readonly gap: ClusterHistoryGap | null;
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
 * import type { InstanceInfo } from "./cluster.ts";
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
 * import type { SeenInstance } from "./cluster.ts";
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
 * import type { ClusterCounters } from "./cluster.ts";
 * function metrics(stats: ClusterCounters): string {
 *   return `tlspush_broker_published_total ${stats.published}\n`;
 * }
 * ```
 */
export interface ClusterCounters {
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

/** A broker, seen from the hub. */
export interface Cluster {
  /** Whether it can publish cluster-wide now. */
  readonly up: boolean;
  /** Publishes; resolves with the number; rejects {@link ClusterRefusedError}. */
  publish(channel: string, payload: Uint8Array): Promise<number>;
  /** Retained messages of `channel` from `fromSeq`, at most `limit`. */
  history(channel: string, fromSeq: number, limit: number): Promise<ClusterHistoryPage>;
}

/** What `/metrics` and the dashboard show of the cluster. */
export interface ClusterStatus extends ClusterCounters {
  /** The broker's URL, password redacted. */
  readonly url: string;
  /** Whether it can publish cluster-wide now. */
  readonly up: boolean;
  /** This instance's id. */
  readonly instanceId: string;
  /** The instances whose heartbeat was seen recently, this one included. */
  readonly instances: readonly SeenInstance[];
  /** Time spent publishing through the broker: seconds in all, and how many publishes. */
  readonly publishSeconds: { readonly sum: number; readonly count: number };
}

/**
 * The broker would not take a message: it is unavailable (down, overloaded, too slow), the
 * message is too large for it, or it refuses the channel name.
 *
 * @example
 * ```ts
 * import { ClusterRefusedError } from "./cluster.ts";
 * const error = new ClusterRefusedError("unavailable", "broker redis://localhost:6379 is down");
 * error.code; // "unavailable"
 * ```
 */
export class ClusterRefusedError extends TlspushError {
  /** The `ERR` code of protocol v2 it maps to. */
  readonly code: "unavailable" | "too-large" | "bad-channel";

  /** Creates the error with its code and the one line to show. */
  constructor(
    code: "unavailable" | "too-large" | "bad-channel",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
  }
}
