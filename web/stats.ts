/**
 * A snapshot of the server's state for the dashboard and `/metrics`: totals since start, and
 * every connected client with its own counters. Both views read the same snapshot, so they
 * always agree.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { takeStats } from "./stats.ts";
 * const stats = takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date());
 * stats.connected; // 0
 * ```
 * @module
 */
import type { Hub } from "../hub/hub.ts";
import type { TrafficCounters, Transport } from "../hub/peer.ts";

/** One connected client, as the dashboard lists it. */
export interface PeerStats extends TrafficCounters {
  /** Server-wide number. */
  id: number;
  /** `tls`, `tcp` or `ws`. */
  transport: Transport;
  /** Remote `host:port`. */
  address: string;
  /** When it connected (ISO time). */
  since: string;
  /** Bytes waiting to be written to it. */
  queuedBytes: number;
}

/** The whole server at one instant. */
export interface ServerStats {
  /** When the snapshot was taken (ms since the epoch). */
  time: number;
  /** When the server started (ms since the epoch). */
  startedAt: number;
  /** Clients connected now. */
  connected: number;
  /** Clients connected now, by transport. */
  byTransport: Record<Transport, number>;
  /** Bytes queued to all clients. */
  queuedBytes: number;
  /** Traffic since the server started. */
  totals: TrafficCounters;
  /** Every connected client, oldest first. */
  peers: PeerStats[];
}

/**
 * Reads the hub's counters and peers now.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { takeStats } from "./stats.ts";
 * const stats = takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date());
 * stats.peers; // []: nobody connected yet
 * stats.totals.messagesIn; // 0
 * ```
 */
export function takeStats(hub: Hub, startedAt: Date): ServerStats {
  const byTransport: Record<Transport, number> = { tls: 0, tcp: 0, ws: 0 };
  const peers: PeerStats[] = [];
  let queuedBytes = 0;
  for (const peer of hub.peers()) {
    byTransport[peer.transport]++;
    queuedBytes += peer.queuedBytes;
    peers.push({
      id: peer.id,
      transport: peer.transport,
      address: peer.address,
      since: peer.since.toISOString(),
      ...peer.counters,
      queuedBytes: peer.queuedBytes,
    });
  }
  peers.sort((a, b) => a.id - b.id);
  return {
    time: Date.now(),
    startedAt: startedAt.getTime(),
    connected: peers.length,
    byTransport,
    queuedBytes,
    totals: { ...hub.totals },
    peers,
  };
}
