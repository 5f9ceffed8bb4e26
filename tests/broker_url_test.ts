import { assertEquals, assertThrows } from "./assert.ts";
import { parseBrokerUrl, redact, scrubSecrets } from "../broker/broker_url.ts";
import { BrokerConfigError } from "../broker/broker_errors.ts";

Deno.test("broker URLs: redis, rediss, nats, with defaults", () => {
  assertEquals(parseBrokerUrl("redis://127.0.0.1"), {
    kind: "redis",
    scheme: "redis",
    hostname: "127.0.0.1",
    port: 6379,
    tls: false,
    database: 0,
  });
  assertEquals(parseBrokerUrl("rediss://app:p%40ss@cache.example.com:6380/3"), {
    kind: "redis",
    scheme: "rediss",
    hostname: "cache.example.com",
    port: 6380,
    tls: true,
    username: "app",
    password: "p@ss",
    database: 3,
  });
  assertEquals(parseBrokerUrl("redis://:hunter2@[::1]:7000").hostname, "::1");
  assertEquals(parseBrokerUrl("redis://:hunter2@[::1]:7000").password, "hunter2");
  assertEquals(parseBrokerUrl("nats://10.0.0.5").port, 4222);
  assertEquals(parseBrokerUrl("nats://s3cr3t@127.0.0.1:4222").token, "s3cr3t");
  assertEquals(parseBrokerUrl("nats://s3cr3t@127.0.0.1:4222").username, undefined);
  assertEquals(parseBrokerUrl("nats://u:p@127.0.0.1:4222").username, "u");
});

Deno.test("broker URLs: redact never shows a password or token", () => {
  assertEquals(
    redact(parseBrokerUrl("redis://app:s3cret@127.0.0.1:6379/2")),
    "redis://app:***@127.0.0.1:6379/2",
  );
  assertEquals(redact(parseBrokerUrl("redis://:s3cret@127.0.0.1")), "redis://:***@127.0.0.1:6379");
  assertEquals(redact(parseBrokerUrl("redis://app@127.0.0.1")), "redis://app@127.0.0.1:6379");
  assertEquals(redact(parseBrokerUrl("rediss://[::1]:7000")), "rediss://[::1]:7000");
  assertEquals(redact(parseBrokerUrl("nats://t0ken@127.0.0.1:4222")), "nats://***@127.0.0.1:4222");
  assertEquals(redact(parseBrokerUrl("nats://u:p4ss@127.0.0.1")), "nats://u:***@127.0.0.1:4222");
  const url = parseBrokerUrl("redis://app:p%40ss@127.0.0.1");
  assertEquals(scrubSecrets("auth p@ss failed (p%40ss)", url), "auth *** failed (***)");
  assertEquals(
    scrubSecrets("no secret here", parseBrokerUrl("redis://127.0.0.1")),
    "no secret here",
  );
});

Deno.test("broker URLs: bad ones are one clear line, without the password", () => {
  const cases: [string, string][] = [
    ["http://127.0.0.1", "unsupported scheme 'http:'"],
    ["redis://", "no host"],
    ["redis//u:s3cret@host:1", "not a URL"],
    ["redis://u:s3cret@127.0.0.1/x", "unexpected path '/x'"],
    ["nats://u:s3cret@127.0.0.1/1", "unexpected path '/1'"],
    ["redis://u:s3cret@127.0.0.1?db=1", "query and fragment"],
  ];
  for (const [text, expected] of cases) {
    const error = assertThrows(() => parseBrokerUrl(text), BrokerConfigError, expected);
    assertEquals(error.message.includes("s3cret"), false, error.message);
    assertEquals(error.message.includes("\n"), false);
  }
  const unparsed = assertThrows(() => parseBrokerUrl("redis://u:s3cret@ho st"), BrokerConfigError);
  assertEquals(unparsed.message.includes("s3cret"), false, unparsed.message);
});
