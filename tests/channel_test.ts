import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  BROADCAST_CHANNEL,
  isChannelCharCode,
  isValidChannel,
  isValidChannelBytes,
  MAX_CHANNEL_BYTES,
} from "../protocol/channel.ts";
import {
  ChannelMatcher,
  channelPatternMatches,
  InvalidChannelPatternError,
  isValidChannelPattern,
} from "../protocol/channel_pattern.ts";

const encoder = new TextEncoder();
const ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:/";

Deno.test("channel names: exactly the 66 characters of the rule, 1 to 128 of them", () => {
  for (let code = 0; code < 0x110; code++) {
    const char = String.fromCharCode(code);
    assertEquals(isValidChannel(char), ALLOWED.includes(char), `U+${code.toString(16)}`);
    assertEquals(isChannelCharCode(code), ALLOWED.includes(char), `U+${code.toString(16)}`);
  }
  assertEquals(isValidChannel(ALLOWED), true);
  assertEquals(isValidChannel(""), false);
  assertEquals(isValidChannel("x".repeat(MAX_CHANNEL_BYTES)), true);
  assertEquals(isValidChannel("x".repeat(MAX_CHANNEL_BYTES + 1)), false);
  assertEquals(MAX_CHANNEL_BYTES, 128);
  assertEquals(isValidChannel(BROADCAST_CHANNEL), true);
  assertEquals(BROADCAST_CHANNEL, "broadcast");
});

Deno.test("channel names: spaces, controls, patterns and non-ASCII are refused", () => {
  for (
    const name of [
      "a b",
      " a",
      "a ",
      "a\nb",
      "a\tb",
      "a\0",
      "metrics.*",
      "*",
      "météo",
      "日本",
      "🚀",
      "a\u0100", // a UTF-16 unit whose low byte (0x00) must not be mistaken for a byte
      "a\u012e", // low byte 0x2e is "."
      "a,b",
      "a+b",
      "a#b",
      "a@b",
      "a\\b",
    ]
  ) {
    assertEquals(isValidChannel(name), false, JSON.stringify(name));
    assertEquals(
      isValidChannelBytes(encoder.encode(name)),
      false,
      `${JSON.stringify(name)} as bytes`,
    );
  }
});

Deno.test("channel names as bytes: ranges of a payload, same rule", () => {
  const payload = encoder.encode("SUB tenant-7/orders.eu:1 42");
  assertEquals(isValidChannelBytes(payload, 4, 24), true);
  assertEquals(isValidChannelBytes(payload, 4, 27), false, "the space and the number");
  assertEquals(isValidChannelBytes(payload, 4, 4), false, "empty");
  assertEquals(isValidChannelBytes(payload, 30, 31), false, "past the end");
  const long = encoder.encode(`x${"y".repeat(MAX_CHANNEL_BYTES)}`);
  assertEquals(isValidChannelBytes(long, 1), true, "128 bytes");
  assertEquals(isValidChannelBytes(long), false, "129 bytes");
  // Multi-byte UTF-8 is never a channel byte.
  assertEquals(isValidChannelBytes(encoder.encode("é")), false);
});

Deno.test("patterns: exact names, prefixes ending in *, and * alone", () => {
  for (const pattern of ["news", "*", "metrics.*", "metrics*", "a/*", "x".repeat(128) + "*"]) {
    assertEquals(isValidChannelPattern(pattern), true, pattern);
  }
  for (
    const pattern of ["", "**", "*.metrics", "a*b", "metrics.**", "a b*", "é*", "x".repeat(129)]
  ) {
    assertEquals(isValidChannelPattern(pattern), false, pattern);
  }
});

Deno.test("patterns: what matches what", () => {
  const cases: [string, string, boolean][] = [
    ["news", "news", true],
    ["news", "news.eu", false],
    ["news", "new", false],
    ["metrics.*", "metrics.cpu", true],
    ["metrics.*", "metrics.cpu.0", true],
    ["metrics.*", "metrics.", true],
    ["metrics.*", "metrics", false],
    ["metrics.*", "metricsx", false],
    ["metrics*", "metrics", true],
    ["metrics*", "metricsx", true],
    ["*", "anything/at:all", true],
    ["*", BROADCAST_CHANNEL, true],
  ];
  for (const [pattern, channel, expected] of cases) {
    assertEquals(channelPatternMatches(pattern, channel), expected, `${pattern} ~ ${channel}`);
    assertEquals(new ChannelMatcher([pattern]).matches(channel), expected, `matcher ${pattern}`);
  }
});

Deno.test("ChannelMatcher: several patterns, covered prefixes, the empty set", () => {
  const matcher = new ChannelMatcher(["alerts", "tenant-7/*", "tenant-7/orders*", "alerts"]);
  assertEquals(matcher.patterns, ["alerts", "tenant-7/*", "tenant-7/orders*"]);
  assert(matcher.matches("alerts"));
  assert(matcher.matches("tenant-7/orders.eu"));
  assert(matcher.matches("tenant-7/x"));
  assert(!matcher.matches("tenant-8/x"));
  assert(!matcher.matches("alerts.eu"));
  const none = new ChannelMatcher([]);
  assert(none.empty);
  assert(!none.matches("alerts"));
  assert(!matcher.empty);
  assert(new ChannelMatcher(new Set(["x", "*"])).matches("y"), "any iterable, * anywhere");
});

Deno.test("ChannelMatcher refuses an invalid pattern with a named error", () => {
  const error = assertThrows(
    () => new ChannelMatcher(["news", "metrics.*.cpu"]),
    InvalidChannelPatternError,
    "metrics.*.cpu",
  );
  assertEquals(error.pattern, "metrics.*.cpu");
  assertEquals(error.name, "InvalidChannelPatternError");
  const long = assertThrows(
    () => new ChannelMatcher(["é".repeat(1000)]),
    InvalidChannelPatternError,
  );
  assert(long.message.length < 150, "a long pattern is shortened in the message");
});
