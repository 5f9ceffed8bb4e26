/**
 * How a connection comes to speak protocol v2 instead of v1 (DESIGN.md §7):
 *
 * - TLS: the ALPN protocol id {@link ALPN_V2}. A client offering no ALPN speaks v1; one given
 *   `tlspush/2` speaks v2; one offering only other ids fails the handshake with
 *   `no_application_protocol`.
 * - WebSocket (`/ws`): the subprotocol {@link WS_SUBPROTOCOL_V2}; without it, v1.
 * - Any transport: a first frame that is exactly {@link HELLO_V2} switches the connection to v2
 *   (the server answers `OK HELLO`); see {@link isHelloV2}.
 *
 * @example
 * ```ts
 * import { ALPN_V2, isHelloV2 } from "./negotiation.ts";
 * const listener = Deno.listenTls({
 *   port: 9002,
 *   cert: Deno.readTextFileSync("certs/server.pem"),
 *   key: Deno.readTextFileSync("certs/server-key.pem"),
 *   alpnProtocols: [ALPN_V2],
 * });
 * isHelloV2(new TextEncoder().encode("HELLO tlspush/2")); // true
 * listener.close();
 * ```
 * @module
 */
import { asciiEquals } from "./ascii.ts";

/**
 * The ALPN protocol id of v2 on the TLS port, and the version token of the `HELLO` frame.
 *
 * @example
 * ```ts
 * import { ALPN_V2 } from "./negotiation.ts";
 * const conn = await Deno.connectTls({ hostname: "localhost", port: 9002, alpnProtocols: [ALPN_V2] });
 * const { alpnProtocol } = await conn.handshake();
 * console.log(alpnProtocol === ALPN_V2 ? "v2" : "v1");
 * ```
 */
export const ALPN_V2 = "tlspush/2";

/**
 * The WebSocket subprotocol of v2 (`Sec-WebSocket-Protocol`).
 *
 * @example
 * ```ts
 * import { WS_SUBPROTOCOL_V2 } from "./negotiation.ts";
 * const socket = new WebSocket("wss://localhost:9003/ws", [WS_SUBPROTOCOL_V2]);
 * socket.onopen = () => console.log(socket.protocol === WS_SUBPROTOCOL_V2 ? "v2" : "v1");
 * ```
 */
export const WS_SUBPROTOCOL_V2 = "tlspush.v2";

/**
 * The first frame that switches any connection to v2.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import { HELLO_V2 } from "./negotiation.ts";
 * const frame = encodeFrame(HELLO_V2); // send first; expect "OK HELLO"
 * ```
 */
export const HELLO_V2 = `HELLO ${ALPN_V2}`;

/**
 * True when `payload` is exactly {@link HELLO_V2}: what a v1 connection checks on its first
 * frame (any other first frame, including `HELLO` with another version, is an ordinary v1
 * message and is echoed).
 *
 * @example
 * ```ts
 * import { isHelloV2 } from "./negotiation.ts";
 * isHelloV2(new TextEncoder().encode("HELLO tlspush/2")); // true
 * isHelloV2(new TextEncoder().encode("HELLO tlspush/2 ")); // false: exactly, nothing more
 * ```
 */
export function isHelloV2(payload: Uint8Array): boolean {
  return asciiEquals(payload, 0, payload.length, HELLO_V2);
}
