/**
 * Raw peers for tests of hostile traffic: read a socket to its end (and say how it ended),
 * capture the ClientHello a real Deno (rustls) client sends, to replay it (or half of it), and
 * one well-behaved TLS echo to prove the server still serves.
 *
 * @example
 * ```ts
 * import { readToEnd } from "./raw_socket.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9003 });
 * const { ending } = await readToEnd(conn, 5000); // "eof", "reset" or "still open"
 * ```
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import { connectToServer } from "../client/connect.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { FrameDecoder } from "../protocol/frame_decoder.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { closeQuietly, writeAll } from "../util/net.ts";

/** Longest a hostile peer waits to see its connection end. */
export const END_WAIT_MS = 10_000;

/** What a raw connection saw at its end. */
export type Ending = "eof" | "reset" | "still open";

/** Reads (and keeps) everything until the server ends the connection or `waitMs` passes. */
export async function readToEnd(
  conn: Deno.Conn,
  waitMs = END_WAIT_MS,
): Promise<{ ending: Ending; bytes: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"still open">((resolve) => {
    timer = setTimeout(() => resolve("still open"), waitMs);
  });
  const reading = (async (): Promise<Ending> => {
    const buffer = new Uint8Array(16 * 1024);
    for (let reads = 0; reads < 10_000; reads++) {
      try {
        const count = await conn.read(buffer);
        if (count === null) return "eof";
        chunks.push(buffer.slice(0, count));
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return "still open"; // we closed it
        return "reset"; // ConnectionReset, UnexpectedEof, a TLS alert...
      }
    }
    return "still open";
  })();
  const ending = await Promise.race([reading, expired]);
  clearTimeout(timer);
  if (ending === "still open") {
    try {
      conn.close(); // ends the pending read
    } catch {
      // closed already
    }
    await reading;
  }
  return { ending, bytes: concatBytes(chunks) };
}

/** A TLS record is complete once its 5-byte header and the length it announces have arrived. */
function completeRecord(bytes: Uint8Array): number | undefined {
  if (bytes.length < 5) return undefined;
  const size = 5 + ((bytes[3] << 8) | bytes[4]);
  return bytes.length >= size ? size : undefined;
}

/**
 * The first flight of a real Deno (rustls) TLS client: a ClientHello, captured by letting the
 * client talk to a plain TCP listener that reads it and hangs up.
 */
export async function captureClientHello(caFile: string): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const tls = await Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [await Deno.readTextFile(caFile)],
  });
  const handshake = tls.handshake().then(() => "completed", (error) => (error as Error).name);
  const raw = await accepted;
  listener.close();
  let received: Uint8Array = new Uint8Array(0);
  for (let reads = 0; reads < 100 && completeRecord(received) === undefined; reads++) {
    const buffer = new Uint8Array(4096);
    const count = await raw.read(buffer);
    if (count === null) break;
    received = concatBytes([received, buffer.subarray(0, count)]);
  }
  raw.close(); // the client's handshake fails on the closed socket, and only then is it closed
  assert((await handshake) !== "completed", "the capture listener never answers");
  tls.close();
  const size = completeRecord(received);
  assert(size !== undefined, "a whole TLS record arrived");
  const hello = received.slice(0, size);
  assertEquals([hello[0], hello[5]], [0x16, 0x01], "a handshake record holding a ClientHello");
  return hello;
}

/** A normal client: one message out, its echo back, a clean close. */
export async function echoOnce(port: number, caFile: string, message: string): Promise<void> {
  const conn = await connectToServer({ hostname: "localhost", port, caFile });
  await writeAll(conn, encodeFrame(message));
  await conn.closeWrite();
  const { ending, bytes } = await readToEnd(conn);
  closeQuietly(conn);
  assertEquals(ending, "eof", "a clean close after the echo");
  assertEquals(decodeFrames(bytes), [message]);
}

/** The messages of le32 frames in `bytes` (throws on a bad frame). */
export function decodeFrames(bytes: Uint8Array): string[] {
  const decoder = new FrameDecoder({ framing: "le32", maxFrame: 1 << 20 });
  const messages: string[] = [];
  const batch = decoder.push(bytes);
  for (const payload of batch.payloads) messages.push(new TextDecoder().decode(payload));
  if (batch.error) throw batch.error;
  decoder.finish();
  return messages;
}
