/**
 * A snapshot of the server's state for the dashboard and `/metrics`: totals since start, every
 * connected client with its own counters, and the channels (counts, and the busiest ones with
 * their subscribers, retained history and message rate). Both views read the same snapshot, so
 * they always agree.
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
import type { ChannelStats, Hub } from "../hub/hub.ts";
import type { TrafficCounters, Transport } from "../hub/peer.ts";
import type { SecurityCounters } from "../hub/security_counters.ts";

/**
 * Most channels a snapshot lists one by one (the busiest): a dashboard gets a readable table and
 * a bounded message every second, however many channels there are.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { Hub } from "../hub/hub.ts";
 * import { CHANNEL_ROWS, takeStats } from "./stats.ts";
 * const stats = takeStats(new Hub({ logger: new Logger(), maxFrame: 1 << 20 }), new Date());
 * stats.channels.top.length <= CHANNEL_ROWS; // true
 * ```
 */
export const CHANNEL_ROWS = 100;

/** One channel as the dashboard lists it. */
export interface ChannelRow extends ChannelStats {
  /** Messages published on it per second, lately (0 when not measured). */
  rate: number;
}

/** The channels at one instant. */
export interface ChannelSummary {
  /** Channels with subscribers, retained messages or recent messages. */
  count: number;
  /** Subscriptions over every channel (each v1 client is one, to `broadcast`). */
  subscriptions: number;
  /** Messages retained for replay over every channel. */
  retained: number;
  /** The busiest channels (by rate, then subscribers, then name), at most {@link CHANNEL_ROWS}. */
  top: ChannelRow[];
}

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
  /** Who it is, from its client certificate (`--client-ca`); absent otherwise. */
  identity?: string;
}

/** When the certificate one listener serves expires. */
export interface CertificateExpiry {
  /** The listener: `tls` (the message port) or `wss` (the HTTPS/WebSocket port). */
  listener: string;
  /** End of the certificate's validity (ms since the epoch). */
  notAfter: number;
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
  /** What authentication and the limits refused since the server started. */
  security: SecurityCounters;
  /** Every connected client, oldest first. */
  peers: PeerStats[];
  /** The channels. */
  channels: ChannelSummary;
  /** The certificate of each TLS listener (none with `--plain`). */
  certificates: CertificateExpiry[];
}

/**
 * Reads the hub's counters, peers and channels now; `rates` gives messages per second by
 * channel (from `ChannelRates`; none for `/metrics`).
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
export function takeStats(
  hub: Hub,
  startedAt: Date,
  rates: ReadonlyMap<string, number> = new Map(),
  certificates: CertificateExpiry[] = [],
): ServerStats {
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
      ...(peer.identity === undefined ? {} : { identity: peer.identity }),
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
    security: { ...hub.security },
    peers,
    channels: summarizeChannels(hub.channels(), rates),
    certificates,
  };
}

function summarizeChannels(
  channels: ChannelStats[],
  rates: ReadonlyMap<string, number>,
): ChannelSummary {
  let subscriptions = 0;
  let retained = 0;
  const rows: ChannelRow[] = [];
  const listed = new Set<string>();
  for (const channel of channels) {
    subscriptions += channel.subscribers;
    retained += channel.retained;
    listed.add(channel.channel);
    rows.push({ ...channel, rate: rates.get(channel.channel) ?? 0 });
  }
  // A channel nobody subscribes to and that retains nothing (--history 0) still has a rate.
  for (const [channel, rate] of rates) {
    if (!listed.has(channel)) rows.push({ channel, subscribers: 0, retained: 0, rate });
  }
  rows.sort((a, b) =>
    b.rate - a.rate || b.subscribers - a.subscribers ||
    (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0)
  );
  return { count: rows.length, subscriptions, retained, top: rows.slice(0, CHANNEL_ROWS) };
}
