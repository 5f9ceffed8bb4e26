/**
 * The broker clients need nothing but network access to the broker: no environment variables
 * (node-redis reads REDIS_DEBUG_MAINTENANCE only for the maintenance notifications the broker
 * turns off), no file system, no DNS beyond the connection itself. Proven by running
 * `broker_probe.ts` with `--no-prompt --allow-net=HOST:PORT` alone.
 */
import { assertEquals } from "./assert.ts";
import { brokerTest, startBrokerServer } from "./brokers.ts";
import { testCertsDir } from "./helpers.ts";
import type { BrokerKind } from "../broker/broker_url.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function probe(url: string, permissions: string[], caFile?: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...permissions,
      "tests/broker_probe.ts",
      url,
      ...(caFile ? [caFile] : []),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return `${decode(output.stdout)}${decode(output.stderr)}`.replace(/^ok \d+$/, "ok");
}

for (const kind of ["redis", "nats"] as BrokerKind[]) {
  brokerTest(kind, "the client needs only --allow-net=HOST:PORT", async () => {
    const server = await startBrokerServer(kind);
    try {
      assertEquals(await probe(server.url, [`--allow-net=127.0.0.1:${server.port}`]), "ok");
      const byName = server.url.replace("127.0.0.1", "localhost");
      assertEquals(await probe(byName, [`--allow-net=localhost:${server.port}`]), "ok");
    } finally {
      await server.stop();
    }
  });
}

brokerTest(
  "redis",
  "rediss:// needs only --allow-net=HOST:PORT (and reading the CA file)",
  async () => {
    const certs = await testCertsDir();
    const server = await startBrokerServer("redis", {
      tls: { certFile: `${certs}/server.pem`, keyFile: `${certs}/server-key.pem` },
    });
    try {
      const caFile = `${certs}/ca.pem`;
      const permissions = [`--allow-net=127.0.0.1:${server.port}`, `--allow-read=${caFile}`];
      assertEquals(await probe(server.url, permissions, caFile), "ok");
      const untrusted = await probe(server.url, [`--allow-net=127.0.0.1:${server.port}`]);
      assertEquals(
        untrusted,
        `failed: BrokerUnavailableError: cannot reach broker ${server.url}: ` +
          "unable to verify the first certificate",
      );
    } finally {
      await server.stop();
    }
  },
);
