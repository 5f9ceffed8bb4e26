/**
 * The rules every client connection follows, whatever its transport: its identity and counters,
 * joining and leaving the hub with one log line each, counting what it sends (and the echo),
 * `--verbose` lines, relaying (`--relay`), the slow-consumer rule, the `--max-frame` refusal
 * for transports that learn a message's size only once it has arrived, and draining before a
 * clean close. A transport extends it and supplies only how to send, how much is pending and
 * how to close.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import type { OutgoingMessage } from "./message.ts";
 * import { type CloseKind, PeerCore, type PeerSettings } from "./peer_core.ts";
 * import { Logger } from "../util/logger.ts";
 *
 * // A peer that prints what it is sent: a transport in a dozen lines.
 * class PrintingPeer extends PeerCore {
 *   get queuedBytes(): number { return 0; }
 *   protected get pushedBytes(): number { return 0; }
 *   protected get writtenBytes(): number { return 0; }
 *   protected send(message: OutgoingMessage): void { console.log(message.text); }
 *   protected flushed(): Promise<void> { return Promise.resolve(); }
 *   protected reply(payload: Uint8Array): void { console.log(new TextDecoder().decode(payload)); }
 *   protected disconnect(_kind: CloseKind, _clean: boolean): void {}
 *   start(): void { this.join(); }
 * }
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1024 });
 * const settings: PeerSettings = {
 *   hub, maxFrame: 1024, maxPending: 1 << 20, relay: false, drainMs: 1000, maxChannels: 100,
 * };
 * new PrintingPeer(settings, "tcp", "127.0.0.1:5000").start();
 * ```
 * @module
 */
import type { Permissions } from "../auth/permissions.ts";
import { BROADCAST_CHANNEL } from "../protocol/channel.ts";
import { type ClientCommand, parseCommand } from "../protocol/command.ts";
import type { ErrorCode } from "../protocol/error_code.ts";
import { isHelloV2 } from "../protocol/negotiation.ts";
import { encodeReply, msgPayloadLength, type ServerReply } from "../protocol/reply.ts";
import { MAX_SEQUENCE } from "../protocol/sequence_number.ts";
import { describeError } from "../util/errors.ts";
import { formatBytes, plural } from "../util/logger.ts";
import { withinDeadline } from "../util/deadline.ts";
import { type RateLimit, TokenBucket } from "../util/token_bucket.ts";
import type { Hub } from "./hub.ts";
import { OutgoingMessage } from "./message.ts";
import {
  type Delivery,
  newCounters,
  type Peer,
  type TrafficCounters,
  type Transport,
} from "./peer.ts";
import { type PeerAuth, PeerGuard } from "./peer_guard.ts";

/** What every peer of one server shares. */
export interface PeerSettings {
  /** The hub the peer joins once its handshake completes. */
  hub: Hub;
  /** Largest payload accepted, in bytes. */
  maxFrame: number;
  /** Most bytes of pushed messages queued before the client counts as a slow consumer. */
  maxPending: number;
  /** Whether client messages also go to every other client. */
  relay: boolean;
  /** How long a closing peer may take to flush what is queued, in ms (without progress). */
  drainMs: number;
  /** Most channels one v2 connection may subscribe to (`--max-channels`). */
  maxChannels: number;
  /** Authentication, when it is on (`--jwt-secret`, `--jwt-public-key`, `--acl`). */
  auth?: PeerAuth;
  /** Messages a second per connection, with a burst (`--rate`); absent: no limit. */
  rate?: RateLimit;
}

/** Why a connection is being closed; each transport maps it to its own close (code). */
export type CloseKind =
  | "peer-closed"
  | "shutdown"
  | "protocol"
  | "too-large"
  | "unsupported"
  | "slow-consumer"
  | "idle"
  | "unauthenticated"
  | "lost";

/**
 * A client connection served by some transport.
 *
 * @example
 * ```ts
 * import type { PeerCore } from "./peer_core.ts";
 * function describe(peer: PeerCore): string {
 *   return `#${peer.id} ${peer.address}${peer.closing ? " (closing)" : ""}`;
 * }
 * ```
 */
