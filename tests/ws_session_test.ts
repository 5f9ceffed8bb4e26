/**
 * tlspush-client over WebSocket (`--url wss://HOST:PORT/ws`), as a user runs it: the same
 * stdin/stdout behaviour as over TLS, operator broadcasts, a clean exit when the server stops,
 * one clear line for every failure, and a server that closes before the client is done.
 */
import { assert, assertEquals } from "./assert.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS, runProgram, ServerProcess } from "./processes.ts";
import { assertOneCleanLine, tempCertsDir, waitFor } from "./helpers.ts";

/** Starts a server process and returns it with its `wss://` URL. */
async function startServer(args: string[]): Promise<{ server: ServerProcess; url: string }> {
  const server = await ServerProcess.start(args);
  const line = await server.waitForLine(/wss listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/wss listening on 127\.0\.0\.1:(\d+)/)![1];
  return { server, url: `wss://localhost:${port}/ws` };
}

Deno.test("over wss, piped lines come back in order and the client exits 0", async () => {
  const certsDir = await tempCertsDir();
  const { server, url } = await startServer(["--certs-dir", certsDir]);
  const ca = `${certsDir}/ca.pem`;
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} é 🚀`);
  const piped = await runProgram("client.ts", ["--url", url, "--ca", ca], {
    stdin: ["a", "", ...lines, "last line without newline"].join("\n"),
  });
  assertEquals(piped.code, 0, piped.stderr);
  assertEquals(piped.stdout, ["a", "", ...lines, "last line without newline"].join("\n") + "\n");
  assert(piped.stderr.includes(`connected to ${url} (WebSocket over TLS, trusting ${ca})`));
  const sent = await runProgram("client.ts", [
    "--url",
    url,
    "--ca",
    ca,
    "--send",
    "one",
    "--send",
    "two",
  ]);
  assertEquals([sent.code, sent.stdout], [0, "one\ntwo\n"]);
  assertEquals((await server.stop()).code, 0);
  assert(server.stdout.some((line) => /connected from 127\.0\.0\.1:\d+ over WebSocket/.test(line)));
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a wss --listen client and a TLS --listen client both get operator lines", async () => {
  const certsDir = await tempCertsDir();
  const { server, url } = await startServer(["--certs-dir", certsDir]);
  const ca = `${certsDir}/ca.pem`;
  const listeners = [
    BackgroundProgram.denoRun(
      "client.ts",
      ["--listen", "--url", url, "--ca", ca],
      CLIENT_PERMISSIONS,
    ),
    BackgroundProgram.denoRun(
      "client.ts",
      ["--listen", "--url", `tls://localhost:${server.port}`, "--ca", ca],
      CLIENT_PERMISSIONS,
    ),
  ];
  await waitFor(
    () => server.stdout.filter((line) => / connected from 127\.0\.0\.1:/.test(line)).length === 2,
    15_000,
    "two clients connected",
  );
  // Each client says so itself before the broadcast goes out.
  for (const listener of listeners) {
    await waitFor(
      () => listener.stderr.some((line) => line.startsWith("connected to")),
      15_000,
      `"connected to" from a listener; its stderr: ${listener.stderr.join(" | ")}`,
    );
  }
  await server.type("hello both transports");
  await server.waitForLine(/broadcast 21 B to 2 clients/);
  for (const listener of listeners) await listener.waitForLine(/^hello both transports$/);
  assertEquals((await server.stop()).code, 0);
  for (const listener of listeners) {
    const status = await listener.exited();
    assertEquals(status.code, 0, listener.stderr.join("\n"));
    assertEquals(listener.stdout, ["hello both transports"]);
  }
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("over wss, failures print one clear line and exit 1", async () => {
  const certsDir = await tempCertsDir();
  const { server, url } = await startServer(["--certs-dir", certsDir, "--max-frame", "4"]);
  const ca = `${certsDir}/ca.pem`;
  const untrusted = await runProgram("client.ts", [
    "--url",
    url,
    "--ca",
    `${Deno.cwd()}/README.md`,
  ]);
  assertEquals(untrusted.code, 1);
  assertOneCleanLine(untrusted.stderr, /holds no PEM certificate/);
  const otherCa = await tempCertsDir();
  await runProgram("scripts/gen-cert.ts", ["--certs-dir", otherCa], {
    permissions: ["--allow-read", "--allow-write", "--allow-sys=hostname"],
  });
  const wrongCa = await runProgram("client.ts", ["--url", url, "--ca", `${otherCa}/ca.pem`]);
  assertEquals(wrongCa.code, 1);
  assertOneCleanLine(wrongCa.stderr, /not signed by the CA in .*\(UnknownIssuer\): pass --ca/);
  const wrongPath = await runProgram("client.ts", [
    "--url",
    url.replace("/ws", "/nope"),
    "--ca",
    ca,
    "--send",
    "x",
  ]);
  assertEquals(wrongPath.code, 1);
  assertOneCleanLine(wrongPath.stderr, /refused the WebSocket upgrade of \/nope.*at \/ws/);
  // The close that refuses the message (1009) and the client's own close after its last
  // --send may cross: either way the client says the message did not come back.
  const tooBig = await runProgram("client.ts", ["--url", url, "--ca", ca, "--send", "12345"]);
  assertEquals(tooBig.code, 1);
  assertOneCleanLine(
    tooBig.stderr,
    /the server closed the connection(: message larger than 4 bytes \(close code 1009\)| before echoing 1 message)/,
  );
  const typing = BackgroundProgram.denoRun(
    "client.ts",
    ["--url", url, "--ca", ca],
    CLIENT_PERMISSIONS,
  );
  await typing.type("12345"); // and the input stays open
  assertEquals((await typing.exited(15_000)).code, 1, typing.stderr.join("\n"));
  assertOneCleanLine(
    typing.stderr.join("\n"),
    /the server closed the connection: message larger than 4 bytes \(close code 1009\)/,
  );
  await server.stop();
  const refused = await runProgram("client.ts", ["--url", url, "--ca", ca, "--send", "x"]);
  assertEquals(refused.code, 1);
  assertOneCleanLine(refused.stderr, /cannot connect to localhost:\d+: connection refused/);
  await Deno.remove(certsDir, { recursive: true });
  await Deno.remove(otherCa, { recursive: true });
});

Deno.test("over wss, a server that stops while input is open: the client says so and exits 1", async () => {
  const certsDir = await tempCertsDir();
  const { server, url } = await startServer(["--certs-dir", certsDir]);
  const client = BackgroundProgram.denoRun(
    "client.ts",
    ["--url", url, "--ca", `${certsDir}/ca.pem`],
    CLIENT_PERMISSIONS,
  );
  await client.type("typed, not ended");
  await client.waitForLine(/^typed, not ended$/);
  assertEquals((await server.stop()).code, 0);
  assertEquals((await client.exited(10_000)).code, 1, client.stderr.join("\n"));
  assertOneCleanLine(
    client.stderr.join("\n"),
    /the server closed the connection while input was still open \(it stopped\?\)/,
  );
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a WebSocket server that closes normally without echoing: exit 1, 'before echoing'", async () => {
  // Not tlspush: a server that takes a message and closes with 1000, so the orderly close
  // before the echo is certain rather than a race.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = () => socket.close(1000, "bye");
    return response;
  });
  const url = `ws://127.0.0.1:${server.addr.port}/ws`;
  const result = await runProgram("client.ts", ["--url", url, "--send", "never echoed"]);
  assertEquals([result.code, result.stdout], [1, ""], result.stderr);
  assertOneCleanLine(result.stderr, /the server closed the connection before echoing 1 message/);
  await server.shutdown();
});
