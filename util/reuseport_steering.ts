/**
 * Handing a listening port over to a new socket without refusing or resetting a connection.
 *
 * Deno cannot change a listener's certificate, so a reload opens a second listener on the same
 * port (`reusePort`, Linux, `--unstable-net`) and closes the first. Linux splits new connections
 * between the two, and closing a socket resets those still waiting in its accept queue: measured
 * here, 0 to 8 resets in 2,000 connections over 30 hand-overs. A classic BPF program attached to
 * the port's reuseport group ("always the socket that joined last") sends every new connection
 * to the new listener from the moment it is bound; the old one only accepts what it already had,
 * then closes: 0 in 7,280 over 90 hand-overs. This needs `--allow-ffi`; without it the hand-over
 * still works, with those rare resets.
 *
 * @example
 * ```ts
 * import { ReusePortSteering } from "./reuseport_steering.ts";
 * const steering = new ReusePortSteering();
 * const first = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
 * steering.steerToNewest(first.addr.port); // from now on, new connections go to the newest socket
 * ```
 * @module
 */

import { ListeningSockets } from "./listening_socket.ts";

const SOL_SOCKET = 1;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const BPF_RET_K = 0x06;

/**
 * Whether two listeners may share a port here: Linux with `--unstable-net`. Asked before opening
 * one, since Deno ends the program when `reusePort` is used without the flag.
 *
 * @example
 * ```ts
 * import { reusePortAvailable } from "./reuseport_steering.ts";
 * const listener = Deno.listen({ port: 0, ...(reusePortAvailable() ? { reusePort: true } : {}) });
 * ```
 */
export function reusePortAvailable(): boolean {
  // listenDatagram is one of the --unstable-net APIs: present only with the flag.
  return Deno.build.os === "linux" &&
    typeof (Deno as unknown as Record<string, unknown>).listenDatagram === "function";
}

/**
 * Checks that nobody else listens on `port` (a shared port would let a second server start on
 * it): binds it alone for a moment and returns the port bound (the real one when 0 was asked).
 * Throws what `Deno.listen` throws (`AddrInUse`).
 *
 * @example
 * ```ts
 * import { claimPort } from "./reuseport_steering.ts";
 * const port = claimPort("127.0.0.1", 0);
 * Deno.listen({ hostname: "127.0.0.1", port, reusePort: true });
 * ```
 */
export function claimPort(hostname: string, port: number): number {
  if (!reusePortAvailable()) return port;
  const probe = Deno.listen({ hostname, port });
  const bound = probe.addr.port;
  probe.close();
  return bound;
}

/**
 * Steers a reuseport group's new connections to the socket that joined it last.
 *
 * @example
 * ```ts
 * import { ReusePortSteering } from "./reuseport_steering.ts";
 * const steering = new ReusePortSteering();
 * if (!steering.available) console.warn(steering.unavailableReason);
 * ```
 */
export class ReusePortSteering {
  readonly #sockets: ListeningSockets | undefined;
  /** Why steering is not possible here, if it is not. */
  readonly unavailableReason: string | undefined;

  /** Reaches the port's sockets when the platform and permissions allow it. */
  constructor() {
    if (!reusePortAvailable()) {
      this.unavailableReason = "sharing a port needs Linux and --unstable-net";
      return;
    }
    const sockets = new ListeningSockets();
    if (sockets.available) this.#sockets = sockets;
    else this.unavailableReason = `steering connections: ${sockets.unavailableReason}`;
  }

  /** Whether {@link steerToNewest} can work here. */
  get available(): boolean {
    return this.#sockets !== undefined;
  }

  /**
   * Attaches the program to the group listening on `port`; the next socket to join (index 1)
   * gets every new connection. Returns whether it was attached.
   */
  steerToNewest(port: number): boolean {
    return this.steerTo(port, 1);
  }

  /**
   * Sends every new connection on `port` to the socket at `index` of its group (the order they
   * joined in; a socket that leaves is replaced by the last one). Returns whether it worked.
   */
  steerTo(port: number, index: number): boolean {
    const sockets = this.#sockets;
    const fd = sockets?.of(port)[0];
    if (sockets === undefined || fd === undefined) return false;
    // One instruction: return `index`. Past the last socket the kernel falls back to its hash.
    const filter = new Uint8Array(8);
    const instruction = new DataView(filter.buffer);
    instruction.setUint16(0, BPF_RET_K, true);
    instruction.setUint32(4, index, true);
    const program = new Uint8Array(16);
    const header = new DataView(program.buffer);
    header.setUint16(0, 1, true);
    header.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(filter))), true);
    return sockets.setOption(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program);
  }
}

/**
 * The sockets of one port's reuseport group, in the kernel's order, so that new connections can
 * go to the newest while older ones stay open (a web server kept for its WebSockets).
 *
 * @example
 * ```ts
 * import { ReusePortGroup, ReusePortSteering } from "./reuseport_steering.ts";
 * const group = new ReusePortGroup(9003, new ReusePortSteering());
 * const first = {}, second = {};
 * group.joined(first);
 * group.joined(second); // new connections: to second
 * group.left(first);
 * ```
 */
export class ReusePortGroup {
  readonly #port: number;
  readonly #steering: ReusePortSteering;
  readonly #members: object[] = [];
  #newest: object | undefined;

  /** The group of `port`, steered with `steering`. */
  constructor(port: number, steering: ReusePortSteering) {
    this.#port = port;
    this.#steering = steering;
  }

  /** A socket was bound: it is the newest and gets the new connections. */
  joined(member: object): void {
    this.#members.push(member);
    this.#newest = member;
    this.#steer();
  }

  /** A socket was closed: the kernel moves the last one into its place. */
  left(member: object): void {
    const index = this.#members.indexOf(member);
    if (index < 0) return;
    const last = this.#members.pop()!;
    if (index < this.#members.length) this.#members[index] = last;
    this.#steer();
  }

  #steer(): void {
    const index = this.#newest === undefined ? -1 : this.#members.indexOf(this.#newest);
    if (index >= 0 && this.#members.length > 1) this.#steering.steerTo(this.#port, index);
  }
}
