import { assertEquals } from "./assert.ts";
import { testCertsDir, TestClient, waitFor } from "./helpers.ts";
import { ConnectionBudget } from "../hub/connection_budget.ts";
import { Hub } from "../hub/hub.ts";
import { openListener } from "../stream/listener.ts";
import { StreamServer } from "../stream/stream_server.ts";
import { Logger } from "../util/logger.ts";
import { SocketReaper } from "../util/socket_reaper.ts";

async function streamServer() {
  const certsDir = await testCertsDir();
  const tls = {
    cert: await Deno.readTextFile(`${certsDir}/server.pem`),
    key: await Deno.readTextFile(`${certsDir}/server-key.pem`),
  };
  const lines: string[] = [];
  const logger = new Logger({ write: (line) => lines.push(line) });
  const hub = new Hub({ logger, maxFrame: 1 << 20 });
  const server = new StreamServer(openListener({ hostname: "127.0.0.1", port: 0, tls }), {
    settings: {
      hub,
      maxFrame: 1 << 20,
      maxPending: 1 << 20,
      relay: false,
      drainMs: 1000,
      maxChannels: 10,
    },
    framing: "le32",
    handshakeTimeoutMs: 5000,
    idleTimeoutMs: 0,
    reaper: new SocketReaper(),
    budget: new ConnectionBudget(100, logger),
  });
  return { server, hub, tls, caFile: `${certsDir}/ca.pem`, lines };
}

Deno.test("a replaced listener serves new clients while the established ones keep going", async () => {
  const { server, hub, tls, caFile } = await streamServer();
  const before = await TestClient.connect({ port: server.address.port, caFile, hub });
  await before.send("on the first listener");
  assertEquals(await before.waitForMessages(1), ["on the first listener"]);

  server.replaceListener(openListener({ hostname: "127.0.0.1", port: 0, tls }));
  const after = await TestClient.connect({ port: server.address.port, caFile, hub });
  await after.send("on the second");
  assertEquals(await after.waitForMessages(1), ["on the second"]);
  await before.send("still here");
  assertEquals(await before.waitForMessages(2), ["on the first listener", "still here"]);
  await waitFor(() => hub.size === 2);

  await before.finish();
  await after.finish();
  await server.shutdown(1000);
  assertEquals(server.connections, 0);
});
