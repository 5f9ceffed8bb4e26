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

const SHUT_RDWR = 2;
const AF_INET = 2;
const AF_INET6 = 10;
/** fds are handed out lowest first: this many closed ones in a row means we are past the last. */
const FD_GAP_LIMIT = 1024;

const SYMBOLS = {
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const;

/** An endpoint as the kernel stores it: address bytes (IPv4 as v4-mapped IPv6) and port. */
interface Endpoint {
  address: string;
  port: number;
}

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
  readonly #libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  /** Why force-closing is not possible here, if it is not. */
  readonly unavailableReason: string | undefined;
  #pending = new Map<string, PromiseWithResolvers<boolean>>();
  readonly #address = new Uint8Array(128);
  readonly #length = new Uint32Array(1);

  /** Loads the socket calls from libc when the platform and permissions allow it. */
  constructor() {
    if (Deno.build.os !== "linux") {
      this.unavailableReason = "force-closing sockets needs Linux";
      return;
    }
    try {
      this.#libc = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (error) {
      this.unavailableReason = `force-closing sockets needs --allow-ffi (${(error as Error).name})`;
    }
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

  #flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    let gap = 0;
    for (let fd = 3; gap < FD_GAP_LIMIT && pending.size > 0; fd++) {
      const peer = this.#endpoint(fd, "getpeername");
      if (!peer) {
        gap++;
        continue;
      }
      gap = 0;
      const local = this.#endpoint(fd, "getsockname");
      const key = local && `${format(local)} ${format(peer)}`;
      const request = key && pending.get(key);
      if (!request) continue;
      pending.delete(key);
      request.resolve(this.#libc!.symbols.shutdown(fd, SHUT_RDWR) === 0);
    }
    for (const request of pending.values()) request.resolve(false);
  }

  /** The address bound to (`getsockname`) or connected to (`getpeername`) `fd`, if a socket. */
  #endpoint(fd: number, call: "getsockname" | "getpeername"): Endpoint | undefined {
    const address = this.#address;
    this.#length[0] = address.length;
    const length = new Uint8Array(this.#length.buffer);
    if (this.#libc!.symbols[call](fd, address, length) !== 0) return undefined;
    const view = new DataView(address.buffer);
    const family = view.getUint16(0, true);
    const port = view.getUint16(2, false);
    if (family === AF_INET) return { address: mapped([...address.subarray(4, 8)]), port };
    if (family === AF_INET6) return { address: [...address.subarray(8, 24)].join("."), port };
    return undefined;
  }
}

function format(endpoint: Endpoint): string {
  return `${endpoint.address}/${endpoint.port}`;
}

/** "LOCAL PEER" in the form {@link SocketReaper} compares, or undefined if not an IP address. */
function connectionKey(local: Deno.NetAddr, peer: Deno.NetAddr): string | undefined {
  const a = ipBytes(local.hostname);
  const b = ipBytes(peer.hostname);
  if (!a || !b) return undefined;
  const endpoint = (bytes: number[], port: number) =>
    format({ address: bytes.length === 4 ? mapped(bytes) : bytes.join("."), port });
  return `${endpoint(a, local.port)} ${endpoint(b, peer.port)}`;
}

/** IPv4 bytes as the v4-mapped IPv6 address, so both socket families compare alike. */
function mapped(v4: number[]): string {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4].join(".");
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
