/**
 * The broker contract against a real `redis-server` (see `broker_scenarios.ts`), and what is
 * Redis' own: `rediss://` with a private CA.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { registerBrokerScenarios } from "./broker_scenarios.ts";
import { brokerTest, startBrokerServer } from "./brokers.ts";
import { testCertsDir, waitFor } from "./helpers.ts";
import { openBroker } from "../broker/open_broker.ts";
import { BrokerUnavailableError } from "../broker/broker_errors.ts";

registerBrokerScenarios("redis");

brokerTest(
  "redis",
  "rediss:// with a private CA: trusted when given, refused otherwise",
  async () => {
    const certs = await testCertsDir();
    const server = await startBrokerServer("redis", {
      tls: { certFile: `${certs}/server.pem`, keyFile: `${certs}/server-key.pem` },
    });
    try {
      assert(server.url.startsWith("rediss://"), server.url);
      const untrusted = openBroker(server.url, {});
      const error = await assertRejects(untrusted.start(), BrokerUnavailableError);
      assert(/certificate|verify|issuer/i.test(error.message), error.message);
      await untrusted.close();

      const broker = openBroker(server.url, { tlsCa: await Deno.readTextFile(`${certs}/ca.pem`) });
      const seen: number[] = [];
      broker.onMessage((message) => seen.push(message.seq));
      await broker.start();
      try {
        const seq = await broker.publish("secure", new TextEncoder().encode("over TLS"));
        await waitFor(() => seen.includes(seq), 5_000, "the message back over TLS");
      } finally {
        await broker.close();
      }
    } finally {
      await server.stop();
    }
  },
);

brokerTest("redis", "a frozen Redis is reported down, and up when it answers again", async () => {
  const server = await startBrokerServer("redis");
  const states: [boolean, string][] = [];
  const broker = openBroker(server.url, { publishTimeoutMs: 500 });
  broker.onStateChange((up, reason) => states.push([up, reason]));
  try {
    await broker.start();
    await server.pause();
    try {
      await waitFor(() => !broker.up, 10_000, "the stall to be noticed");
      assert(/no answer for 2\.5 s/.test(states[1][1]), states[1][1]);
    } finally {
      await server.resume();
    }
    await waitFor(() => broker.up, 10_000, "up again");
    assertEquals(states.map(([up]) => up), [true, false, true]);
    await broker.publish("thawed", new TextEncoder().encode("x"));
  } finally {
    await broker.close();
    await server.stop();
  }
});
