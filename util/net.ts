/**
 * Small helpers for connections shared by the server, the client and the web side.
 *
 * @example
 * ```ts
 * import { closeQuietly, formatAddress, writeAll } from "./net.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * await writeAll(conn, new Uint8Array([0, 0, 0, 0]));
 * console.log(formatAddress(conn.remoteAddr)); // 127.0.0.1:9002
 * closeQuietly(conn);
 * ```
 * @module
 */

/** Anything bytes can be written to, in part: `Deno.Conn`, `Deno.stdout`. */
export interface ByteSink {
  /** Writes some of `bytes`; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes all of `bytes`, however many calls the sink needs.
 *
 * @example
 * ```ts
 * import { writeAll } from "./net.ts";
 * await writeAll(Deno.stdout, new TextEncoder().encode("hello\n"));
 * ```
 */
export async function writeAll(sink: ByteSink, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await sink.write(bytes.subarray(written));
}

/**
 * `host:port`, with IPv6 hosts in brackets.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./net.ts";
 * formatAddress({ transport: "tcp", hostname: "::1", port: 9002 }); // "[::1]:9002"
 * formatAddress({ transport: "tcp", hostname: "127.0.0.1", port: 9002 }); // "127.0.0.1:9002"
 * formatAddress({ transport: "tcp", hostname: "::ffff:10.0.0.7", port: 5 }); // "10.0.0.7:5"
 * ```
 */
export function formatAddress(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return addr.transport;
  // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d: show it as the IPv4 it is.
  const hostname = addr.hostname.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  return hostname.includes(":") ? `[${hostname}]:${addr.port}` : `${hostname}:${addr.port}`;
}

/**
 * Closes `conn`, ignoring that it is closed already (or was taken over by `startTls`).
 *
 * @example
 * ```ts
 * import { closeQuietly } from "./net.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 9002 });
 * conn.close();
 * closeQuietly(conn); // no BadResource error the second time
 * ```
 */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

/**
 * Starts the closing handshake of `socket` unless it is closing or closed already; never throws.
 *
 * @example
 * ```ts
 * import { closeWebSocketQuietly } from "./net.ts";
 * const socket = new WebSocket("ws://127.0.0.1:9003/ws");
 * socket.onopen = () => closeWebSocketQuietly(socket, 1000, "end of input");
 * ```
 */
export function closeWebSocketQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState <= WebSocket.OPEN) socket.close(code, reason);
  } catch {
    // closing already
  }
}
