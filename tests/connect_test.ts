import { match as assertMatch } from "node:assert/strict";
import { assertRejects } from "./assert.ts";
import { startTestServer } from "./helpers.ts";
import { connectToServer } from "../client/connect.ts";
import { TlspushError } from "../util/errors.ts";
import { ConnectError } from "../client/errors.ts";
import { ensureCertificates } from "../tls/certificates.ts";

Deno.test("a client trusting another CA is refused with advice to pass --ca", async () => {
  const server = await startTestServer();
  const otherDir = await Deno.makeTempDir();
  await ensureCertificates({ certsDir: otherDir });
  const error = await assertRejects(
    connectToServer({ hostname: "localhost", port: server.port, caFile: `${otherDir}/ca.pem` }),
    TlspushError,
  );
  assertMatch(error.message, /not signed by the CA in .*UnknownIssuer.*--ca/);
  await server.waitForLog(/TLS handshake with 127\.0\.0\.1:\d+ failed/);
  await Deno.remove(otherDir, { recursive: true });
  await server.shutdown();
});

Deno.test("a client trusting only the system roots is refused the self-signed chain", async () => {
  const server = await startTestServer();
  const error = await assertRejects(
    connectToServer({ hostname: "localhost", port: server.port }),
    TlspushError,
  );
  assertMatch(error.message, /system's trusted roots \(UnknownIssuer\)/);
  await server.waitForLog(/TLS handshake .* failed/);
  await server.shutdown();
});

Deno.test("a host name the certificate does not cover is refused with NotValidForName advice", async () => {
  const certsDir = await Deno.makeTempDir();
  const { cert, key, caPath } = await ensureCertificates({ certsDir, names: ["localhost"] });
  await Deno.writeTextFile(`${certsDir}/only-localhost.pem`, cert);
  await Deno.writeTextFile(`${certsDir}/only-localhost-key.pem`, key);
  const server = await startTestServer({
    cert: `${certsDir}/only-localhost.pem`,
    key: `${certsDir}/only-localhost-key.pem`,
  });
  const error = await assertRejects(
    connectToServer({ hostname: "127.0.0.1", port: server.port, caFile: caPath }),
    TlspushError,
  );
  assertMatch(error.message, /not valid for the name '127\.0\.0\.1'.*--san 127\.0\.0\.1/);
  const conn = await connectToServer({ hostname: "localhost", port: server.port, caFile: caPath });
  conn.close(); // the same certificate is fine for the name it holds
  await server.shutdown();
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("connection refused says whether the server is running", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // a port that was just free
  const error = await assertRejects(
    connectToServer({ hostname: "127.0.0.1", port }),
    TlspushError,
  );
  assertMatch(error.message, /connection refused \(is the server running\?\)/);
});

Deno.test("a server that never answers the TLS handshake is given up on after the time limit", async () => {
  // A --plain tlspush server behaves so: it takes the ClientHello for the start of a frame.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) accepted.push(conn);
  })();
  const port = (silent.addr as Deno.NetAddr).port;
  const error = await assertRejects(
    connectToServer({ hostname: "127.0.0.1", port, timeoutMs: 200 }),
    ConnectError,
  );
  assertMatch(error.message, /no TLS handshake with 127\.0\.0\.1:\d+ within 0\.2 s: .*--plain/);
  for (const conn of accepted) conn.close();
  silent.close();
});
