/**
 * The NATS broker (`--broker nats://...`, npm `@nats-io/transport-node` and
 * `@nats-io/jetstream`): one JetStream stream per deployment holds every channel's subject;
 * the stream's sequence gives the one order (plain NATS subjects do not promise one order
 * from several publishers), and each instance reads the whole stream through its own ordered
 * consumer from the last sequence it handled, so a reconnect resumes where it stopped.
 *
 * History: the stream keeps `history + channelBacklog` messages per subject (the backlog is
 * the delivery buffer of instances that read behind), and replays only the newest `history`
 * of them that are within the age limit. The retained ones it does not replay are what tells,
 * exactly, whether anything at or after a requested number is gone: JetStream does not say
 * what it trimmed, but it trims oldest first, so anything trimmed is older than every retained
 * message, and a subject never held more than `history` messages if it holds no hidden one
 * (the stream has no age or size limit: its per-subject count never goes down).
 * Sequence numbers: see `stream_epoch.ts`.
 *
 * @example
 * ```ts
 * import { NatsBroker } from "./nats_broker.ts";
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const broker = new NatsBroker(parseBrokerUrl("nats://127.0.0.1:4222"), { history: 100 });
 * broker.onMessage((message) => console.log(message.channel, message.seq));
 * await broker.start();
 * await broker.publish("metrics", new TextEncoder().encode("cpu 93%"));
 * await broker.close();
 * ```
 * @module
 */
