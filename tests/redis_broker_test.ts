/**
 * The broker contract against a real `redis-server` (see `broker_scenarios.ts`), and what is
 * Redis' own: `rediss://` with a private CA.
 */
import { assert, assertRejects } from "./assert.ts";
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
