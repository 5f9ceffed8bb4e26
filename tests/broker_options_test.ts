import { assertEquals, assertThrows } from "./assert.ts";
import { BROKER_DEFAULTS, resolveBrokerOptions } from "../broker/broker_options.ts";
import { BrokerConfigError } from "../broker/broker_errors.ts";

Deno.test("broker options: defaults, a fresh instance id, checks", () => {
  const options = resolveBrokerOptions({ history: undefined });
  assertEquals(options.prefix, "tlspush");
  assertEquals(options.history, BROKER_DEFAULTS.history);
  assertEquals(options.instanceId.length, 8);
  assertEquals(resolveBrokerOptions({}).instanceId === options.instanceId, false);
  assertEquals(resolveBrokerOptions({ prefix: "blue-2", history: 0 }).history, 0);
  assertThrows(() => resolveBrokerOptions({ prefix: "a.b" }), BrokerConfigError, "--broker-prefix");
  assertThrows(() => resolveBrokerOptions({ prefix: "" }), BrokerConfigError, "--broker-prefix");
  assertThrows(() => resolveBrokerOptions({ prefix: "x".repeat(65) }), BrokerConfigError);
  assertThrows(() => resolveBrokerOptions({ history: -1 }), BrokerConfigError, "history");
  assertThrows(() => resolveBrokerOptions({ history: 1.5 }), BrokerConfigError, "history");
  assertThrows(() => resolveBrokerOptions({ maxInFlight: 0 }), BrokerConfigError, "maxInFlight");
  assertThrows(() => resolveBrokerOptions({ instanceId: "a b" }), BrokerConfigError, "instance id");
});
