/**
 * Force-closing server sockets that Deno itself cannot close.
 *
 * `TlsConn.close()` on a connection whose TLS handshake has not finished does not close the
 * socket: Deno waits for the handshake to end first (denoland/deno#14547), so a peer that opens
 * TCP and stays silent (or sends a ClientHello and then nothing) would hold the socket forever.
 * Measured here, moving TLS to `node:tls` to own the raw socket costs 2.4x to 4x in echo
 * throughput, so tlspush keeps `Deno.listenTls` and, for just those sockets, finds the file
 * descriptor whose addresses match the connection (`getsockname`/`getpeername` through FFI:
 * Deno needs --allow-all to read /proc) and calls `shutdown(2)` on it. The pending handshake
 * then fails, Deno drops the stream and the peer sees the connection close.
 *
 * This needs Linux and `--allow-ffi`; elsewhere {@link SocketReaper.available} is false and the
 * server says in its log that such sockets stay open until the peer leaves.
 *
 * @example
 * ```ts
 * import { withinDeadline } from "./deadline.ts";
 * import { SocketReaper } from "./socket_reaper.ts";
 * const reaper = new SocketReaper();
 * const cert = await Deno.readTextFile("certs/server.pem");
 * const key = await Deno.readTextFile("certs/server-key.pem");
 * const conn = await Deno.listenTls({ hostname: "127.0.0.1", port: 9002, cert, key }).accept();
 * if (!(await withinDeadline(conn.handshake(), 10_000))) await reaper.reap(conn);
 * ```
 * @module
 */

import { closeQuietly } from "./net.ts";
import { AF_INET, loadSocketCalls, type SocketCalls, SocketScan } from "./socket_calls.ts";

const SHUT_RDWR = 2;

/**
 * Shuts down the sockets of connections Deno will not close, in batches.
 *
 * @example
 * ```ts
 * import { SocketReaper } from "./socket_reaper.ts";
 * const reaper = new SocketReaper();
 * if (!reaper.available) console.warn(reaper.unavailableReason);
 * ```
 */
export class SocketReaper {
  readonly #libc: SocketCalls | undefined;
  /** Why force-closing is not possible here, if it is not. */
  readonly unavailableReason: string | undefined;
  #pending = new Map<string, PromiseWithResolvers<boolean>>();
  readonly #scan: SocketScan | undefined;

  /** Loads the socket calls from libc when the platform and permissions allow it. */
  constructor() {
    const { libc, reason } = loadSocketCalls();
    this.#libc = libc;
    this.#scan = libc && new SocketScan(libc);
    this.unavailableReason = reason && `force-closing sockets: ${reason}`;
  }

  /** Whether {@link reap} can actually close sockets here. */
  get available(): boolean {
    return this.#libc !== undefined;
  }

