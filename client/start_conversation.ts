/**
 * The conversation a new connection starts with: protocol v1 (echo) unless the client
 * subscribes or publishes, then protocol v2 over the channel state kept across connections.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { startConversation } from "./start_conversation.ts";
 * const conversation = startConversation(CLIENT_DEFAULTS, {
 *   feed: undefined, negotiated: false, status: (line) => console.error(line),
 * });
 * conversation.outgoing("hello"); // "hello": v1 sends the line as it is
 * ```
 * @module
 */
import type { ChannelFeed } from "./channel_feed.ts";
import type { ClientConfig } from "./config.ts";
import type { Conversation } from "./conversation.ts";
import { EchoTracker } from "./echo_tracker.ts";
import { V2Conversation } from "./v2_conversation.ts";

/** What decides the conversation of one connection. */
export interface ConversationStart {
  /** The channels' state (protocol v2); undefined: protocol v1. */
  feed: ChannelFeed | undefined;
  /** The transport already agreed on v2 (ALPN `tlspush/2`, subprotocol `tlspush.v2`). */
  negotiated: boolean;
  /** Where v2 reports `GAP`, `ERR` and subscriptions. */
  status(line: string): void;
}

/**
 * A conversation for one connection of `config`.
 *
 * @example
 * ```ts
 * import { ChannelFeed } from "./channel_feed.ts";
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { startConversation } from "./start_conversation.ts";
 * const config = { ...CLIENT_DEFAULTS, channels: ["metrics"] };
 * const conversation = startConversation(config, {
 *   feed: new ChannelFeed(config.channels), negotiated: false, status: console.error,
 * });
 * conversation.opening(); // ["HELLO tlspush/2", "SUB metrics"]
 * ```
 */
export function startConversation(config: ClientConfig, start: ConversationStart): Conversation {
  if (start.feed === undefined) {
    return new EchoTracker(config.webSocketUrl === undefined ? config.framing : "websocket");
  }
  return new V2Conversation({
    feed: start.feed,
    publishTo: config.publishTo,
    printChannel: config.printChannel,
    hello: !start.negotiated,
    token: config.token,
    status: start.status,
  });
}
