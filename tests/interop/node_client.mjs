#!/usr/bin/env node
// An independent tlspush client on Node's `tls`, written from DESIGN.md alone (no tlspush code):
// signed 32-bit little-endian length, then UTF-8 payload. It sends its arguments as messages,
// deliberately badly split (one byte per write for the first, the rest joined into one write),
// reads the echoes (which TCP may split or join in any way), prints each as JSON on its own
// line, half-closes, and exits 0 when the server closes.
//
//   node tests/interop/node_client.mjs PORT CA_FILE MESSAGE...

import { readFileSync } from "node:fs";
import { connect } from "node:tls";

const [port, caFile, ...messages] = process.argv.slice(2);

function frame(text) {
  const payload = Buffer.from(text, "utf8");
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32LE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

const socket = connect({
  host: "127.0.0.1",
  servername: "localhost",
  port: Number(port),
  ca: readFileSync(caFile),
});
socket.setNoDelay(true);

let pending = Buffer.alloc(0);
let received = 0;
socket.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 4) {
    const length = pending.readInt32LE(0);
    if (pending.length < 4 + length) break;
    process.stdout.write(JSON.stringify(pending.subarray(4, 4 + length).toString("utf8")) + "\n");
    pending = pending.subarray(4 + length);
    received++;
  }
});
socket.on("end", () => {
  process.exitCode = pending.length === 0 && received === messages.length ? 0 : 3;
});
socket.on("error", (error) => {
  process.stderr.write(`node client: ${error.message}\n`);
  process.exit(1);
});
socket.on("secureConnect", async () => {
  const [first, ...rest] = messages.map(frame);
  for (const byte of first ?? []) {
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  socket.write(Buffer.concat(rest));
  socket.end(); // half-close: the server answers what is left, then closes
});
