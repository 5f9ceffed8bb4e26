/**
 * The Redis broker (`--broker redis://...`, npm `@redis/client`): one Lua script per publish
 * allocates the channel's sequence number and appends the message to the channel's history
 * stream and to the deployment-wide delivery stream, atomically; every instance reads the
 * delivery stream with `XREAD BLOCK` from the last entry id it handled, on a second connection,
 * so all instances see one order and a reconnect resumes where it stopped. See
 * `redis_scripts.ts` for the keys and the sequence numbers.
 *
 * @example
 * ```ts
 * import { RedisBroker } from "./redis_broker.ts";
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const broker = new RedisBroker(parseBrokerUrl("redis://127.0.0.1:6379"), { history: 100 });
 * broker.onMessage((message) => console.log(message.channel, message.seq));
 * await broker.start();
 * await broker.publish("metrics", new TextEncoder().encode("cpu 93%"));
 * await broker.close();
 * ```
 * @module
 */
import { BrokerBase } from "./broker_base.ts";
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { createClient, RESP_TYPES } from "@redis/client";
import type { BrokerMessage, HistoryPage, SeenInstance } from "./broker.ts";
import { BrokerUnavailableError } from "./broker_errors.ts";
import type { BrokerOptions } from "./broker_options.ts";
import type { BrokerUrl } from "./broker_url.ts";
import { assertChannelName } from "./channel_name.ts";
import { parseHeartbeat } from "./presence_table.ts";
import { reconnectDelay } from "../util/reconnect_delay.ts";
import { HEARTBEAT_SCRIPT, HISTORY_SCRIPT, PUBLISH_SCRIPT, scriptSha } from "./redis_scripts.ts";
import { withinDeadline } from "../util/deadline.ts";

/** The part of a node-redis client this broker uses. */
interface RedisConnection {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand<T>(args: (string | Buffer)[], options?: { timeout?: number }): Promise<T>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}

/** A bulk string reply (a Buffer, with the Buffer type mapping). */
type Bulk = Uint8Array;
/** An `XREAD`/`XRANGE` entry: id, then field/value pairs. */
type StreamEntry = [Bulk, Bulk[]];

const text = new TextDecoder();
const READ_BATCH = 512;
const READ_BLOCK_MS = 2_000;

/**
 * A `Broker` on Redis 6.2 or later (streams, `XREAD BLOCK`, exclusive ranges; counting the
 * messages an instance missed needs 7.0's `entries-added`).
 *
 * @example
 * ```ts
 * import { RedisBroker } from "./redis_broker.ts";
 * import { parseBrokerUrl } from "./broker_url.ts";
 * const broker = new RedisBroker(parseBrokerUrl("redis://127.0.0.1:6379"), { prefix: "blue" });
 * broker.onStateChange((up, reason) => console.log(up, reason));
 * ```
 */
export class RedisBroker extends BrokerBase {
  readonly #keys: { all: string; epoch: string; instances: string };
  #command: RedisConnection | undefined;
  #reader: RedisConnection | undefined;
  #shas = { publish: "", history: "", heartbeat: "" };
  #started = false;
  #closed = false;
  /** The reader reconnected and must check the epoch before reading on. */
  #needsResync = false;
  /** The blocking read has not come back long after it should have: Redis is frozen. */
  #stalled = false;
  #epoch = "";
  #cursor = "0-0";
  /** `entries-added` of the delivery stream up to and including `#cursor`. */
  #addedAtCursor = 0;
  #lastError = "";
  #downSince = 0;
  #readLoop: Promise<void> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #instances: SeenInstance[] = [];
  #resyncNote = "";

