/**
 * One connection in protocol v2 (DESIGN.md section 7): it opens with `HELLO tlspush/2` when
 * ALPN or the WebSocket subprotocol did not already agree on v2, then a `SUB` per channel
 * (from where the last connection stopped); a line of input goes out as `PUB <channel> <line>`.
 * Of what comes back, a `MSG` prints its data (after its channel with `--print-channel`), once;
 * `GAP` and `ERR` are reported on stderr; the client is done when every `PUB` was answered and,
 * on a channel it also subscribes to, its own messages came back.
 *
 * @example
 * ```ts
 * import { ChannelFeed } from "./channel_feed.ts";
 * import { V2Conversation } from "./v2_conversation.ts";
 * const conversation = new V2Conversation({
 *   feed: new ChannelFeed(["metrics"]),
 *   publishTo: undefined,
 *   printChannel: false,
 *   hello: false,
 *   status: (line) => console.error(line),
 * });
 * conversation.opening(); // ["SUB metrics"]
 * conversation.incoming("OK SUB metrics 7"); // undefined: nothing to print
 * conversation.incoming("MSG metrics 7 cpu 93%"); // "cpu 93%"
 * ```
 * @module
 */
import { HELLO_V2 } from "../protocol/negotiation.ts";
import { parseReply } from "../protocol/reply.ts";
import { decodeUtf8, encodeUtf8 } from "../protocol/utf8.ts";
import type { ChannelFeed } from "./channel_feed.ts";
import type { ClientMode } from "./config.ts";
import type { Conversation } from "./conversation.ts";
import {
  type ClientError,
  ProtocolMismatchError,
  ServerClosedError,
  ServerRefusedError,
} from "./errors.ts";

/** What a v2 conversation needs. */
export interface V2ConversationOptions {
  /** The subscribed channels and where each resumes (kept across connections). */
  feed: ChannelFeed;
  /** The channel lines are published on; undefined: the client sends nothing. */
  publishTo: string | undefined;
  /** Print a message after its channel and a space. */
  printChannel: boolean;
  /** Open with `HELLO tlspush/2` (the transport did not negotiate v2). */
  hello: boolean;
  /** Present this token with `AUTH` before subscribing (authentication on). */
  token?: string;
  /** Where `GAP`, `ERR` and subscriptions are reported (stderr). */
  status(line: string): void;
}

/** The command each answer belongs to: the server answers a connection's commands in order. */
type Asked = "hello" | "auth" | "sub" | "pub";

/**
 * The v2 side of one connection.
 *
 * @example
 * ```ts
 * import { ChannelFeed } from "./channel_feed.ts";
 * import { V2Conversation } from "./v2_conversation.ts";
 * const conversation = new V2Conversation({
 *   feed: new ChannelFeed([]), publishTo: "chat", printChannel: false, hello: true,
 *   status: (line) => console.error(line),
 * });
 * conversation.opening(); // ["HELLO tlspush/2"]
 * conversation.outgoing("hi all"); // "PUB chat hi all"
 * ```
 */
export class V2Conversation implements Conversation {
  readonly #options: V2ConversationOptions;
  readonly #asked: Asked[] = [];
  /** Own messages on a subscribed channel, answered `OK PUB` but not yet back as `MSG`. */
  readonly #ownAwaited = new Set<number>();
  #refusals = 0;
  #lastRefusal = "";
  #inputEnded = false;
  #waiter: PromiseWithResolvers<boolean> | undefined;

  /** A conversation of one connection. */
  constructor(options: V2ConversationOptions) {
    this.#options = options;
  }

