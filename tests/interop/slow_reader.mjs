#!/usr/bin/env node
// A client that sends COUNT frames of SIZE bytes, half-closes at once, then reads its echoes
// slowly (pausing the socket between reads), and exits 0 only if every echo arrived whole.
//
//   node tests/interop/slow_reader.mjs PORT CA_FILE COUNT SIZE PAUSE_MS

import { readFileSync } from "node:fs";
import { connect } from "node:tls";

const [port, caFile, count, size, pauseMs] = process.argv.slice(2);
const frame = Buffer.alloc(4 + Number(size), "s");
frame.writeInt32LE(Number(size), 0);

const socket = connect({
  host: "127.0.0.1",
  servername: "localhost",
  port: Number(port),
  ca: readFileSync(caFile),
});
let pending = Buffer.alloc(0);
let received = 0;
socket.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 4 && pending.length >= 4 + pending.readInt32LE(0)) {
    pending = pending.subarray(4 + pending.readInt32LE(0));
    received++;
  }
  socket.pause(); // read slowly: the rest waits in the server's queue
  setTimeout(() => socket.resume(), Number(pauseMs));
});
socket.on("end", () => {
  process.stdout.write(`${received}\n`);
  process.exitCode = received === Number(count) && pending.length === 0 ? 0 : 3;
});
socket.on("error", (error) => {
  process.stdout.write(`${received}\n`);
  process.stderr.write(`slow reader: ${error.message}\n`);
  process.exit(1);
});
socket.on("secureConnect", () => {
  for (let i = 0; i < Number(count); i++) socket.write(frame);
  socket.end(); // half-close right away
});
