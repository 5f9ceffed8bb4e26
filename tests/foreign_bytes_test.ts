/** Recognising a server that is not a tlspush message port by its first bytes (client/foreign_bytes.ts). */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { FirstBytes, recognize } from "../client/foreign_bytes.ts";
import { ProtocolMismatchError } from "../client/errors.ts";
import { encodeFrame } from "../protocol/framing.ts";

const text = (value: string) => new TextEncoder().encode(value);

Deno.test("recognize tells an HTTP response and a TLS record from frames", () => {
  assertEquals(recognize(text("HTTP/1.1 400 Bad Request\r\n")), "http");
  assertEquals(recognize(new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])), "tls");
  assertEquals(recognize(new Uint8Array([0x16, 0x03, 0x01, 0x00])), "tls", "a handshake record");
  assertEquals(recognize(encodeFrame("hi")), undefined);
  assertEquals(recognize(encodeFrame("hi", "line")), undefined);
  assertEquals(recognize(text("HTT")), undefined, "too few bytes to tell");
  assertEquals(recognize(new Uint8Array([0x15, 0x03, 0x09])), undefined, "no TLS version 3.9");
});

/** A source that hands out `chunks`, one per read. */
function source(...chunks: Uint8Array[]) {
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
  };
}

Deno.test("FirstBytes keeps the first 8 bytes across reads and throws at an HTTP response", async () => {
  const frames = new FirstBytes(source(text("ab"), text("cdefghij")), {
    where: "h:1",
    plain: false,
  });
  const buffer = new Uint8Array(64);
  assertEquals(await frames.read(buffer), 2);
  assertEquals(await frames.read(buffer), 8);
  assertEquals(new TextDecoder().decode(frames.bytes), "abcdefgh");
  assertEquals(await frames.read(buffer), null);

  const http = new FirstBytes(source(text("HT"), text("TP/1.1 400")), {
    where: "h:9003",
    plain: false,
  });
  await http.read(buffer);
  const error = await assertRejects(http.read(buffer), ProtocolMismatchError);
  assert(/h:9003 answered in HTTP: .*--url wss:\/\/h:9003\/ws/.test(error.message), error.message);
  const tls = new FirstBytes(source(), { where: "h:9002", plain: true }).mismatch("tls");
  assert(/the server speaks TLS: drop --plain/.test(tls.message));
  assertEquals(tls.retryable, false, "a wrong port is never retried");
});