  /** `HELLO` when needed, `AUTH` with a token, then one `SUB` per channel. */
  opening(): string[] {
    const frames = this.#options.hello ? [HELLO_V2] : [];
    if (this.#options.hello) this.#asked.push("hello");
    if (this.#options.token !== undefined) {
      frames.push(`AUTH ${this.#options.token}`);
      this.#asked.push("auth");
    }
    for (const command of this.#options.feed.subscribeCommands()) {
      frames.push(command);
      this.#asked.push("sub");
    }
    return frames;
  }

  /** `PUB <channel> <line>`. */
  outgoing(line: string): string {
    const channel = this.#options.publishTo;
    if (channel === undefined) throw new TypeError("V2Conversation: nothing to publish on");
    this.#asked.push("pub");
    return `PUB ${channel} ${line}`;
  }

  /** Handles one reply; returns what to print for a new `MSG`. */
  incoming(message: string): string | undefined {
    const { feed, status } = this.#options;
    const reply = parseReply(encodeUtf8(message));
    if (this.#asked[0] === "hello" && reply.kind !== "ok-hello") {
      // A v1 server echoes the HELLO; anything pushed before OK HELLO is v1 and skipped.
      if (message === HELLO_V2) {
        throw new ProtocolMismatchError(
          "the server does not speak protocol v2 (it echoed HELLO): --channel and --pub need " +
            "a tlspush server with channels",
        );
      }
      return undefined;
    }
    switch (reply.kind) {
      case "msg": {
        if (!feed.accept(reply.channel, reply.seq)) return undefined; // seen before a reconnect
        if (reply.channel === this.#options.publishTo) this.#ownAwaited.delete(reply.seq);
        this.#check();
        const data = decodeUtf8(reply.data);
        return this.#options.printChannel ? `${reply.channel} ${data}` : data;
      }
      case "ok-hello":
        this.#answered();
        return undefined;
      case "ok-auth":
        this.#answered();
        status(`authenticated as ${reply.identity}`);
        return undefined;
      case "ok-sub":
        this.#answered();
        feed.subscribed(reply.channel, reply.next);
        status(`subscribed to ${reply.channel}`);
        return undefined;
      case "ok-pub":
        this.#answered();
        if (feed.has(reply.channel) && !feed.seen(reply.channel, reply.seq)) {
          this.#ownAwaited.add(reply.seq);
        }
        this.#check();
        return undefined;
      case "gap":
        feed.skipTo(reply.channel, reply.to);
        status(
          `gap on ${reply.channel}: messages ${reply.from} to ${reply.to - 1} are no longer ` +
            `retained by the server`,
        );
        return undefined;
      case "err": {
        const asked = this.#answered();
        const line = `ERR ${reply.code} ${reply.text}`.trimEnd();
        if (asked === "auth") throw new ServerRefusedError(`the server refused the token: ${line}`);
        status(`the server refused ${asked === "pub" ? "a message" : "a command"}: ${line}`);
        if (asked === "pub") {
          this.#refusals++;
          this.#lastRefusal = line;
        }
        this.#check();
        return undefined;
      }
      case "invalid":
        status(`the server sent something that is not protocol v2: ${message.slice(0, 200)}`);
        return undefined;
      default:
        return undefined; // PONG, OK UNSUB: nothing this client asked for
    }
  }

  /** Resolves once every `PUB` is answered and the own messages are back. */
  settled(stop: AbortSignal): Promise<boolean> {
    if (this.#isSettled()) return Promise.resolve(true);
    this.#waiter ??= Promise.withResolvers<boolean>();
    const waiter = this.#waiter;
    stop.addEventListener("abort", () => waiter.resolve(false), { once: true });
    return waiter.promise;
  }

  /** The input has ended. */
  endInput(): void {
    this.#inputEnded = true;
  }

  /** Commands not answered yet, and own messages not back yet. */
  get unechoed(): number {
    return this.#asked.filter((asked) => asked === "pub").length + this.#ownAwaited.size;
  }

  /** Why the connection ended before the client was done; or every refused message. */
  closedEarly(mode: ClientMode, refusal: string, closeCode?: number): ClientError | undefined {
    const unanswered = this.unechoed;
    if (unanswered > 0) {
      return new ServerClosedError(
        `the server closed the connection before answering ${unanswered} message` +
          `${unanswered === 1 ? "" : "s"}: ${refusal}`,
        { unechoed: unanswered, closeCode },
      );
    }
    if (!this.#inputEnded && mode !== "listen") {
      return new ServerClosedError(
        "the server closed the connection while input was still open (it stopped?)",
        { unechoed: 0, closeCode },
      );
    }
    if (this.#refusals > 0) {
      return new ServerRefusedError(
        `the server refused ${this.#refusals} message${this.#refusals === 1 ? "" : "s"} ` +
          `(${this.#lastRefusal})`,
      );
    }
    return undefined;
  }

  #answered(): Asked | undefined {
    return this.#asked.shift();
  }

  #isSettled(): boolean {
    return !this.#asked.includes("pub") && this.#ownAwaited.size === 0;
  }

  #check(): void {
    if (this.#waiter && this.#isSettled()) {
      this.#waiter.resolve(true);
      this.#waiter = undefined;
    }
  }
}
