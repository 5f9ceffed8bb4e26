/**
 * Opening the WebSocket (client/ws_connect.ts) at the wrong place: a real `client.ts` process
 * against real `server.ts` processes, each mistake named with what was probably meant; and
 * the classifier of `WebSocket`'s failure messages on its own.
 */
import { assert, assertEquals, assertInstanceOf } from "./assert.ts";
import { runProgram, ServerProcess } from "./processes.ts";
import { assertOneCleanLine, tempCertsDir, testCertsDir } from "./helpers.ts";
import { webSocketFailure } from "../client/ws_connect.ts";
import {
  ClientError,
  ConnectError,
  ProtocolMismatchError,
  UntrustedServerError,
} from "../client/errors.ts";

Deno.test("wss:// at the TLS message port, ws:// at a TLS port: each says which port or scheme to use", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const webPort = await server.webPort();
  const ca = ["--ca", `${certsDir}/ca.pem`];

  const atMessagePort = await runProgram("client.ts", [
    ...["--url", `wss://localhost:${server.port}/ws`, ...ca, "--send", "x"],
  ]);
  assertEquals(atMessagePort.code, 1);
  assertOneCleanLine(
    atMessagePort.stderr,
    new RegExp(
      `localhost:${server.port} does not serve HTTPS/WebSocket .*: the WebSocket port is ` +
        `--ws-port \\(default 9003\\), or use --url tls://localhost:${server.port}`,
    ),
  );
  assert(!atMessagePort.stderr.includes("h2 alpn"), atMessagePort.stderr);

  for (const port of [server.port, webPort]) {
    const plainScheme = await runProgram("client.ts", [
      ...["--url", `ws://localhost:${port}/ws`, "--send", "x"],
    ]);
    assertEquals(plainScheme.code, 1);
    assertOneCleanLine(
      plainScheme.stderr,
      new RegExp(`localhost:${port} speaks TLS, not plain HTTP: use wss://localhost:${port}/ws`),
    );
  }
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("wss:// at a --plain server: use ws://; ws:// or wss:// at its message port: the WebSocket port is --ws-port", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--plain"]);
  const webPort = await server.webPort();
  const ca = ["--ca", `${await testCertsDir()}/ca.pem`]; // a --plain server makes no CA

  const tls = await runProgram("client.ts", [
    ...["--url", `wss://localhost:${webPort}/ws`, ...ca, "--send", "x"],
  ]);
  assertEquals(tls.code, 1);
  assertOneCleanLine(
    tls.stderr,
    new RegExp(
      `answered without TLS: the server runs with --plain, use ws://localhost:${webPort}/ws`,
    ),
  );

  const atMessagePort = await runProgram("client.ts", [
    ...["--url", `ws://localhost:${server.port}/ws`, "--send", "x"],
  ]);
  assertEquals(atMessagePort.code, 1);
  assertOneCleanLine(
    atMessagePort.stderr,
    /closed the connection without an HTTP answer: is it the message port \(--port\)\? The WebSocket port is --ws-port/,
  );

  // TLS to the plain message port: the server waits for the rest of a "frame"; the client's
  // time limit ends it.
  const waiting = await runProgram("client.ts", [
    ...["--url", `wss://localhost:${server.port}/ws`, ...ca, "--connect-timeout", "1"],
    ...["--send", "x"],
  ]);
  assertEquals(waiting.code, 1);
  assertOneCleanLine(
    waiting.stderr,
    /no WebSocket handshake with localhost:\d+ within 1 s: is it the server's WebSocket port/,
  );
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("webSocketFailure: each message of WebSocket's error event becomes a named error", () => {
  const prefix = "NetworkError: failed to connect to WebSocket: ";
  const cases: [
    string,
    string,
    typeof ClientError,
    RegExp,
  ][] = [
    [
      "Didn't receive h2 alpn, aborting connection",
      "wss://localhost:9002/ws",
      ProtocolMismatchError,
      /does not serve HTTPS\/WebSocket/,
    ],
    [
      "tcp connect error: Connection refused (os error 111)",
      "wss://localhost:9003/ws",
      ConnectError,
      /connection refused/,
    ],
    [
      "invalid peer certificate: UnknownIssuer",
      "wss://localhost:9003/ws",
      UntrustedServerError,
      /UnknownIssuer\): pass --ca/,
    ],
    [
      "Invalid status code 404 Not Found",
      "wss://localhost:9003/nope",
      ProtocolMismatchError,
      /refused the WebSocket upgrade of \/nope \(HTTP 404\)/,
    ],
    [
      "Invalid status code 503 Service Unavailable",
      "wss://localhost:9003/ws",
      ConnectError,
      /HTTP 503\): the server is full/,
    ],
  ];
  for (const [message, url, type, pattern] of cases) {
    const error = webSocketFailure(prefix + message, url, "certs/ca.pem");
    assertInstanceOf(error, type, message);
    assert(pattern.test(error.message), `${message}: ${error.message}`);
    assertEquals((error.cause as Error).message, message, "the cause keeps WebSocket's words");
  }
});