export abstract class PeerCore implements Peer {
  readonly id: number;
  readonly transport: Transport;
  readonly address: string;
  readonly identity: string | undefined;
  since: Date = new Date();
  readonly counters: TrafficCounters = newCounters();
  /** What every peer of the server shares. */
  protected readonly settings: PeerSettings;
  /** Set once closing has begun: why. */
  #closeReason: string | undefined;
  #joined = false;
  #protocol: 1 | 2 = 1;
  /** With authentication on: who this is and what it may do. */
  readonly #guard: PeerGuard | undefined;
  /** With `--rate`: what this connection may still send. */
  readonly #bucket: TokenBucket | undefined;

  /**
   * A peer numbered by the hub; it joins with {@link join} once its handshake completes.
   * `identity`: who its transport proved it is (a client certificate), if anyone.
   */
  constructor(settings: PeerSettings, transport: Transport, address: string, identity?: string) {
    this.settings = settings;
    this.transport = transport;
    this.address = address;
    this.identity = identity;
    this.id = settings.hub.nextId();
    const { auth, rate } = settings;
    this.#guard = auth && new PeerGuard(auth, settings.hub.security, (why) => this.#deny(why));
    this.#bucket = rate && new TokenBucket(rate.perSecond, rate.burst);
  }

  /** Bytes queued or being written. */
  abstract get queuedBytes(): number;
  /** Of those, the bytes of pushed messages (the slow-consumer limit counts only these). */
  protected abstract get pushedBytes(): number;
  /** Bytes written so far: progress, while draining. */
  protected abstract get writtenBytes(): number;
  /** Queues a pushed message (one {@link carries}). */
  protected abstract send(message: OutgoingMessage): void;
  /** Resolves once nothing is queued (or the connection failed). */
  protected abstract flushed(): Promise<void>;
  /** Ends the connection: `clean` after everything was written, else at once. */
  protected abstract disconnect(kind: CloseKind, clean: boolean): Promise<void> | void;
  /** Sends a v2 reply (`OK`, `ERR`, `PONG`, `GAP`, a replayed `MSG`) outside the slow-consumer rule. */
  protected abstract reply(payload: Uint8Array): void;

  /** The protocol this peer speaks: 1 until it negotiates 2. */
  get protocol(): 1 | 2 {
    return this.#protocol;
  }

  /** Whether this connection can carry `message`: a v2 `MSG` must fit `--max-frame`. */
  protected carries(message: OutgoingMessage): boolean {
    return this.#protocol === 1 || message.msg.length <= this.settings.maxFrame;
  }

  /** True once closing has begun. */
  get closing(): boolean {
    return this.#closeReason !== undefined;
  }

  /** True once the handshake completed and the hub knows this peer. */
  get joined(): boolean {
    return this.#joined;
  }

  deliver(message: OutgoingMessage): Delivery {
    if (this.closing) return "closing";
    if (!this.carries(message)) return "skipped";
    const bytes = message.payload.length;
    if (!this.admits(bytes)) return "cut-off";
    this.send(message);
    this.settings.hub.countOut(this, 1, bytes);
    return "sent";
  }

