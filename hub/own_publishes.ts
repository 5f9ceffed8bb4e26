/**
 * This instance's publishes on their way through the broker: a message is delivered here only
 * when the broker hands it back (so every instance sees one order), and then it must be known
 * again as ours, with its source (to leave out the sender of a relayed message) and its waiting
 * publisher (to answer with the seq and what was delivered). Per channel the broker numbers our
 * messages in the order we sent them, so they come back in that order; the payload is compared
 * too, for a publish that timed out and was dropped from the list but still arrives.
 *
 * @example
 * ```ts
 * import { OutgoingMessage } from "./message.ts";
 * import { OwnPublishes } from "./own_publishes.ts";
 * const own = new OwnPublishes();
 * const message = new OutgoingMessage("hi", { kind: "stdin" }, "news");
 * const entry = own.add(message);
 * own.claim("news", message.payload) === entry; // true: it came back
 * ```
 * @module
 */
import type { PublishResult } from "./publish_result.ts";
import type { OutgoingMessage } from "./message.ts";

/** One publish waiting for the broker to hand it back. */
export interface OwnPublish {
  /** The message as it was published (with its source). */
  readonly message: OutgoingMessage;
  /** Resolves with what became of it once it was delivered here. */
  readonly delivered: Promise<PublishResult>;
  /** Resolves {@link delivered}. */
  arrived(result: PublishResult): void;
}

/**
 * Publishes in flight, per channel, oldest first.
 *
 * @example
 * ```ts
 * import { OwnPublishes } from "./own_publishes.ts";
 * new OwnPublishes().size; // 0
 * ```
 */
export class OwnPublishes {
  readonly #byChannel = new Map<string, OwnPublish[]>();
  #size = 0;

  /** Publishes waiting. */
  get size(): number {
    return this.#size;
  }

  /** Registers a publish before it is sent. */
  add(message: OutgoingMessage): OwnPublish {
    const { promise, resolve } = Promise.withResolvers<PublishResult>();
    const entry = { message, delivered: promise, arrived: resolve };
    let list = this.#byChannel.get(message.channel);
    if (!list) this.#byChannel.set(message.channel, list = []);
    list.push(entry);
    this.#size++;
    return entry;
  }

  /** The oldest waiting publish of `channel` with this payload, taken off the list. */
  claim(channel: string, payload: Uint8Array): OwnPublish | undefined {
    const list = this.#byChannel.get(channel);
    const index = list?.findIndex((entry) => sameBytes(entry.message.payload, payload)) ?? -1;
    if (index < 0) return undefined;
    const [entry] = list!.splice(index, 1);
    this.#forget(channel, list!);
    return entry;
  }

  /** Drops a publish the broker refused (or that took too long). */
  drop(entry: OwnPublish): void {
    const list = this.#byChannel.get(entry.message.channel);
    const index = list?.indexOf(entry) ?? -1;
    if (index < 0) return;
    list!.splice(index, 1);
    this.#forget(entry.message.channel, list!);
  }

  #forget(channel: string, list: OwnPublish[]): void {
    this.#size--;
    if (list.length === 0) this.#byChannel.delete(channel);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
