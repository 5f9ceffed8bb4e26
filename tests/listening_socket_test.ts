/**
 * Nagle off through the listener (util/listening_socket.ts): Linux hands a listener's
 * TCP_NODELAY down to the connections it accepts, and the server sets it on both of its ports,
 * which Deno's TLS connections and `Deno.serve` cannot do per connection. Read back with
 * getsockopt on the accepted sockets of this very process.
 */
import { assertEquals } from "./assert.ts";
import { startTestServer } from "./helpers.ts";
import { ListeningSockets } from "../util/listening_socket.ts";

const libc = Deno.dlopen("libc.so.6", {
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
});

/**
 * TCP_NODELAY of the accepted socket(s) whose local port is `port` and whose peer is `peer`
 * (a socket another test left open on a port number since reused is not ours).
 */
function acceptedNoDelay(port: number, peer: Deno.NetAddr): number[] {
  const found: number[] = [];
  const address = new Uint8Array(128);
  const length = new Uint32Array(1);
  const lengthBytes = new Uint8Array(length.buffer);
  for (let fd = 3; fd < 4096; fd++) {
    length[0] = 128;
    if (libc.symbols.getsockname(fd, address, lengthBytes) !== 0) continue;
    if (new DataView(address.buffer).getUint16(2, false) !== port) continue;
    length[0] = 128;
    if (libc.symbols.getpeername(fd, address, lengthBytes) !== 0) continue;
    if (new DataView(address.buffer).getUint16(2, false) !== peer.port) continue;
    const value = new Int32Array(1);
    length[0] = 4;
    libc.symbols.getsockopt(fd, 6, 1, new Uint8Array(value.buffer), lengthBytes);
    found.push(value[0]);
  }
  return found;
}

Deno.test("a listener's TCP_NODELAY reaches the connections it accepts; without it they keep Nagle", async () => {
  const sockets = new ListeningSockets();
  for (const set of [false, true]) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    if (set) assertEquals(sockets.setNoDelay(listener.addr.port), 1, "one listening socket");
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const accepted = await listener.accept();
    assertEquals(acceptedNoDelay(listener.addr.port, client.localAddr as Deno.NetAddr), [
      set ? 1 : 0,
    ]);
    for (const conn of [client, accepted, listener]) conn.close();
  }
});

Deno.test("the server's TLS and HTTPS connections have Nagle off", async () => {
  const server = await startTestServer({});
  const ca = await Deno.readTextFile(server.caFile);
  const webPort = server.web!.address.port;
  const tls = await Deno.connectTls({ hostname: "localhost", port: server.port, caCerts: [ca] });
  const web = await Deno.connectTls({ hostname: "localhost", port: webPort, caCerts: [ca] });
  try {
    await tls.handshake();
    // A request answered: the web server has accepted the connection.
    await web.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"));
    await web.read(new Uint8Array(1024));
    assertEquals(acceptedNoDelay(server.port, tls.localAddr), [1], "TLS port");
    assertEquals(acceptedNoDelay(webPort, web.localAddr), [1], "HTTPS/WebSocket port");
  } finally {
    tls.close();
    web.close();
    await server.shutdown();
  }
});
