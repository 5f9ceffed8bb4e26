/**
 * The browser client's v2 modules, run by Deno as they are served (`web/pages/v2.js`,
 * `web/pages/subscriptions.js`): reading replies, channel names, and where each channel resumes.
 * The page itself is tested in Chromium (`browser_v2_pages.ts`).
 */
import { assert, assertEquals } from "./assert.ts";
import { encodeReply, type ServerReply } from "../protocol/reply.ts";
import { isValidChannel as protocolIsValidChannel } from "../protocol/channel.ts";
import { decodeUtf8 } from "../protocol/utf8.ts";
import {
  BROADCAST,
  CHANNEL_RULE,
  isValidChannel,
  parseReply,
  pubCommand,
  subCommand,
  SUBPROTOCOL,
} from "../web/pages/v2.js";
import { Subscriptions } from "../web/pages/subscriptions.js";
import { BROADCAST_CHANNEL, CHANNEL_RULE as PROTOCOL_RULE } from "../protocol/channel.ts";
import { WS_SUBPROTOCOL_V2 } from "../protocol/negotiation.ts";

Deno.test("the page's constants are the protocol's", () => {
  assertEquals(SUBPROTOCOL, WS_SUBPROTOCOL_V2);
  assertEquals(BROADCAST, BROADCAST_CHANNEL);
  assertEquals(CHANNEL_RULE, PROTOCOL_RULE);
});

Deno.test("the page accepts exactly the channel names the server accepts", () => {
  const names = [
    "news",
    "metrics/cpu:0",
    "a.b-c_d",
    "x".repeat(128),
    "x".repeat(129),
    "",
    "a b",
    "météo",
    "news,sport",
    "metrics.*",
    "a\n",
  ];
  for (const name of names) assertEquals(isValidChannel(name), protocolIsValidChannel(name), name);
});

Deno.test("the page reads every reply the server encodes", () => {
  const data = new TextEncoder().encode("with spaces  and <b>html</b>");
  const cases: [ServerReply, unknown][] = [
    [
      { kind: "msg", channel: "news", seq: 1754000000000001, data },
      { kind: "msg", channel: "news", seq: 1754000000000001, data: "with spaces  and <b>html</b>" },
    ],
    [
      { kind: "msg", channel: "news", seq: 7, data: new Uint8Array() },
      { kind: "msg", channel: "news", seq: 7, data: "" },
    ],
    [
      { kind: "ok-sub", channel: "a/b", next: 99 },
      { kind: "ok", verb: "SUB", channel: "a/b", value: 99 },
    ],
    [{ kind: "ok-unsub", channel: "a" }, { kind: "ok", verb: "UNSUB", channel: "a" }],
    [
      { kind: "ok-pub", channel: "a", seq: 5 },
      { kind: "ok", verb: "PUB", channel: "a", value: 5 },
    ],
    [{ kind: "ok-hello" }, { kind: "ok", verb: "HELLO" }],
    [
      { kind: "gap", channel: "news", from: 3, to: 10 },
      { kind: "gap", channel: "news", from: 3, to: 10 },
    ],
    [
      { kind: "err", code: "forbidden", text: "publishing needs a server started with --relay" },
      { kind: "err", code: "forbidden", text: "publishing needs a server started with --relay" },
    ],
  ];
  for (const [reply, expected] of cases) {
    assertEquals(parseReply(decodeUtf8(encodeReply(reply))), expected, JSON.stringify(reply));
  }
});

Deno.test("anything else is invalid, never guessed at", () => {
  for (
    const text of [
      "",
      "MSG",
      "MSG news",
      "MSG news x data",
      "MSG news 01 data",
      "MSG bad!name 1 data",
      "GAP news 5 5",
      "GAP news 1",
      "OK SUB news",
      "OK WHAT news 1",
      "ERR Bad code",
      "HELLO",
      "<script>",
    ]
  ) {
    assertEquals(parseReply(text).kind, "invalid", text);
  }
});

Deno.test("the page's commands", () => {
  assertEquals(subCommand("news"), "SUB news");
  assertEquals(subCommand("news", 42), "SUB news 42");
  assertEquals(pubCommand("news", "hello there"), "PUB news hello there");
  assertEquals(pubCommand("news", ""), "PUB news ");
});

Deno.test("a first subscription resumes from OK SUB's next; later from after the last MSG", () => {
  const subscriptions = new Subscriptions();
  assert(subscriptions.add("news"));
  assert(!subscriptions.add("news"), "once");
  assertEquals(subscriptions.subscribing("news"), undefined, "SUB news: new messages only");
  assertEquals(subscriptions.get("news")!.state, "subscribing");
  subscriptions.subscribed("news", 100);
  // Dropped before any message: what was published meanwhile is still owed.
  subscriptions.disconnected();
  assertEquals(subscriptions.get("news")!.state, "waiting");
  assertEquals(subscriptions.subscribing("news"), 100);
  assertEquals(subscriptions.get("news")!.state, "resuming");
  // The resumed OK SUB's <next> does not move it: replayed MSGs follow and do.
  subscriptions.subscribed("news", 500);
  assertEquals(subscriptions.resumeFrom("news"), 100);
  subscriptions.received("news", 120);
  subscriptions.received("news", 130);
  assertEquals(subscriptions.resumeFrom("news"), 131);
  assertEquals(subscriptions.get("news")!.messages, 2);
  assertEquals(subscriptions.get("news")!.lastSeq, 130);
});

Deno.test("after a GAP the channel does not ask again for what is gone", () => {
  const subscriptions = new Subscriptions();
  subscriptions.add("news");
  subscriptions.subscribing("news");
  subscriptions.subscribed("news", 10);
  subscriptions.received("news", 10);
  subscriptions.disconnected();
  assertEquals(subscriptions.subscribing("news"), 11);
  subscriptions.gap("news", 900); // GAP news 11 900
  assertEquals(subscriptions.resumeFrom("news"), 900);
  assertEquals(subscriptions.get("news")!.gaps, 1);
  subscriptions.received("news", 950);
  assertEquals(subscriptions.resumeFrom("news"), 951);
});

Deno.test("a refused channel says why and is tried again on the next connection", () => {
  const subscriptions = new Subscriptions();
  subscriptions.add("a");
  subscriptions.add("b");
  subscriptions.subscribing("b");
  subscriptions.refused("b", "at most 1 channels per connection (forbidden)");
  assertEquals(subscriptions.get("b")!.state, "refused");
  assertEquals(subscriptions.get("b")!.note, "at most 1 channels per connection (forbidden)");
  subscriptions.disconnected();
  assertEquals(subscriptions.get("b")!.state, "waiting");
  assertEquals(subscriptions.names(), ["a", "b"]);
  assert(subscriptions.remove("a"));
  assertEquals(subscriptions.names(), ["b"]);
  assert(subscriptions.add("a"), "added again afresh");
  assertEquals(subscriptions.resumeFrom("a"), undefined);
});