  /** A broker for `url`, not yet connected. */
  constructor(url: BrokerUrl, options: BrokerOptions = {}) {
    super(url, options);
    const prefix = this.options.prefix;
    this.#keys = {
      all: `${prefix}:all`,
      epoch: `${prefix}:epoch`,
      instances: `${prefix}:instances`,
    };
  }

  /** Connects both connections; rejects `BrokerUnavailableError` if Redis is unreachable. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) throw new Error("RedisBroker.start() called twice");
    this.#shas = {
      publish: await scriptSha(PUBLISH_SCRIPT),
      history: await scriptSha(HISTORY_SCRIPT),
      heartbeat: await scriptSha(HEARTBEAT_SCRIPT),
    };
    try {
      this.#command = this.#connection("command");
      await this.#command.connect();
      this.#reader = this.#connection("reader");
      await this.#reader.connect();
      await this.#loadScripts();
      this.#epoch = await this.#currentEpoch();
      const info = await this.#streamInfo();
      this.#cursor = info?.lastId ?? "0-0";
      this.#addedAtCursor = info?.added ?? 0;
    } catch (error) {
      this.#closed = true;
      this.#command?.destroy();
      this.#reader?.destroy();
      throw new BrokerUnavailableError(
        `cannot reach broker ${this.url}: ${this.describe(error)}`,
        { cause: this.scrubbed(error) },
      );
    }
    this.#started = true;
    this.events.setUp(true, `connected to ${this.url}`);
    this.#readLoop = this.#read();
    this.#heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.beat();
  }

  /** Publishes cluster-wide; resolves with the sequence number. */
  publish(channel: string, payload: Uint8Array): Promise<number> {
    assertChannelName(channel);
    const o = this.options;
    return this.gate.run(payload.length, () => this.up, this.url, async () => {
      const prefix = o.prefix;
      const reply = await this.#evalsha<Bulk>("publish", PUBLISH_SCRIPT, [
        `${prefix}:m:${channel}`,
        `${prefix}:h:${channel}`,
        this.#keys.all,
      ], [
        channel,
        o.instanceId,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        String(o.history),
        String(o.historyAgeMs * 1000),
        String(o.deliveryBuffer),
      ]).catch((error) => {
        throw new BrokerUnavailableError(
          `publish to broker ${this.url} failed: ${this.describe(error)}`,
          { cause: this.scrubbed(error) },
        );
      });
      return Number(text.decode(reply));
    });
  }

  /** The history request itself (the base checked the arguments and that the broker is up). */
  protected async readHistory(
    channel: string,
    fromSeq: number,
    limit: number,
  ): Promise<HistoryPage> {
    const prefix = this.options.prefix;
    const reply: [Bulk, Bulk, Bulk, StreamEntry[]] = await this.#evalsha(
      "history",
      HISTORY_SCRIPT,
      [`${prefix}:m:${channel}`, `${prefix}:h:${channel}`],
      [String(fromSeq), String(limit), String(this.options.historyAgeMs * 1000)],
    );
    const [nextText, sinceText, droppedText, entries] = reply;
    const next = Number(text.decode(nextText));
    const dropped = Number(text.decode(droppedText));
    const messages = entries.slice(0, limit).map(([id, fields]): BrokerMessage => {
      const values = fieldMap(fields);
      return {
        channel,
        seq: Number(text.decode(id).split("-")[0]),
        payload: values.get("p") ?? new Uint8Array(),
        origin: text.decode(values.get("o")),
      };
    });
    return {
      messages,
      more: entries.length > limit,
      gap: dropped >= fromSeq && dropped > 0
        ? { from: fromSeq, to: messages[0]?.seq ?? next }
        : null,
      next,
      since: Number(text.decode(sinceText)),
    };
  }

  /** The instances whose heartbeat Redis holds, this one included. */
  instances(): SeenInstance[] {
    return [...this.#instances];
  }

  /** Disconnects both connections (removing this instance's heartbeat first when up). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (this.up && this.announced && this.#command) {
      const removed = this.#command.sendCommand(["HDEL", this.#keys.instances, this.announced.id]);
      await withinDeadline(removed, 500);
    }
    this.events.silenceDown();
    this.#reader?.destroy();
    const command = this.#command;
    if (command?.isReady) {
      const closed = command.close().catch(() => {});
      const timer = setTimeout(() => command.destroy(), 2_000);
      await closed;
      clearTimeout(timer);
    } else {
      command?.destroy();
    }
    await this.#readLoop;
  }

  /** A node-redis client with this broker's settings and event handling. */
  #connection(role: "command" | "reader"): RedisConnection {
    const target = this.target;
    const client = createClient({
      socket: {
        host: target.hostname,
        port: target.port,
        connectTimeout: this.options.connectTimeoutMs,
        ...(target.tls
          ? {
            tls: true as const,
            // SNI takes a name only; an IP address is still checked against the certificate.
            ...(isIP(target.hostname) ? {} : { servername: target.hostname }),
            ...(this.options.tlsCa ? { ca: [this.options.tlsCa] } : {}),
          }
          : {}),
        reconnectStrategy: (retries: number, cause: Error) => {
          if (!this.#started || this.#closed) return cause; // start() reports it
          return reconnectDelay(
            retries,
            this.options.reconnectBaseMs,
            this.options.reconnectCapMs,
          );
        },
      },
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      database: target.database,
      RESP: 2,
      disableOfflineQueue: true,
      maintNotifications: "disabled",
      disableClientInfo: true,
      name: `tlspush-${this.options.instanceId}-${role}`,
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
    }) as unknown as RedisConnection;
    client.on("error", (error) => {
      this.#lastError = this.describe(error);
      this.#evaluate();
    });
    client.on("end", () => this.#evaluate());
    client.on("reconnecting", () => this.#evaluate());
    client.on("ready", () => {
      if (role === "reader" && this.#started) this.#needsResync = true;
      this.#evaluate();
    });
    return client;
  }

  /** Recomputes `up` from both connections and reports a transition. */
  #evaluate(): void {
    if (!this.#started || this.#closed) return;
    const connected = Boolean(this.#command?.isReady && this.#reader?.isReady);
    const up = connected && !this.#needsResync && !this.#stalled;
    if (up === this.up) return;
    if (up) {
      const away = ((Date.now() - this.#downSince) / 1000).toFixed(1);
      const note = this.#resyncNote;
      this.#resyncNote = "";
      this.events.setUp(true, `reconnected to ${this.url} after ${away} s${note}`);
      this.beat();
    } else {
      this.#downSince = Date.now();
      const why = connected && this.#stalled
        ? `no answer for ${((READ_BLOCK_MS + this.#stallMs()) / 1000).toFixed(1)} s`
        : this.#lastError || "connection closed";
      this.events.setUp(false, `lost ${this.url}: ${why}`);
    }
  }

  /** The delivery loop: `XREAD BLOCK` from the cursor, on the reader connection. */
  async #read(): Promise<void> {
    while (!this.#closed) {
      const reader = this.#reader!;
      if (!reader.isReady) {
        await sleep(50);
        continue;
      }
      try {
        if (this.#needsResync) {
          await this.#resync();
          this.#needsResync = false;
          this.#evaluate();
        }
        const reading = reader.sendCommand<[Bulk, StreamEntry[]][] | null>([
          "XREAD",
          "COUNT",
          String(READ_BATCH),
          "BLOCK",
          String(READ_BLOCK_MS),
          "STREAMS",
          this.#keys.all,
          this.#cursor,
        ]);
        const watchdog = setTimeout(() => {
          this.#stalled = true;
          this.#evaluate();
        }, READ_BLOCK_MS + this.#stallMs());
        const reply = await reading.finally(() => {
          clearTimeout(watchdog);
          if (this.#stalled) {
            this.#stalled = false;
            this.#evaluate();
          }
        });
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) this.#handle(text.decode(id), fields);
        }
      } catch (error) {
        if (this.#closed) return;
        this.#lastError = this.describe(error);
        await sleep(50); // the connection is down or coming back: the events say which
      }
    }
  }

  /** How long past its block time a read may take before Redis counts as frozen. */
  #stallMs(): number {
    return this.options.publishTimeoutMs;
  }

  /** After the reader reconnected: did Redis lose its data, or trim what we had not read? */
  async #resync(): Promise<void> {
    const epoch = await this.#currentEpoch();
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      this.#cursor = "0-0";
      this.#addedAtCursor = 0;
      this.#resyncNote = " (it had lost its data: messages published before it restarted and " +
        "not yet received here are lost)";
      return;
    }
    const info = await this.#streamInfo();
    if (info && info.firstId !== undefined && compareIds(info.firstId, this.#cursor) > 0) {
      const missed = info.added - this.#addedAtCursor - info.length;
      if (missed > 0) {
        this.events.missed += missed;
        this.#addedAtCursor += missed;
        this.#resyncNote = ` (${missed} messages were trimmed before this instance read them)`;
      }
    }
  }

  /** One delivery stream entry: to the handlers, then the cursor moves past it. */
  #handle(id: string, fields: Bulk[]): void {
    this.#cursor = id;
    this.#addedAtCursor++;
    const values = fieldMap(fields);
    const channel = values.get("c");
    const seq = values.get("s");
    if (!channel || !seq) return; // not one of ours
    this.events.deliver({
      channel: text.decode(channel),
      seq: Number(text.decode(seq)),
      payload: values.get("p") ?? new Uint8Array(),
      origin: text.decode(values.get("o")),
    });
  }

  /** The deployment's epoch id (set now if Redis has none: it is new or lost its data). */
  async #currentEpoch(): Promise<string> {
    const fresh = crypto.randomUUID();
    const reader = this.#reader!;
    await reader.sendCommand(["SET", this.#keys.epoch, fresh, "NX"]);
    const current = await reader.sendCommand<Bulk | null>(["GET", this.#keys.epoch]);
    return current ? text.decode(current) : fresh;
  }

  /** Length, first and last ids and `entries-added` of the delivery stream; none if absent. */
  async #streamInfo(): Promise<
    { length: number; firstId?: string; lastId: string; added: number } | undefined
  > {
    let reply: unknown[];
    try {
      reply = await this.#reader!.sendCommand<unknown[]>(["XINFO", "STREAM", this.#keys.all]);
    } catch (error) {
      if (/no such key/i.test(String((error as Error)?.message))) return undefined;
      throw error;
    }
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      info.set(text.decode(reply[i] as Bulk), reply[i + 1]);
    }
    const first = info.get("first-entry") as StreamEntry | null;
    return {
      length: Number(info.get("length")),
      ...(first ? { firstId: text.decode(first[0]) } : {}),
      lastId: text.decode(info.get("last-generated-id") as Bulk),
      added: Number(info.get("entries-added") ?? 0),
    };
  }

  /** Sends the heartbeat (or only reads the others') and keeps the answer. */
  /** Sends this instance's heartbeat now, if announced and up. */
  protected beat(): void {
    if (!this.up || this.#closed) return;
    const info = this.announced;
    const ttl = this.options.heartbeatMs * 3;
    this.#evalsha<Bulk[]>("heartbeat", HEARTBEAT_SCRIPT, [this.#keys.instances], [
      info?.id ?? this.options.instanceId,
      info ? JSON.stringify(info) : "",
      String(ttl),
    ]).then((reply) => {
      const now = Date.now();
      const seen: SeenInstance[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const beat = parseHeartbeat(text.decode(reply[i + 1]));
        if (beat) seen.push({ ...beat.info, seen: now - Number(text.decode(reply[i])) });
      }
      this.#instances = seen.sort((a, b) => a.id.localeCompare(b.id));
    }, () => {});
  }

  /** Loads the scripts (on connect; `EVALSHA` falls back to `SCRIPT LOAD` after a restart). */
  async #loadScripts(): Promise<void> {
    for (const script of [PUBLISH_SCRIPT, HISTORY_SCRIPT, HEARTBEAT_SCRIPT]) {
      await this.#command!.sendCommand(["SCRIPT", "LOAD", script]);
    }
  }

  /** `EVALSHA`, loading the script once if Redis lost it (a restart). */
  async #evalsha<T>(
    which: "publish" | "history" | "heartbeat",
    script: string,
    keys: string[],
    args: (string | Buffer)[],
  ): Promise<T> {
    const command = this.#command!;
    const call = () =>
      command.sendCommand<T>(["EVALSHA", this.#shas[which], String(keys.length), ...keys, ...args]);
    try {
      return await call();
    } catch (error) {
      if (!/NOSCRIPT/.test(String((error as Error)?.message))) throw error;
      await command.sendCommand(["SCRIPT", "LOAD", script]);
      return await call();
    }
  }
}

/** Field/value pairs of a stream entry, by field name. */
function fieldMap(fields: Bulk[]): Map<string, Bulk> {
  const map = new Map<string, Bulk>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(text.decode(fields[i]), fields[i + 1]);
  return map;
}

/** Compares two stream ids `MS-SEQ`. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
