// A peer that vanishes mid-frame: it sends 9 of a 100-byte frame's payload, then destroys its
// socket without a TLS close_notify (what a crashed program or a lost network leaves). A Deno
// client cannot do this: its close() sends close_notify.
// Usage: node vanishing_client.mjs PORT CA_FILE
import fs from "node:fs";
import tls from "node:tls";

const [port, caFile] = process.argv.slice(2);
const socket = tls.connect({
  host: "127.0.0.1",
  port: Number(port),
  servername: "localhost",
  ca: fs.readFileSync(caFile),
});
socket.on("secureConnect", () => {
  const part = Buffer.alloc(13);
  part.writeInt32LE(100, 0);
  part.write("only part", 4);
  socket.write(part, () => setTimeout(() => socket.destroy(), 200));
});
socket.on("error", (error) => {
  console.error(error.message);
  process.exit(1);
});
