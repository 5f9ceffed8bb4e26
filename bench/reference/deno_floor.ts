/**
 * The floor of a Deno TLS server: what the runtime itself costs, measured with the same load
 * generator. It echoes the bytes it reads (a framed stream echoed unchanged is a valid echo of
 * every frame), with one read and one write per read and nothing else: no framing, no UTF-8
 * check, no counters, no queue. Whatever tlspush cannot beat in a row, this program cannot
 * either; the gap between the two is what tlspush's own JavaScript costs.
 *
 *   deno run --allow-net --allow-read bench/reference/deno_floor.ts --port 0 --cert leaf.pem --key leaf-key.pem
 *
 * Lines on stdin are broadcast as one frame each, so the fan-out rows can run against it too.
 *
 * @example
 * ```ts
 * // started by bench/lib/server_process.ts as the "floor" kind
 * ```
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    hostname: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    cert: { type: "string" },
    key: { type: "string" },
    "read-buffer": { type: "string", default: "16384" },
  },
});
if (!values.cert || !values.key) {
  console.error("error: --cert and --key are required");
  Deno.exit(2);
}
const listener = Deno.listenTls({
  hostname: values.hostname,
  port: Number(values.port),
  cert: Deno.readTextFileSync(values.cert),
  key: Deno.readTextFileSync(values.key),
});
const clients = new Set<Deno.TlsConn>();
const size = Number(values["read-buffer"]);

async function serve(conn: Deno.TlsConn): Promise<void> {
  try {
    await conn.handshake();
    clients.add(conn);
    const buffer = new Uint8Array(size);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let done = 0;
      while (done < n) done += await conn.write(buffer.subarray(done, n));
    }
  } catch {
    // the peer went away
  } finally {
    clients.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

async function broadcasts(): Promise<void> {
  let pending = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      const payload = new TextEncoder().encode(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      const frame = new Uint8Array(4 + payload.length);
      new DataView(frame.buffer).setInt32(0, payload.length, true);
      frame.set(payload, 4);
      for (const conn of clients) conn.write(frame).catch(() => {});
      console.log(`broadcast ${payload.length} bytes to ${clients.size} clients`);
    }
  }
}

Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
console.log(`listening on ${listener.addr.hostname}:${listener.addr.port}`);
broadcasts();
for await (const conn of listener) serve(conn);
