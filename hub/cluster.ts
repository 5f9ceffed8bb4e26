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

/** One message as the broker delivers it. */
export interface ClusterMessage {
  /** Its channel. */
  readonly channel: string;
  /** Its number, the same on every instance. */
  readonly seq: number;
  /** The UTF-8 payload. */
  readonly payload: Uint8Array;
  /** The instance that published it. */
  readonly origin: string;
}

/** A page of a channel's history in the broker. */
export interface ClusterHistoryPage {
  /** Retained messages numbered `>= fromSeq`, oldest first. */
  readonly messages: readonly ClusterMessage[];
  /** More follow the last one. */
  readonly more: boolean;
  /** Messages at or after `fromSeq` that existed but are gone, if any. */
  readonly gap: { readonly from: number; readonly to: number } | null;
  /** The lowest number a new message can get. */
  readonly next: number;
  /** The broker's record is complete from this number on (below: it lost its data). */
  readonly since: number;
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
export interface ClusterStatus {
  /** The broker's URL, password redacted. */
  readonly url: string;
  /** Whether it can publish cluster-wide now. */
  readonly up: boolean;
  /** This instance's id. */
  readonly instanceId: string;
  /** The instances whose heartbeat was seen recently, this one included. */
  readonly instances: readonly {
    readonly id: string;
    readonly clients: number;
    readonly started: number;
    readonly seen: number;
  }[];
  /** Messages this instance published that the broker accepted. */
  readonly published: number;
  /** Publishes refused or failed. */
  readonly publishFailed: number;
  /** Messages received from the broker. */
  readonly received: number;
  /** Times the connection came back after being lost. */
  readonly reconnects: number;
  /** Messages this instance could not receive (it was away too long). */
  readonly missed: number;
  /** Publishes sent and not yet answered. */
  readonly inFlight: number;
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
