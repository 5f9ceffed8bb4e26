/**
 * What a failed TLS handshake means, as a named error with advice: a certificate the client
 * does not trust, a server that does not speak TLS, or a connection closed mid-way.
 * The TLS client and the WebSocket client (`wss://`) share it.
 *
 * @example
 * ```ts
 * import { handshakeFailure } from "./handshake_failure.ts";
 * const error = handshakeFailure(new Error("invalid peer certificate: UnknownIssuer"), {
 *   hostname: "localhost",
 *   port: 9002,
 *   caFile: "certs/ca.pem",
 * });
 * console.error(error.message); // "the certificate of localhost:9002 is not signed by ..."
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";
import {
  type ClientError,
  ConnectError,
  ProtocolMismatchError,
  UntrustedServerError,
} from "./errors.ts";

/**
 * The server a handshake was with, for the advice.
 *
 * @example
 * ```ts
 * import type { HandshakeTarget } from "./handshake_failure.ts";
 * const target: HandshakeTarget = { hostname: "localhost", port: 9002, caFile: "certs/ca.pem" };
 * ```
 */
export interface HandshakeTarget {
  /** The name the certificate must be valid for. */
  hostname: string;
  /** The port. */
  port: number;
  /** The CA file trusted; undefined: the system's roots. */
  caFile?: string;
}

/**
 * What rustls refused, from its message. Deno reports every rustls failure as one type
 * (`Deno.errors.InvalidData`) with only a message, and `WebSocket` gives only a message
 * string, so a pattern over rustls's own words is the one way to tell them apart.
 */
const RUSTLS_REFUSALS: [RegExp, "issuer" | "name" | "time" | "certificate" | "not tls"][] = [
  [/UnknownIssuer|BadSignature|UnknownCA|unknown ?issuer/i, "issuer"],
  [/NotValidForName|not valid for name/i, "name"],
  [/Expired|NotValidYet/i, "time"],
  [/InvalidContentType|corrupt message/i, "not tls"],
  [/certificate/i, "certificate"],
];

/**
 * The error for a failed handshake with `target`: {@link UntrustedServerError} for a refused
 * certificate, {@link ProtocolMismatchError} for a server that answered without TLS,
 * {@link ConnectError} otherwise (a connection closed or reset mid-way may just be a busy
 * server: worth a retry).
 *
 * @example
 * ```ts
 * import { handshakeFailure } from "./handshake_failure.ts";
 * import { ProtocolMismatchError } from "./errors.ts";
 * const error = handshakeFailure(
 *   new Deno.errors.InvalidData("received corrupt message of type InvalidContentType"),
 *   { hostname: "localhost", port: 9002 },
 * );
 * error instanceof ProtocolMismatchError; // true: the server speaks plain TCP
 * ```
 */
export function handshakeFailure(error: unknown, target: HandshakeTarget): ClientError {
  const where = `${target.hostname}:${target.port}`;
  const cause = { cause: error };
  if (error instanceof Deno.errors.UnexpectedEof || error instanceof Deno.errors.ConnectionReset) {
    return new ConnectError(
      `${where} closed the connection during the TLS handshake: if the server runs with ` +
        `--plain, connect with --plain too; otherwise see the server's log`,
      cause,
    );
  }
  const message = describeError(error);
  const refusal = RUSTLS_REFUSALS.find(([pattern]) => pattern.test(message))?.[1];
  switch (refusal) {
    case "issuer": {
      const trusted = target.caFile ? `the CA in ${target.caFile}` : "the system's trusted roots";
      return new UntrustedServerError(
        `the certificate of ${where} is not signed by ${trusted} (UnknownIssuer): pass --ca ` +
          `with the server's CA file, e.g. --ca certs/ca.pem (the server prints its path)`,
        cause,
      );
    }
    case "name":
      return new UntrustedServerError(
        `the certificate of ${where} is not valid for the name '${target.hostname}' ` +
          `(NotValidForName): connect with a name it was issued for (e.g. --hostname ` +
          `localhost), or start the server with --san ${target.hostname}`,
        cause,
      );
    case "time":
      return new UntrustedServerError(
        `the certificate of ${where} has expired or is not yet valid: check both clocks, ` +
          `restart the server to issue a fresh certificate`,
        cause,
      );
    case "certificate":
      return new UntrustedServerError(`the certificate of ${where} was refused: ${message}`, cause);
    case "not tls":
      return new ProtocolMismatchError(
        `${where} answered the TLS handshake without TLS: the server speaks plain TCP ` +
          `(it runs with --plain): connect with --plain too (${message})`,
        cause,
      );
  }
  return new ConnectError(`TLS handshake with ${where} failed: ${message}`, cause);
}
