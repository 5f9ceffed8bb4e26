#!/usr/bin/env node
// Reference peer for the tlspush benchmarks: the DESIGN.md protocol on Node's
// `tls` module, written the way a competent Node developer would (setNoDelay,
// zero-copy parsing, one write per batch of complete frames, frames encoded
// once for a broadcast, bounded write queues). The comparison in bench/run.ts
// is only worth something if this peer is good, so it carries no handicaps.
//
//   node bench/reference/server.mjs --port 0 --cert leaf.pem --key leaf-key.pem
//
// Lines on stdin are broadcast; SIGINT/SIGTERM close every connection cleanly
// and exit 0.

import { readFileSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { createInterface } from "node:readline";
import { createServer } from "node:tls";
import { parseArgs } from "node:util";

const USAGE = `usage: node bench/reference/server.mjs [options]
  --hostname H       address to listen on (default 0.0.0.0)
  --port N           port, 0 picks a free one (default 9002)
  --cert FILE        PEM certificate chain (required)
  --key FILE         PEM private key (required)
  --max-frame BYTES  largest accepted payload (default 16777216)
  --help             this text`;

/** Prints one line and a hint to stderr, then exits 2 (bad usage). */
function usageError(message) {
  process.stderr.write(`error: ${message}\nhint: run with --help for usage\n`);
  process.exit(2);
}

/** Prints one line to stderr, then exits 1 (runtime failure). */
function fatal(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

function parseFlags(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        hostname: { type: "string", default: "0.0.0.0" },
        port: { type: "string", default: "9002" },
        cert: { type: "string" },
        key: { type: "string" },
        "max-frame": { type: "string", default: "16777216" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    usageError(`--port must be 0..65535, got '${values.port}'`);
  }
  const maxFrame = Number(values["max-frame"]);
  if (!/^\d+$/.test(values["max-frame"]) || maxFrame > 0x7fffffff) {
    usageError(`--max-frame must be 0..2147483647, got '${values["max-frame"]}'`);
  }
  if (!values.cert || !values.key) usageError("--cert and --key are required");
  return { hostname: values.hostname, port, cert: values.cert, key: values.key, maxFrame };
}

/** Above this many queued output bytes a connection stops reading (backpressure). */
const HIGH_WATER = 1 << 20;

const flags = parseFlags(process.argv.slice(2));
let cert, key;
try {
  cert = readFileSync(flags.cert);
  key = readFileSync(flags.key);
} catch (err) {
  fatal(`cannot read certificate or key: ${err.message}`);
}

/** Handshaken connections: the broadcast audience. */
const clients = new Set();
const stats = { msgsIn: 0, bytesIn: 0, broadcastFrames: 0 };

/**
 * Per-connection frame reader. Complete frames are echoed as the very bytes
 * that arrived (header included), so a read full of frames costs one write and
 * no copies; only a frame split across reads is assembled into a new buffer.
 */
function attach(socket) {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  let parts = []; // pieces of an incomplete frame (header and/or payload)
  let partsLen = 0;
  let failed = false;

  const fail = (reason) => {
    failed = true;
    log(`protocol error from ${peer}: ${reason}; closing`);
    socket.end();
    // A peer that never reads must not hold the socket forever.
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  /** Returns the total frame size (header + payload) or -1 after an error. */
  const frameSize = (len) => {
    if (len < 0) {
      fail(`negative length ${len}`);
      return -1;
    }
    if (len > flags.maxFrame) {
      fail(`frame of ${len} bytes exceeds --max-frame ${flags.maxFrame}`);
      return -1;
    }
    return 4 + len;
  };

  /** Validates the frame at buf[off..], returns its size, 0 if incomplete, -1 on error. */
  const scan = (buf, off) => {
    if (buf.length - off < 4) return 0;
    const size = frameSize(buf.readInt32LE(off));
    if (size < 0) return -1;
    if (buf.length - off < size) return 0;
    if (!isUtf8(buf.subarray(off + 4, off + size))) {
      fail("payload is not valid UTF-8");
      return -1;
    }
    stats.msgsIn++;
    stats.bytesIn += size - 4;
    return size;
  };

  const out = [];
  const flush = () => {
    if (out.length === 0) return;
    if (out.length === 1) {
      socket.write(out[0]);
    } else {
      socket.cork();
      for (const b of out) socket.write(b);
      socket.uncork();
    }
    out.length = 0;
    if (socket.writableLength > HIGH_WATER) socket.pause();
  };

  socket.on("drain", () => {
    if (!failed) socket.resume();
  });

  socket.on("data", (chunk) => {
    if (failed) return;
    let off = 0;
    if (partsLen > 0) {
      // Complete the pending frame with just the bytes it still needs, so
      // the rest of this chunk is parsed in place.
      let need = 4 - partsLen;
      if (need > 0) {
        if (chunk.length < need) {
          parts.push(chunk);
          partsLen += chunk.length;
          return;
        }
        const head = Buffer.concat([...parts, chunk.subarray(0, need)], 4);
        parts = [head];
        partsLen = 4;
        off = need;
      }
      const size = frameSize(parts[0].readInt32LE(0));
      if (size < 0) return;
      need = size - partsLen;
      if (chunk.length - off < need) {
        parts.push(off === 0 ? chunk : chunk.subarray(off));
        partsLen += chunk.length - off;
        return;
      }
      parts.push(chunk.subarray(off, off + need));
      const frame = Buffer.concat(parts, size);
      parts = [];
      partsLen = 0;
      off += need;
      if (scan(frame, 0) < 0) return;
      out.push(frame);
    }
    const start = off;
    for (;;) {
      const size = scan(chunk, off);
      if (size <= 0) {
        if (off > start) out.push(chunk.subarray(start, off));
        flush();
        if (size < 0) return;
        break;
      }
      off += size;
    }
    if (off < chunk.length) {
      parts = [chunk.subarray(off)];
      partsLen = chunk.length - off;
    }
  });

  socket.on("error", (err) => log(`client ${peer} error: ${err.code ?? err.message}`));
  socket.on("close", () => {
    clients.delete(socket);
    log(`client ${peer} closed (${failed ? "protocol error" : "peer closed"})`);
  });
}

const server = createServer({ cert, key, minVersion: "TLSv1.2" }, (socket) => {
  socket.setNoDelay(true);
  clients.add(socket);
  log(`client connected from ${socket.remoteAddress}:${socket.remotePort}`);
  attach(socket);
});
server.on("tlsClientError", (err, socket) => {
  log(
    `handshake failed from ${socket.remoteAddress}:${socket.remotePort}: ${
      err.code ?? err.message
    }`,
  );
});
server.on(
  "error",
  (err) => fatal(`cannot listen on ${flags.hostname}:${flags.port}: ${err.message}`),
);
server.listen({ host: flags.hostname, port: flags.port }, () => {
  const { address, port } = server.address();
  const host = address.includes(":") ? `[${address}]` : address;
  log(`listening on ${host}:${port}`);
});

// Broadcast: each stdin line is encoded once and written to every client.
// End of input does not stop the server.
createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  const payload = Buffer.from(line, "utf8");
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeInt32LE(payload.length, 0);
  payload.copy(frame, 4);
  for (const socket of clients) socket.write(frame);
  stats.broadcastFrames += clients.size;
  log(`broadcast ${payload.length} bytes to ${clients.size} clients`);
});

// Periodic summary while there is traffic (the contract's log line).
setInterval(() => {
  if (stats.msgsIn === 0 && stats.broadcastFrames === 0) return;
  log(
    `summary: echoed ${stats.msgsIn} msgs (${stats.bytesIn} B), broadcast ${stats.broadcastFrames} frames`,
  );
  stats.msgsIn = stats.bytesIn = stats.broadcastFrames = 0;
}, 5000).unref();

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: closing ${clients.size} connections`);
  server.close();
  // end() flushes what is queued, then sends close_notify and FIN.
  for (const socket of clients) socket.end();
  const done = () => {
    log("stopped");
    process.exit(0);
  };
  if (clients.size === 0) return done();
  const poll = setInterval(() => clients.size === 0 && done(), 20);
  setTimeout(() => {
    clearInterval(poll);
    done();
  }, 2000).unref();
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
