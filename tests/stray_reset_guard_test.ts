/**
 * The stray-reset guard: a reset on a `node:net` socket that has no `error` listener (as
 * nats.js leaves its socket while connecting) does not end the program; any other uncaught
 * error still does.
 */
import net from "node:net";
import { assert, assertEquals } from "./assert.ts";
import { guardAgainstStrayResets, isStrayReset } from "../util/stray_reset_guard.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test({
  name: "a reset on a socket nobody listens to is survived",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    guardAgainstStrayResets();
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", () => socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const closed = Promise.withResolvers<void>();
    const client = net.createConnection(port, "127.0.0.1", () => {
      client.removeAllListeners(); // what nats.js does between dialling and its handshake
      client.write("hello");
      client.once("close", () => closed.resolve());
    });
    await closed.promise;
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.close();
    assert(client.destroyed, "the socket closed, and this test is still running");
  },
});

Deno.test("only socket resets are swallowed: another uncaught error still ends the program", async () => {
  const program = `import { guardAgainstStrayResets } from "./util/stray_reset_guard.ts";
guardAgainstStrayResets();
setTimeout(() => { throw new TypeError("a real bug"); }, 10);`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", program],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 1);
  assert(new TextDecoder().decode(output.stderr).includes("a real bug"));
  assert(isStrayReset(Object.assign(new Error("x"), { code: "EPIPE", syscall: "write" })));
  assert(!isStrayReset(Object.assign(new Error("x"), { code: "ECONNRESET", syscall: "connect" })));
  assert(!isStrayReset(undefined));
});
