/**
 * The client's TLS/TCP session (client/stream_session.ts), driven as a user drives it: a real
 * `client.ts` process against a real `server.ts` process on 127.0.0.1. A server that ends the
 * connection before every message came back is reported and exits 1; a client pointed at the
 * wrong port, or with `--plain` on one side only, is told what was probably meant.
 */
import { assert, assertEquals } from "./assert.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS, runProgram, ServerProcess } from "./processes.ts";
import { assertOneCleanLine, tempCertsDir, testCertsDir } from "./helpers.ts";

/** 23 bytes: over a `--max-frame 10` server's limit. */
const TOO_LONG = "this is 23 bytes long!!";

const REFUSED =
  /the server closed the connection before echoing 1 message: it refuses a message larger than its --max-frame, or of another --framing/;

Deno.test("a message the server refuses (--max-frame) ends the client with one line and exit 1, with --send and with stdin open", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--max-frame", "10"]);
  const args = ["--port", String(server.port), "--ca", `${certsDir}/ca.pem`];

  const sent = await runProgram("client.ts", [...args, "--send", "short", "--send", TOO_LONG]);
  assertEquals(sent.code, 1, sent.stderr);
  assertEquals(sent.stdout, "short\n", "what came back before the refusal is printed");
  assertOneCleanLine(sent.stderr, REFUSED);

  const typing = BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS);
  await typing.type(TOO_LONG); // and the input stays open
  const status = await typing.exited(15_000);
  assertEquals(status.code, 1, typing.stderr.join("\n"));
  assertOneCleanLine(typing.stderr.join("\n"), REFUSED);
  await server.waitForLine(/protocol error: frame of 23 bytes exceeds the maximum of 10/);

  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a le32 client against a --framing line server is told the server closed before echoing", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--framing", "line"]);
  const args = ["--port", String(server.port), "--ca", `${certsDir}/ca.pem`];
  const sent = await runProgram("client.ts", [...args, "--send", TOO_LONG]);
  assertEquals([sent.code, sent.stdout], [1, ""], sent.stderr);
  assertOneCleanLine(sent.stderr, REFUSED);

  // Typed: the line server waits for a newline that le32 never sends; the end of input
  // (half-close) makes it give up, and the client says so.
  const typing = BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS);
  await typing.type(TOO_LONG);
  await server.waitForLine(/client #\d+ connected/);
  await typing.endInput();
  assertEquals((await typing.exited(15_000)).code, 1, typing.stderr.join("\n"));
  assertOneCleanLine(typing.stderr.join("\n"), REFUSED);
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("the TLS client at the HTTPS/WebSocket port is told it is an HTTP(S) port", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const webPort = await server.webPort();
  const result = await runProgram("client.ts", [
    ...["--port", String(webPort), "--ca", `${certsDir}/ca.pem`, "--send", "x"],
  ]);
  assertEquals(result.code, 1);
  assertOneCleanLine(
    result.stderr,
    new RegExp(
      `localhost:${webPort} answered in HTTP: it is an HTTP\\(S\\) port \\(the server's ` +
        `--ws-port\\?\\), not the message port \\(--port, default 9002\\); for WebSocket use ` +
        `--url wss://localhost:${webPort}/ws`,
    ),
  );
  assert(!result.stderr.includes("1347703880"), "no length read out of 'HTTP'");
  const retried = await runProgram("client.ts", [
    ...["--port", String(webPort), "--ca", `${certsDir}/ca.pem`, "--send", "x", "--reconnect"],
  ]);
  assertEquals(retried.code, 1, "a wrong port is not retried");
  assertOneCleanLine(retried.stderr, /answered in HTTP/);
  assert(!retried.stderr.includes("reconnecting"), retried.stderr);
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("--plain against a TLS server: 'the server speaks TLS: drop --plain'", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  for (
    const args of [["--port", String(server.port), "--plain"], [
      "--url",
      `tcp://localhost:${server.port}`,
    ]]
  ) {
    const result = await runProgram("client.ts", [...args, "--send", "x"]);
    assertEquals(result.code, 1, args.join(" "));
    assertOneCleanLine(
      result.stderr,
      /answered with a TLS record: the server speaks TLS: drop --plain/,
    );
    assert(!result.stderr.includes("middle of a frame"), result.stderr);
  }
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("TLS against a --plain server: told to connect with --plain, not left waiting", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--plain"]);
  // The plain server reads the ClientHello as the start of a 66 KB frame and waits for the
  // rest: only the client's own time limit ends it.
  const started = Date.now();
  const ca = `${await testCertsDir()}/ca.pem`; // a --plain server makes no CA
  const result = await runProgram("client.ts", [
    ...["--port", String(server.port), "--ca", ca, "--connect-timeout", "1"],
    "--send",
    "x",
  ]);
  assertEquals(result.code, 1, result.stderr);
  assertOneCleanLine(
    result.stderr,
    /no TLS handshake with localhost:\d+ within 1 s: if the server runs with --plain, connect with --plain too/,
  );
  assert(Date.now() - started < 15_000, "gave up after about a second");
  const plain = await runProgram("client.ts", [
    "--port",
    String(server.port),
    "--plain",
    "--send",
    "x",
  ]);
  assertEquals([plain.code, plain.stdout], [0, "x\n"], plain.stderr);
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("TLS against a --plain server with a small --max-frame: it hangs up mid-handshake, told to use --plain", async () => {
  // Here the ClientHello's "length" is over the limit: the server closes at once, and the
  // client's handshake ends with an unexpected end of file.
  const server = await ServerProcess.start(["--plain", "--no-ws", "--max-frame", "100"]);
  const ca = `${await testCertsDir()}/ca.pem`;
  const result = await runProgram("client.ts", [
    "--port",
    String(server.port),
    "--ca",
    ca,
    "--send",
    "x",
  ]);
  assertEquals(result.code, 1, result.stderr);
  assertOneCleanLine(
    result.stderr,
    /localhost:\d+ closed the connection during the TLS handshake: if the server runs with --plain, connect with --plain too/,
  );
  assert(!result.stderr.includes("unexpected end of file"), result.stderr);
  await server.waitForLine(/protocol error: frame of \d+ bytes exceeds the maximum of 100/);
  assertEquals((await server.stop()).code, 0);
});

Deno.test("a --plain client at a --plain server's HTTP port is told to use ws:// there", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir, "--plain"]);
  const webPort = await server.webPort();
  const result = await runProgram("client.ts", [
    "--port",
    String(webPort),
    "--plain",
    "--send",
    "x",
  ]);
  assertEquals(result.code, 1);
  assertOneCleanLine(
    result.stderr,
    new RegExp(`answered in HTTP: .*--url ws://localhost:${webPort}/ws`),
  );
  assertEquals((await server.stop()).code, 0);
  await Deno.remove(certsDir, { recursive: true });
});
