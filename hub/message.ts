/**
 * A message on its way to many peers: encoded once per framing (and decoded to text once, for
 * WebSocket peers), then the same bytes are handed to every connection. It knows where it came
 * from, so that the hub can leave out the sender of a relayed message and log operator
 * messages once.
 *
 * @example
 * ```ts
 * import { OutgoingMessage } from "./message.ts";
 * const message = new OutgoingMessage("hello", { kind: "stdin" });
 * message.frame("le32") === message.frame("le32"); // true: encoded once
 * ```
 * @module
 */
import { BROADCAST_CHANNEL } from "../protocol/channel.ts";
import { encodeFrame, type Framing } from "../protocol/framing.ts";
import { encodeMsg } from "../protocol/reply.ts";
import { decodeUtf8, encodeUtf8 } from "../protocol/utf8.ts";

/**
 * Where a message came from: the operator's standard input, the dashboard, the publish API, or a
 * client: a v1 message relayed (`--relay`) to every other client (its sender is left out), or a
 * v2 `PUB` (its sender gets it too when subscribed).
 */
export type MessageSource =
  | { readonly kind: "stdin" | "dashboard" | "api" | "broker" }
  | { readonly kind: "relay" | "client"; readonly peer: { readonly id: number } };

/**
 * One message with lazily built, cached wire forms.
 *
 * @example
 * ```ts
 * import { OutgoingMessage } from "./message.ts";
 * const message = new OutgoingMessage("hi", { kind: "dashboard" });
 * message.frame("le32"); // Uint8Array [2, 0, 0, 0, 104, 105]
 * message.text; // "hi"
 * ```
 */
export class OutgoingMessage {
  /** The UTF-8 payload. */
  readonly payload: Uint8Array;
  /** Who published it. */
  readonly source: MessageSource;
  /** The channel it is published on (`broadcast`: what v1 clients receive). */
  readonly channel: string;
  /** Its sequence number in the channel, set once it is published. */
  seq: number | undefined;
  #text: string | undefined;
  readonly #frames = new Map<Framing, Uint8Array>();
  #msg: Uint8Array | undefined;
  #msgText: string | undefined;
  readonly #msgFrames = new Map<Framing, Uint8Array>();

  /** Wraps a text or an already valid UTF-8 payload (kept, not copied) for `channel`. */
  constructor(
    message: string | Uint8Array,
    source: MessageSource,
    channel: string = BROADCAST_CHANNEL,
  ) {
    this.source = source;
    this.channel = channel;
    if (typeof message === "string") {
      this.payload = encodeUtf8(message);
      this.#text = message;
    } else {
      this.payload = message;
    }
  }

  /** The payload as text. */
  get text(): string {
    return this.#text ??= decodeUtf8(this.payload);
  }

  /** The whole frame in `framing`; throws `UnframeableMessageError` for a newline in `line`. */
  frame(framing: Framing): Uint8Array {
    return framedOnce(this.#frames, this.payload, framing);
  }

  /** The v2 form, `MSG <channel> <seq> <data>` (once {@link seq} is set). */
  get msg(): Uint8Array {
    return this.#msg ??= encodeMsg(this.channel, this.seq!, this.payload);
  }

  /** The v2 form as text, for WebSocket peers. */
  get msgText(): string {
    return this.#msgText ??= decodeUtf8(this.msg);
  }

  /** The v2 form as a whole frame in `framing`; throws like {@link frame}. */
  msgFrame(framing: Framing): Uint8Array {
    return framedOnce(this.#msgFrames, this.msg, framing);
  }
}

/** `payload` framed in `framing`, encoded on first use and kept in `cache`. */
function framedOnce(
  cache: Map<Framing, Uint8Array>,
  payload: Uint8Array,
  framing: Framing,
): Uint8Array {
  let frame = cache.get(framing);
  if (!frame) cache.set(framing, frame = encodeFrame(payload, framing));
  return frame;
}