  /**
   * Shuts down `conn`'s socket soon (requests made in the same tick share one scan of the
   * descriptors), then closes `conn`. Resolves to whether the socket was found and shut down.
   */
  async reap(conn: Deno.Conn): Promise<boolean> {
    const key = connectionKey(conn.localAddr as Deno.NetAddr, conn.remoteAddr as Deno.NetAddr);
    let found = false;
    if (this.#libc && key !== undefined) {
      if (this.#pending.size === 0) setTimeout(() => this.#flush(), 0);
      let request = this.#pending.get(key);
      if (!request) {
        request = Promise.withResolvers<boolean>();
        this.#pending.set(key, request);
      }
      found = await request.promise;
    }
    closeQuietly(conn);
    return found;
  }

  /**
   * Visits every connected TCP socket of this process whose local port is `port` (what a
   * listener on that port accepted) with its peer, as {@link peerKey} writes it, and its fd
   * (a peer's address and port can come back on a new connection at once). A socket for
   * which `visit` returns true is shut down there and then: in the same synchronous pass, so
   * its descriptor cannot have been closed and reused by another connection in between.
   * Does nothing when {@link available} is false.
   *
   * @example
   * ```ts
   * import { SocketReaper } from "./socket_reaper.ts";
   * const reaper = new SocketReaper();
   * const peers: string[] = [];
   * reaper.sweep(9003, (peer) => {
   *   peers.push(peer); // e.g. "127.0.0.1:51234"
   *   return false; // keep it
   * });
   * ```
   */
  sweep(port: number, visit: (peer: string, fd: number) => boolean): void {
    const libc = this.#libc;
    const scan = this.#scan;
    if (!libc || !scan) return;
    scan.each((fd) => {
      if (scan.port !== port || !scan.read(fd, "getpeername")) return false;
      if (visit(this.#format(), fd)) libc.symbols.shutdown(fd, SHUT_RDWR);
      return false;
    });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    this.#scan!.each((fd) => {
      const local = this.#format();
      if (!this.#scan!.read(fd, "getpeername")) return false;
      const key = `${local} ${this.#format()}`;
      const request = pending.get(key);
      if (request) {
        pending.delete(key);
        request.resolve(this.#libc!.symbols.shutdown(fd, SHUT_RDWR) === 0);
      }
      return pending.size === 0;
    });
    for (const request of pending.values()) request.resolve(false);
  }

  /** The address last read, as {@link peerKey} writes it. */
  #format(): string {
    const { address, view, port } = this.#scan!;
    const v4 = view.getUint16(0, true) === AF_INET;
    return format([...address.subarray(v4 ? 4 : 8, v4 ? 8 : 24)], port);
  }
}

/**
 * A peer's address in one canonical form, the one {@link SocketReaper.sweep} reports: IPv4 and
 * v4-mapped IPv6 as `a.b.c.d:port`, other IPv6 as all eight groups; undefined if not an IP.
 *
 * @example
 * ```ts
 * import { peerKey } from "./socket_reaper.ts";
 * peerKey({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 5000 }); // "127.0.0.1:5000"
 * peerKey({ transport: "tcp", hostname: "::1", port: 5000 }); // "[0:0:0:0:0:0:0:1]:5000"
 * ```
 */
export function peerKey(addr: Deno.NetAddr): string | undefined {
  const bytes = ipBytes(addr.hostname);
  return bytes && format(bytes, addr.port);
}

/** "LOCAL PEER" in the form {@link SocketReaper} compares, or undefined if not an IP address. */
function connectionKey(local: Deno.NetAddr, peer: Deno.NetAddr): string | undefined {
  const a = peerKey(local);
  const b = peerKey(peer);
  return a && b && `${a} ${b}`;
}

/** IPv4 (4 bytes, or 16 v4-mapped) as dotted quads, IPv6 as eight hex groups; then the port. */
function format(bytes: number[], port: number): string {
  if (bytes.length === 16 && isV4Mapped(bytes)) bytes = bytes.slice(12);
  if (bytes.length === 4) return `${bytes.join(".")}:${port}`;
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return `[${groups.join(":")}]:${port}`;
}

function isV4Mapped(bytes: number[]): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Parses an IPv4 or IPv6 literal into its bytes.
 *
 * @example
 * ```ts
 * import { ipBytes } from "./socket_reaper.ts";
 * ipBytes("127.0.0.1"); // [127, 0, 0, 1]
 * ipBytes("::1")?.length; // 16
 * ipBytes("localhost"); // undefined: not an IP literal
 * ```
 */
export function ipBytes(ip: string): number[] | undefined {
  const v4 = ip.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) return v4.slice(1).map(Number);
  if (!ip.includes(":")) return undefined;
  let text = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  let tail: number[] = [];
  const embedded = text.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (embedded) {
    tail = ipBytes(embedded[1])!;
    text = text.slice(0, -embedded[1].length) + "0:0";
  }
  const [head, rest] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = rest === undefined ? [] : rest ? rest.split(":") : [];
  const groups = rest === undefined
    ? left
    : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  if (groups.length !== 8) return undefined;
  const bytes = groups.flatMap((group) => {
    const value = parseInt(group || "0", 16);
    return [value >> 8, value & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}