  async shutdown(drainMs: number): Promise<void> {
    if (!this.#joined) return await this.abandon();
    if (!this.#beginClosing("shutdown", "server shutting down")) return;
    await this.#drain(drainMs, false);
    await this.disconnect("shutdown", this.queuedBytes === 0);
  }

  /** Closes a peer that never joined (its handshake is still going); nothing is logged. */
  protected abandon(): Promise<void> | void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = "server shutting down";
    return this.disconnect("shutdown", false);
  }

  /**
   * The identity of the client certificate, once the TLS handshake verified one (`--client-ca`);
   * with `--acl`, its entry's permissions apply.
   */
  protected certificateIdentity(): string | undefined {
    return this.identity;
  }

  /** Permissions from a token verified before the connection was set up (`?token=`); before join. */
  protected admit(permissions: Permissions): void {
    this.#guard?.admit(permissions);
  }

  /** The identity authenticated (by a token, or a certificate listed in the ACL), if any. */
  get authenticatedAs(): string | undefined {
    return this.#guard?.permissions?.identity;
  }

  /** Speak v2 from the start (negotiated by ALPN or the WebSocket subprotocol); before join. */
  protected startV2(): void {
    this.#protocol = 2;
  }

  /**
   * Looks at the connection's first frame: `HELLO tlspush/2` switches it to v2 (the command
   * loop then answers `OK HELLO`); anything else leaves it v1 for good. A v1 client may have
   * been pushed a `broadcast` before its `HELLO` arrived: a v2 client skips frames until `OK HELLO`.
   */
  protected negotiate(first: Uint8Array): void {
    if (this.#protocol === 2) return;
    if (!isHelloV2(first)) return this.#refuseV1();
    this.#protocol = 2;
    this.settings.hub.unsubscribe(this, BROADCAST_CHANNEL);
  }

  /**
   * A v1 client cannot present a token: with authentication on, only one identified by its
   * client certificate (and listed in the ACL) is served. The caller stops once `closing`.
   */
  #refuseV1(): void {
    if (!this.#guard || this.#guard.byCertificate) return;
    this.settings.hub.security.authClosed++;
    this.finish(
      "v1 client refused: authentication is on (speak v2 and send AUTH, or present a client " +
        "certificate)",
      "unauthenticated",
    );
  }

  /** The guard's clock ran out (no AUTH in time, token expired): say why to a v2 client, close. */
  #deny(why: string): void {
    if (this.#protocol === 2) this.#refuse("not-authenticated", why);
    this.finish(why, "unauthenticated");
  }

  /**
   * With `--rate`: takes `count` messages from the bucket and returns how long (ms) to stop
   * reading so that the connection keeps to the rate; 0 without a limit or when within it.
   */
  protected throttle(count: number): number {
    if (this.#bucket === undefined) return 0;
    const waitMs = this.#bucket.debit(count);
    if (waitMs > 0) this.settings.hub.security.rateThrottled++;
    return waitMs;
  }

  /** The handshake completed: join the hub and say so. */
  protected join(): void {
    const { hub } = this.settings;
    this.#joined = true;
    this.since = new Date();
    hub.add(this);
    const guard = this.#guard;
    if (guard) {
      guard.identify(this.certificateIdentity());
      // Nothing is pushed to a client before it has proved it may receive it.
      if (this.#protocol === 1 && !guard.permissions?.maySubscribe(BROADCAST_CHANNEL)) {
        hub.unsubscribe(this, BROADCAST_CHANNEL);
      }
      guard.start();
    }
    const via = this.transport === "ws" ? " over WebSocket" : "";
    const token = this.authenticatedAs;
    const who = this.identity !== undefined
      ? ` as ${this.identity} (client certificate)`
      : token === undefined
      ? ""
      : ` as ${JSON.stringify(token)}`;
    hub.logger.info(
      `client #${this.id} connected from ${this.address}${via}${who} (${hub.size} connected)`,
    );
  }

  /**
   * Counts `count` messages of `bytes` received, logs them with `--verbose`, and relays them
   * with `--relay`; `payloads` gives them (asked only when needed; copied before relaying).
   */
  protected received(count: number, bytes: number, payloads: () => readonly Uint8Array[]): void {
    const { hub, relay } = this.settings;
    hub.countIn(this, count, bytes);
    if (hub.logger.verbose) {
      for (const payload of payloads()) {
        hub.logger.info(
          `client #${this.id} ${this.address}: message of ${payload.length} bytes`,
        );
      }
    }
    if (relay && this.#protocol === 1 && this.#mayRelay()) {
      for (const payload of payloads()) {
        hub.publish(new OutgoingMessage(payload.slice(), { kind: "relay", peer: this }));
      }
    }
  }

  /**
   * Carries out one v2 command (a frame's payload) and replies; an `ERR` leaves the connection
   * open. Awaited in order, so that replies come in the order of the commands.
   */
  protected async command(payload: Uint8Array): Promise<void> {
    if (this.#bucket !== undefined && !this.#bucket.tryTake()) {
      this.settings.hub.security.rateLimited++;
      return this.#refuse("rate-limited", `over --rate ${this.settings.rate!.perSecond}/s`);
    }
    const command = parseCommand(payload);
    if (command.kind === "refused") return this.#refuse(command.code, command.text);
    if (this.#guard && command.kind !== "hello" && command.kind !== "auth") {
      const permissions = this.#guard.permissions;
      if (!permissions || (permissions.expiresAt ?? Infinity) <= Date.now()) {
        return this.#refuse("not-authenticated", "send AUTH <token> first");
      }
      if (command.kind === "sub" && !permissions.maySubscribe(command.channel)) {
        return this.#forbid(`${permissions.identity} may not subscribe to ${command.channel}`);
      }
      if (command.kind === "pub" && !permissions.mayPublish(command.channel)) {
        return this.#forbid(`${permissions.identity} may not publish on ${command.channel}`);
      }
    }
    await this.#execute(command);
  }

  /** v1 relay with authentication on: only when the client may publish on `broadcast`. */
  #mayRelay(): boolean {
    return !this.#guard || (this.#guard.permissions?.mayPublish(BROADCAST_CHANNEL) ?? false);
  }

  #forbid(text: string): void {
    this.settings.hub.security.forbidden++;
    this.#refuse("forbidden", text);
  }

  async #authenticate(token: string): Promise<void> {
    const guard = this.#guard;
    if (!guard) return this.#refuse("forbidden", "authentication is off on this server");
    const outcome = await guard.authenticate(token);
    if (this.closing) return;
    const { logger } = this.settings.hub;
    if ("refused" in outcome) {
      logger.info(`client #${this.id} ${this.address}: AUTH refused: ${outcome.refused}`);
      return this.#refuse(outcome.code, outcome.refused);
    }
    const { identity, renewed } = outcome;
    logger.info(
      `client #${this.id} ${this.address} ${renewed ? "renewed its token" : "authenticated"} ` +
        `as ${JSON.stringify(identity)}`,
    );
    // A new token may grant less: leave what it no longer allows.
    const { hub } = this.settings;
    const permissions = guard.permissions!;
    for (const channel of hub.channelsOf(this)) {
      if (!permissions.maySubscribe(channel)) hub.unsubscribe(this, channel);
    }
    this.#reply({ kind: "ok-auth", identity });
  }

