import { assertEquals, assertThrows } from "./assert.ts";
import { startTestServer } from "./helpers.ts";
import { connectToServer } from "../client/connect.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { readFrames } from "../protocol/frame_reader.ts";
import { bind, EVERY_ADDRESS } from "../util/bind.ts";
import { ListenError } from "../util/listen_error.ts";
import { formatAddress } from "../util/net.ts";

Deno.test("every address is :: (dual stack); without IPv6 it falls back to 0.0.0.0", () => {
  const tried: string[] = [];
  const noIpv6 = (hostname: string) => {
    tried.push(hostname);
    if (hostname === "::") throw new Deno.errors.AddrNotAvailable("Address family not supported");
    return hostname;
  };
  assertEquals(bind(EVERY_ADDRESS, 9002, noIpv6), "0.0.0.0");
  assertEquals(tried, ["::", "0.0.0.0"]);
  const inUse = () => {
    throw new Deno.errors.AddrInUse("Address already in use");
  };
  const error = assertThrows(() => bind(EVERY_ADDRESS, 9002, inUse, "--ws-port"), ListenError);
  assertEquals(error.message, "cannot listen on :::9002 (--ws-port): address already in use");
});

Deno.test("an IPv4 client of a dual-stack socket is shown as its IPv4 address", () => {
  assertEquals(
    formatAddress({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 5 }),
    "127.0.0.1:5",
  );
  assertEquals(formatAddress({ transport: "tcp", hostname: "::1", port: 5 }), "[::1]:5");
});

Deno.test("a server on ::1 serves a TLS client that connects to ::1 (the certificate covers it)", async () => {
  const server = await startTestServer({ hostname: "::1" });
  const conn = await connectToServer({ hostname: "::1", port: server.port, caFile: server.caFile });
  await conn.write(encodeFrame("over IPv6"));
  for await (const payload of readFrames(conn)) {
    assertEquals(new TextDecoder().decode(payload), "over IPv6");
    break;
  }
  await server.waitForLog(/client #1 connected from \[::1\]:\d+/);
  conn.close();
  await server.shutdown();
});