import { BrokerBase } from "./broker_base.ts";
import { guardAgainstStrayResets } from "../util/stray_reset_guard.ts";
import { connect, headers, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import {
  type ConsumerMessages,
  DiscardPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { BrokerMessage, HistoryPage, SeenInstance } from "./broker.ts";
import { BrokerPayloadTooLargeError, BrokerUnavailableError } from "./broker_errors.ts";
import type { BrokerOptions } from "./broker_options.ts";
import type { BrokerUrl } from "./broker_url.ts";
import { assertChannelName } from "./channel_name.ts";
import {
  channelOfSubject,
  channelWildcard,
  presenceSubject,
  streamName,
  subjectOfChannel,
} from "./nats_subjects.ts";
import { parseHeartbeat, PresenceTable } from "./presence_table.ts";
import { reconnectDelay } from "../util/reconnect_delay.ts";
import { streamBase } from "./stream_epoch.ts";
import { withinDeadline } from "../util/deadline.ts";

const ORIGIN_HEADER = "Tlspush-Origin";
const text = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A `Broker` on NATS with JetStream (`nats-server -js`, 2.9 or later).
 *
 * @example
 * ```ts
 * import { NatsBroker } from "./nats_broker.ts";
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const broker = new NatsBroker(parseBrokerUrl("nats://127.0.0.1:4222"), { prefix: "blue" });
 * broker.onStateChange((up, reason) => console.log(up, reason));
 * ```
 */
export class NatsBroker extends BrokerBase {
  readonly #stream: string;
  readonly #presence: PresenceTable;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  #started = false;
  #closed = false;
  #connected = false;
  /** The stream's creation time as JetStream gives it, and the base it means. */
  #created = "";
  #base = 0;
  /** The last stream sequence handed to the handlers (of the stream created at `#created`). */
  #cursor = 0;
  /** Bumped for every consumer started: messages of an older one are ignored. */
  #generation = 0;
  #consumer: ConsumerMessages | undefined;
  #consumerName: string | undefined;
  #resyncing: Promise<void> | undefined;
  #lastError = "";
  #downSince = 0;
  #reconnectAttempt = 0;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #presenceSub: Subscription | undefined;
  #statusLoop: Promise<void> | undefined;

  /** A broker for `url`, not yet connected. */
  constructor(url: BrokerUrl, options: BrokerOptions = {}) {
    super(url, options);
    this.#stream = streamName(this.options.prefix);
    this.#presence = new PresenceTable(this.options.heartbeatMs * 3);
  }

  /** Connects, makes sure the stream exists, starts reading; rejects if unreachable. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) throw new Error("NatsBroker.start() called twice");
    // nats.js leaves its socket without an error listener while connecting (see the guard).
    guardAgainstStrayResets();
    const target = this.target;
    try {
      this.#nc = await connect({
        servers: `${
          target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname
        }:${target.port}`,
        ...(target.username !== undefined ? { user: target.username } : {}),
        ...(target.password !== undefined ? { pass: target.password } : {}),
        ...(target.token !== undefined ? { token: target.token } : {}),
        name: `tlspush-${this.options.instanceId}`,
        timeout: this.options.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () =>
          reconnectDelay(
            this.#reconnectAttempt++,
            this.options.reconnectBaseMs,
            this.options.reconnectCapMs,
          ),
        pingInterval: 5_000,
        maxPingOut: 3,
        ignoreClusterUpdates: true,
        // Connect to the name as given: Deno's permission to connect to HOST:PORT does not
        // cover nats.js's own DNS lookup of HOST (it would need --allow-net=HOST, any port).
        resolve: false,
      });
      this.#connected = true;
      this.#jsm = await jetstreamManager(this.#nc, { timeout: this.options.connectTimeoutMs });
      this.#js = jetstream(this.#nc, { timeout: this.options.publishTimeoutMs });
      const info = await this.#ensureStream();
      this.#created = info.created;
      this.#base = streamBase(info.created);
      this.#cursor = info.state.last_seq;
      await this.#startConsumer();
      this.#presenceSub = this.#nc.subscribe(presenceSubject(this.options.prefix), {
        callback: (error, message) => {
          if (error) return;
          const beat = parseHeartbeat(text.decode(message.data));
          if (!beat) return;
          if (beat.bye) this.#presence.forget(beat.info.id);
          else this.#presence.heard(beat.info);
        },
      });
    } catch (error) {
      this.#closed = true;
      await this.#nc?.close().catch(() => {});
      const why = this.describe(error);
      const hint = /jetstream is not enabled/i.test(why) ? " (start nats-server with -js)" : "";
      throw new BrokerUnavailableError(`cannot reach broker ${this.url}: ${why}${hint}`, {
        cause: this.scrubbed(error),
      });
    }
    this.#started = true;
    this.events.setUp(true, `connected to ${this.url}`);
    this.#statusLoop = this.#watchStatus();
    this.#heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.beat();
  }

  /** Publishes cluster-wide; resolves with the sequence number. */
  publish(channel: string, payload: Uint8Array): Promise<number> {
    assertChannelName(channel);
    const limit = this.#nc?.info?.max_payload;
    if (limit !== undefined && payload.length > limit - 512) {
      return Promise.reject(
        new BrokerPayloadTooLargeError(
          `${payload.length} bytes is more than broker ${this.url} takes (max_payload ${limit})`,
        ),
      );
    }
    return this.gate.run(payload.length, () => this.up, this.url, async () => {
      const h = headers();
      h.set(ORIGIN_HEADER, this.options.instanceId);
      const base = this.#base;
      try {
        const ack = await this.#js!.publish(
          subjectOfChannel(this.options.prefix, channel),
          payload,
          {
            headers: h,
            timeout: this.options.publishTimeoutMs + 1_000,
          },
        );
        return base + ack.seq;
      } catch (error) {
        throw new BrokerUnavailableError(
          `publish to broker ${this.url} failed: ${this.describe(error)}`,
          { cause: this.scrubbed(error) },
        );
      }
    });
  }

  /** The instances heard from in the last three heartbeat periods, this one included. */
  instances(): SeenInstance[] {
    return this.#presence.list();
  }

  /** Stops reading, says goodbye to the others, disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const nc = this.#nc;
    if (nc && this.up && this.announced) {
      nc.publish(
        presenceSubject(this.options.prefix),
        encoder.encode(JSON.stringify({ id: this.announced.id, bye: true })),
      );
    }
    this.events.silenceDown();
    await this.#stopConsumer(true);
    this.#presenceSub?.unsubscribe();
    await nc?.close().catch(() => {});
    await this.#statusLoop;
  }

  /** Follows the connection: down on disconnect, resynchronised and up after a reconnect. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc!.status()) {
      if (this.#closed) return;
      switch (status.type) {
        case "disconnect":
          this.#connected = false;
          this.#goDown(this.#lastError || "connection closed");
          void this.#stopConsumer(false);
          break;
        case "reconnect":
          this.#connected = true;
          this.#reconnectAttempt = 0;
          this.#resync();
          break;
        case "error":
          this.#lastError = this.describe(status.error);
          break;
        case "staleConnection":
          this.#lastError = "the broker stopped answering pings";
          break;
      }
    }
  }

  #goDown(reason: string): void {
    if (!this.up) return;
    this.#downSince = Date.now();
    this.events.setUp(false, `lost ${this.url}: ${reason}`);
  }

  /**
   * After a reconnect (or a lost consumer): make sure the stream exists, see whether it is
   * still the same one (a server restarted without its data recreates it: numbering starts
   * again from its new base, delivery from its first message), start a consumer from the
   * cursor, then report up. Retries with backoff while connected.
   */
  #resync(): void {
    if (this.#resyncing) return;
    this.#resyncing = (async () => {
      let attempt = 0;
      while (!this.#closed && this.#connected) {
        try {
          await this.#stopConsumer(false);
          const info = await this.#ensureStream();
          let note = "";
          if (info.created !== this.#created) {
            note = " (it had lost its data: messages published before it restarted and not " +
              "yet received here are lost)";
            this.#created = info.created;
            this.#base = streamBase(info.created);
            this.#cursor = 0;
          }
          await this.#startConsumer();
          if (this.#closed || !this.#connected) break;
          const away = ((Date.now() - this.#downSince) / 1000).toFixed(1);
          this.events.setUp(true, `reconnected to ${this.url} after ${away} s${note}`);
          this.beat();
          break;
        } catch (error) {
          this.#lastError = this.describe(error);
          await sleep(
            reconnectDelay(attempt++, this.options.reconnectBaseMs, this.options.reconnectCapMs),
          );
        }
      }
    })().finally(() => {
      this.#resyncing = undefined;
    });
  }

  /** The stream's info, creating it (or fixing its per-subject limit) if needed. */
  async #ensureStream(): Promise<StreamInfo> {
    const jsm = this.#jsm!;
    const perSubject = this.options.history + this.options.channelBacklog;
    try {
      const info = await jsm.streams.info(this.#stream);
      if (info.config.max_msgs_per_subject !== perSubject) {
        return await jsm.streams.update(this.#stream, { max_msgs_per_subject: perSubject });
      }
      return info;
    } catch (error) {
      if (!/stream not found/i.test(String((error as Error)?.message))) throw error;
    }
    try {
      return await jsm.streams.add({
        name: this.#stream,
        subjects: [channelWildcard(this.options.prefix)],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_msgs_per_subject: perSubject,
        num_replicas: 1,
        allow_direct: true,
      });
    } catch (error) {
      // Another instance created it at the same moment.
      if (/already in use/i.test(String((error as Error)?.message))) {
        return await jsm.streams.info(this.#stream);
      }
      throw error;
    }
  }

  /** Starts the ordered consumer that delivers every message after the cursor. */
  async #startConsumer(): Promise<void> {
    const generation = ++this.#generation;
    const consumer = await this.#js!.consumers.get(this.#stream, {
      filter_subjects: channelWildcard(this.options.prefix),
      opt_start_seq: this.#cursor + 1,
    });
    this.#consumerName = (await consumer.info(true)).name;
    const messages = await consumer.consume({
      max_messages: 512,
      abort_on_missing_resource: true,
      callback: (message) => this.#handle(message, generation),
    });
    this.#consumer = messages;
    messages.closed().then((error) => {
      // Ended by itself (the stream vanished under it): start over, unless we stopped it.
      if (generation !== this.#generation || this.#closed) return;
      this.#lastError = error ? this.describe(error) : "the consumer ended";
      this.#goDown(this.#lastError);
      this.#resync();
    }, () => {});
  }

  /** Stops the current consumer; with `remove`, also deletes it on the server. */
  async #stopConsumer(remove: boolean): Promise<void> {
    this.#generation++;
    const messages = this.#consumer;
    const name = this.#consumerName;
    this.#consumer = undefined;
    this.#consumerName = undefined;
    if (!messages) return;
    try {
      messages.stop();
    } catch {
      // stopped already
    }
    if (name && (remove || this.#connected)) {
      // Best effort: an ephemeral consumer also goes away by itself after inactivity.
      await withinDeadline(this.#jsm!.consumers.delete(this.#stream, name), 500);
    }
  }

  /** One message of the delivery consumer: to the handlers, then the cursor moves past it. */
  #handle(message: JsMsg, generation: number): void {
    if (generation !== this.#generation || message.seq <= this.#cursor) return;
    // Every stream sequence is a message of ours: a jump means the per-channel limit dropped
    // messages this instance had not read yet (it was away), after a reconnect.
    if (message.seq > this.#cursor + 1) {
      this.events.missed += message.seq - this.#cursor - 1;
    }
    this.#cursor = message.seq;
    const channel = channelOfSubject(this.options.prefix, message.subject);
    if (channel === undefined) return;
    this.events.deliver({
      channel,
      seq: this.#base + message.seq,
      payload: message.data,
      origin: message.headers?.get(ORIGIN_HEADER) ?? "",
    });
  }

  /** The history request itself (the base checked the arguments and that the broker is up). */
  protected async readHistory(
    channel: string,
    fromSeq: number,
    limit: number,
  ): Promise<HistoryPage> {
    const subject = subjectOfChannel(this.options.prefix, channel);
    const info = await this.#jsm!.streams.info(this.#stream, { subjects_filter: subject });
    const base = streamBase(info.created);
    const next = base + info.state.last_seq + 1;
    const since = base + 1;
    const empty: HistoryPage = { messages: [], more: false, gap: null, next, since };
    const start = Math.max(1, fromSeq - base);
    if ((info.state.subjects?.[subject] ?? 0) === 0 || start > info.state.last_seq) return empty;
    const history = this.options.history;
    const cutoffMs = this.options.historyAgeMs > 0 ? Date.now() - this.options.historyAgeMs : 0;

    const consumer = await this.#js!.consumers.get(this.#stream, {
      filter_subjects: subject,
      opt_start_seq: start,
    });
    const messages: BrokerMessage[] = [];
    let hidden = false;
    let more = false;
    try {
      const pending = (await consumer.info(true)).num_pending;
      if (pending === 0) return empty;
      const batch = await consumer.fetch({ max_messages: pending, expires: 5_000 });
      for await (const message of batch) {
        // `pending`: how many of the channel's retained messages are newer than this one.
        const outsideHistory = message.info.pending >= history;
        const tooOld = cutoffMs > 0 && message.info.timestampNanos / 1e6 < cutoffMs;
        if (outsideHistory || tooOld) {
          hidden = true; // retained but not replayed, at or after fromSeq: it is gone
        } else if (messages.length < limit) {
          messages.push({
            channel,
            seq: base + message.seq,
            payload: message.data,
            origin: message.headers?.get(ORIGIN_HEADER) ?? "",
          });
        } else {
          more = true;
        }
        if (more || message.info.pending === 0) break;
      }
    } finally {
      await withinDeadline(consumer.delete(), 500);
    }
    return {
      messages,
      more,
      gap: hidden ? { from: fromSeq, to: messages[0]?.seq ?? next } : null,
      next,
      since,
    };
  }

  /** Publishes this instance's heartbeat (core NATS: not kept, not ordered). */
  /** Sends this instance's heartbeat now, if announced and up. */
  protected beat(): void {
    const info = this.announced;
    if (!info || !this.up || this.#closed) return;
    this.#presence.heard(info);
    try {
      this.#nc?.publish(
        presenceSubject(this.options.prefix),
        encoder.encode(JSON.stringify(info)),
      );
    } catch {
      // down: the next beat will tell
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