  async #execute(command: ClientCommand): Promise<void> {
    const { hub, maxChannels, maxFrame, relay } = this.settings;
    switch (command.kind) {
      case "hello":
        return this.#reply({ kind: "ok-hello" });
      case "ping":
        return this.#reply({ kind: "pong", data: command.data });
      case "auth":
        return await this.#authenticate(command.token);
      case "unsub":
        hub.unsubscribe(this, command.channel);
        return this.#reply({ kind: "ok-unsub", channel: command.channel });
      case "sub": {
        const { channel, from } = command;
        if (hub.channelCount(this) >= maxChannels && !hub.isSubscribed(this, channel)) {
          return this.#refuse("forbidden", `at most ${maxChannels} channels per connection`);
        }
        const { next, gap, replay, live } = await hub.subscribe(this, channel, from);
        this.#reply({ kind: "ok-sub", channel, next });
        if (gap) this.#reply({ kind: "gap", channel, from: gap.from, to: gap.to });
        for (const message of replay) this.#replay(message);
        return live();
      }
      case "pub": {
        const { channel, data } = command;
        // With authentication on, the token's `pubs` decide (checked before); else --relay.
        if (!relay && !this.#guard) {
          return this.#refuse("forbidden", "publishing needs a server started with --relay");
        }
        if (msgPayloadLength(channel, MAX_SEQUENCE, data.length) > maxFrame) {
          return this.#refuse(
            "too-large",
            `a message on ${channel} must fit --max-frame ${maxFrame}`,
          );
        }
        const message = new OutgoingMessage(data.slice(), { kind: "client", peer: this }, channel);
        const result = await hub.publish(message);
        if (result.refused) return this.#refuse(result.refused.code, result.refused.reason);
        return this.#reply({ kind: "ok-pub", channel, seq: result.seq! });
      }
    }
  }

  #replay(message: OutgoingMessage): void {
    if (!this.carries(message)) return;
    this.reply(message.msg);
    this.settings.hub.countOut(this, 1, message.payload.length);
  }

  #reply(reply: ServerReply): void {
    if (this.closing) return;
    this.reply(encodeReply(reply));
  }

  #refuse(code: ErrorCode, text: string): void {
    this.#reply({ kind: "err", code, text });
  }

  /** Counts the echo of `count` messages of `bytes`. */
  protected echoed(count: number, bytes: number): void {
    this.settings.hub.countOut(this, count, bytes);
  }

  /**
   * The slow-consumer rule: `bytes` more may be queued unless pushed messages already wait and
   * would then pass `--max-pending` (a message into an empty queue always goes, so one larger
   * than the limit still can). Beyond it the client is cut off.
   */
  protected admits(bytes: number): boolean {
    const pending = this.pushedBytes;
    const { maxPending } = this.settings;
    if (pending === 0 || pending + bytes <= maxPending) return true;
    this.abort(
      "slow-consumer",
      `slow consumer: ${formatBytes(pending)} already queued (limit ${formatBytes(maxPending)})`,
    );
    return false;
  }

  /** The `--max-frame` rule for a message whose size is known only once it arrived. */
  protected fits(bytes: number): boolean {
    const { maxFrame } = this.settings;
    if (bytes <= maxFrame) return true;
    const why = `message of ${bytes} bytes is larger than the maximum of ${maxFrame}`;
    this.abort("too-large", this.reportProtocolError(why));
    return false;
  }

  /** The client broke the protocol: logs it as an error; returns the reason to close with. */
  protected reportProtocolError(why: string): string {
    this.settings.hub.logger.error(`client #${this.id} ${this.address}: protocol error: ${why}`);
    return `protocol error: ${why}`;
  }

  /** Describes a failed read for the closed line. */
  protected lost(error: unknown): string {
    return `connection lost: ${describeError(error)}`;
  }

  /**
   * The client is done (it closed, or broke the protocol in a way that still lets it read): it
   * gets what is queued for as long as each `--drain-timeout` sees progress, then a clean close.
   */
  protected async finish(reason: string, kind: CloseKind = "peer-closed"): Promise<void> {
    if (!this.#beginClosing(kind, reason)) return;
    await this.#drain(this.settings.drainMs, true);
    await this.disconnect(kind, this.queuedBytes === 0);
  }

  /** Closes at once, dropping what is queued. */
  protected abort(kind: CloseKind, reason: string): void {
    if (!this.#beginClosing(kind, reason)) return;
    this.disconnect(kind, false);
  }

  /** What the closed line adds for a close of this kind (a WebSocket: its close code). */
  protected closeNote(_kind: CloseKind): string {
    return "";
  }

  /** Records why the connection closes, leaves the hub and logs it; false if already closing. */
  #beginClosing(kind: CloseKind, reason: string): boolean {
    if (this.#closeReason !== undefined) return false;
    this.#closeReason = reason;
    this.#guard?.stop();
    const { hub } = this.settings;
    hub.remove(this);
    if (this.#joined) {
      const { messagesIn, messagesOut } = this.counters;
      hub.logger.info(
        `client #${this.id} ${this.address} closed: ${reason}${this.closeNote(kind)} ` +
          `(${plural(messagesIn, "message")} in, ${messagesOut} out; ${hub.size} connected)`,
      );
    }
    return true;
  }

  /** Waits for the queue to empty: at most `drainMs`, or as long as each `drainMs` sees progress. */
  async #drain(drainMs: number, whileProgressing: boolean): Promise<void> {
    let written: number;
    do {
      written = this.writtenBytes;
      await withinDeadline(this.flushed(), drainMs);
    } while (whileProgressing && this.queuedBytes > 0 && this.writtenBytes > written);
  }
}
