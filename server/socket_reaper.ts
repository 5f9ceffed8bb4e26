/**
 * Force-closing server sockets that Deno itself cannot close.
 *
 * `TlsConn.close()` on a connection whose TLS handshake has not finished does not close the
 * socket: Deno waits for the handshake to end first (denoland/deno#14547), so a peer that opens
 * TCP and stays silent (or sends a ClientHello and then nothing) would hold the socket forever.
 * Measured here, moving TLS to `node:tls` to own the raw socket costs 2.4x to 4x in echo
 * throughput, so tlspush keeps `Deno.listenTls` and, for just those sockets, finds the file
 * descriptor through /proc (by the connection's addresses → socket inode → fd) and calls
 * `shutdown(2)` on it through FFI. The pending handshake then fails, Deno drops the stream and
 * the peer sees the connection close.
 *
 * This needs Linux and `--allow-ffi`; elsewhere {@link SocketReaper.available} is false and the
 * server says in its log that such sockets stay open until the peer leaves.
 *
 * @example
 * ```ts
 * import { SocketReaper } from "./socket_reaper.ts";
 * const reaper = new SocketReaper();
 * // reaper.reap(conn) for a connection whose handshake timed out
 * ```
 * @module
 */

const SHUT_RDWR = 2;

type Libc = Deno.DynamicLibrary<{ shutdown: { parameters: ["i32", "i32"]; result: "i32" } }>;

/** Shuts down the sockets of connections Deno will not close, in batches. */
export class SocketReaper {
  #libc: Libc | undefined;
  /** Why force-closing is not possible here, if it is not. */
  readonly unavailableReason: string | undefined;
  #pending: Deno.Conn[] = [];
  #scheduled = false;

  /** Loads `shutdown` from libc when the platform and permissions allow it. */
  constructor() {
    if (Deno.build.os !== "linux") {
      this.unavailableReason = "force-closing sockets needs Linux";
      return;
    }
    try {
      this.#libc = Deno.dlopen("libc.so.6", {
        shutdown: { parameters: ["i32", "i32"], result: "i32" },
      });
    } catch (error) {
      this.unavailableReason = `force-closing sockets needs --allow-ffi (${(error as Error).name})`;
    }
  }

  /** Whether {@link reap} can actually close sockets here. */
  get available(): boolean {
    return this.#libc !== undefined;
  }

  /**
   * Shuts down `conn`'s socket soon (requests made in the same tick share one scan of /proc).
   * Resolves to whether the socket was found and shut down.
   */
  reap(conn: Deno.Conn): Promise<boolean> {
    if (!this.#libc) return Promise.resolve(false);
    this.#pending.push(conn);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#batch = Promise.withResolvers<Set<Deno.Conn>>();
      setTimeout(() => this.#flush(), 0);
    }
    const batch = this.#batch!;
    return batch.promise.then((done) => done.has(conn));
  }

  #batch: PromiseWithResolvers<Set<Deno.Conn>> | undefined;

  #flush(): void {
    const conns = this.#pending;
    const batch = this.#batch!;
    this.#pending = [];
    this.#scheduled = false;
    const done = new Set<Deno.Conn>();
    try {
      const inodes = findSocketInodes(conns);
      const fds = inodes.size > 0 ? findSocketFds(new Set(inodes.values())) : new Map();
      for (const [conn, inode] of inodes) {
        const fd = fds.get(inode);
        if (fd !== undefined && this.#libc!.symbols.shutdown(fd, SHUT_RDWR) === 0) done.add(conn);
      }
    } catch {
      // /proc unreadable: nothing could be closed
    }
    batch.resolve(done);
  }
}

/** Maps each connection to the inode of its socket, from /proc/net/tcp and tcp6. */
function findSocketInodes(conns: Deno.Conn[]): Map<Deno.Conn, string> {
  const wanted = new Map<string, Deno.Conn>();
  for (const conn of conns) {
    const local = conn.localAddr as Deno.NetAddr;
    const remote = conn.remoteAddr as Deno.NetAddr;
    for (const v6 of [false, true]) {
      const key = procKey(local, remote, v6);
      if (key) wanted.set(key, conn);
    }
  }
  const found = new Map<Deno.Conn, string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const conn = wanted.get(`${fields[1]} ${fields[2]}`);
      if (conn) found.set(conn, fields[9]);
    }
  }
  return found;
}

/** Maps socket inodes to this process's file descriptors. */
function findSocketFds(inodes: Set<string>): Map<string, number> {
  const fds = new Map<string, number>();
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
    if (inode && inodes.has(inode)) fds.set(inode, Number(entry.name));
  }
  return fds;
}

/** "LOCAL REMOTE" as /proc/net/tcp(6) prints them, or undefined if not expressible. */
function procKey(local: Deno.NetAddr, remote: Deno.NetAddr, v6: boolean): string | undefined {
  const a = procAddress(local, v6);
  const b = procAddress(remote, v6);
  return a && b ? `${a} ${b}` : undefined;
}

/** An address as the kernel prints it: each 32-bit word in host (little-endian) order. */
function procAddress(addr: Deno.NetAddr, v6: boolean): string | undefined {
  const bytes = ipBytes(addr.hostname);
  if (!bytes) return undefined;
  let raw: number[];
  if (v6) {
    raw = bytes.length === 16 ? bytes : [...Array(10).fill(0), 0xff, 0xff, ...bytes];
  } else {
    if (bytes.length === 4) raw = bytes;
    else if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
      raw = bytes.slice(12);
    } else return undefined;
  }
  let hex = "";
  for (let word = 0; word < raw.length; word += 4) {
    for (let i = 3; i >= 0; i--) hex += raw[word + i].toString(16).padStart(2, "0");
  }
  return `${hex.toUpperCase()}:${addr.port.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Parses an IPv4 or IPv6 literal into its bytes. */
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
