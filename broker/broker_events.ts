/**
 * What every broker implementation shares on its receiving side: the registered handlers, the
 * up/down state reported once per transition, and the counters behind `Broker.stats()`.
 *
 * @example
 * ```ts
 * import { BrokerEvents } from "./broker_events.ts";
 * const events = new BrokerEvents();
 * events.onStateChange((up, reason) => console.log(up, reason));
 * events.setUp(true, "connected"); // reported
 * events.setUp(true, "connected again"); // not reported: no transition
 * ```
 * @module
 */
import type { BrokerMessage } from "./broker.ts";

/**
 * Handlers, state and receive counters of one broker object.
 *
 * @example
 * ```ts
 * import { BrokerEvents } from "./broker_events.ts";
 * const events = new BrokerEvents();
 * events.onMessage((message) => console.log(message.seq));
 * events.deliver({ channel: "a", seq: 1, payload: new Uint8Array(), origin: "x" });
 * events.received; // 1
 * ```
 */
export class BrokerEvents {
  /** Messages handed to the handlers. */
  received = 0;
  /** Up transitions after the first one. */
  reconnects = 0;
  /** Messages known to be missed (trimmed or lost before this instance read them). */
  missed = 0;
  readonly #messageHandlers: ((message: BrokerMessage) => void)[] = [];
  readonly #stateHandlers: ((up: boolean, reason: string) => void)[] = [];
  #up = false;
  #everUp = false;

  /** Connected and able to publish cluster-wide. */
  get up(): boolean {
    return this.#up;
  }

  /** Adds a message handler. */
  onMessage(handler: (message: BrokerMessage) => void): void {
    this.#messageHandlers.push(handler);
  }

  /** Adds a state handler. */
  onStateChange(handler: (up: boolean, reason: string) => void): void {
    this.#stateHandlers.push(handler);
  }

  /** Hands `message` to every handler; one that throws does not stop the others. */
  deliver(message: BrokerMessage): void {
    this.received++;
    for (const handler of this.#messageHandlers) {
      try {
        handler(message);
      } catch (error) {
        reportHandlerError("message", error);
      }
    }
  }

  /** Records the state; reports it only when it changed. Returns whether it changed. */
  setUp(up: boolean, reason: string): boolean {
    if (up === this.#up) return false;
    this.#up = up;
    if (up) {
      if (this.#everUp) this.reconnects++;
      this.#everUp = true;
    }
    for (const handler of this.#stateHandlers) {
      try {
        handler(up, reason);
      } catch (error) {
        reportHandlerError("state", error);
      }
    }
    return true;
  }

  /** Marks the broker down without telling anyone (for `close()`). */
  silenceDown(): void {
    this.#up = false;
  }
}

function reportHandlerError(kind: string, error: unknown): void {
  // A handler is the hub's code: its bug must not stop delivery to the others.
  queueMicrotask(() => {
    console.error(`broker ${kind} handler failed:`, error);
  });
}
