import { assertEquals, assertInstanceOf, assertRejects } from "./assert.ts";
import { PublishGate } from "../broker/publish_gate.ts";
import {
  BrokerOverloadedError,
  BrokerTimeoutError,
  BrokerUnavailableError,
} from "../broker/broker_errors.ts";

Deno.test("publish gate: down, overloaded by count or bytes, timed out, accepted", async () => {
  const gate = new PublishGate({ maxInFlight: 2, maxInFlightBytes: 100, timeoutMs: 50 });
  await assertRejects(
    gate.run(1, () => false, "x", () => Promise.resolve(1)),
    BrokerUnavailableError,
    "down",
  );
  let release = () => {};
  const held = new Promise<number>((resolve) => release = () => resolve(7));
  const first = gate.run(10, () => true, "x", () => held);
  const second = gate.run(10, () => true, "x", () => held);
  assertEquals(gate.inFlight, 2);
  await assertRejects(
    gate.run(1, () => true, "x", () => held),
    BrokerOverloadedError,
    "2 publishes",
  );
  const bytes = await gate.run(0, () => true, "x", () => held).catch((e) => e);
  assertInstanceOf(bytes, BrokerOverloadedError);
  await assertRejects(first, BrokerTimeoutError, "may still be delivered");
  await assertRejects(second, BrokerTimeoutError);
  assertEquals(gate.inFlight, 2, "a timed-out publish keeps its slot until the broker answers");
  release();
  await held;
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(gate.inFlight, 0);
  const big = new PublishGate({ maxInFlight: 10, maxInFlightBytes: 100, timeoutMs: 1000 });
  await assertRejects(
    big.run(101, () => true, "x", () => Promise.resolve(1)),
    BrokerOverloadedError,
  );
  assertEquals(await big.run(100, () => true, "x", () => Promise.resolve(3)), 3);
  assertEquals(big.published, 1);
  assertEquals(big.failed, 1);
  await assertRejects(
    big.run(1, () => true, "x", () => Promise.reject(new Error("boom"))),
    Error,
    "boom",
  );
  assertEquals(big.failed, 2);
});
