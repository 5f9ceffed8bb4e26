/** What a failed TLS handshake means (client/handshake_failure.ts): a named error with advice. */
import { assert, assertEquals, assertInstanceOf } from "./assert.ts";
import { handshakeFailure } from "../client/handshake_failure.ts";
import { ConnectError, ProtocolMismatchError, UntrustedServerError } from "../client/errors.ts";

const target = { hostname: "127.0.0.1", port: 9002, caFile: "certs/ca.pem" };

Deno.test("certificate refusals (rustls's words) are UntrustedServerError, never retried", () => {
  const cases: [string, RegExp][] = [
    [
      "invalid peer certificate: UnknownIssuer",
      /not signed by the CA in certs\/ca\.pem \(UnknownIssuer\): pass --ca/,
    ],
    [
      'invalid peer certificate: certificate not valid for name "127.0.0.1"; certificate is only valid for DnsName("localhost")',
      /not valid for the name '127\.0\.0\.1' \(NotValidForName\).*--san 127\.0\.0\.1/,
    ],
    ["invalid peer certificate: Expired", /has expired or is not yet valid: check both clocks/],
    ["invalid peer certificate: BadEncoding", /was refused: invalid peer certificate: BadEncoding/],
  ];
  for (const [message, advice] of cases) {
    const error = handshakeFailure(new Deno.errors.InvalidData(message), target);
    assertInstanceOf(error, UntrustedServerError, message);
    assert(advice.test(error.message), error.message);
    assertEquals([error.retryable, (error.cause as Error).message], [false, message]);
  }
});

Deno.test("a server without TLS is a ProtocolMismatchError; a closed or reset handshake a ConnectError", () => {
  const plain = handshakeFailure(
    new Deno.errors.InvalidData("received corrupt message of type InvalidContentType"),
    target,
  );
  assertInstanceOf(plain, ProtocolMismatchError);
  assert(/the server speaks plain TCP \(it runs with --plain\)/.test(plain.message), plain.message);
  for (
    const cause of [
      new Deno.errors.UnexpectedEof("unexpected end of file"),
      new Deno.errors.ConnectionReset("reset"),
    ]
  ) {
    const error = handshakeFailure(cause, target);
    assertInstanceOf(error, ConnectError);
    assert(
      /closed the connection during the TLS handshake: if the server runs with --plain/.test(
        error.message,
      ),
    );
    assertEquals(error.retryable, true, "a busy server may take the next attempt");
  }
  const other = handshakeFailure(new Error("something new"), target);
  assertEquals([other.constructor, other.message], [
    ConnectError,
    "TLS handshake with 127.0.0.1:9002 failed: something new",
  ]);
});
