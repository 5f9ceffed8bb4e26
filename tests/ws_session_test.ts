/**
 * tlspush-client over WebSocket (`--url wss://HOST:PORT/ws`), as a user runs it: the same
 * stdin/stdout behaviour as over TLS, operator broadcasts, a clean exit when the server stops,
 * one clear line for every failure, and the `--url` forms.
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
  const tooBig = await runProgram("client.ts", ["--url", url, "--ca", ca, "--send", "12345"]);
  assertEquals(tooBig.code, 1);
  assertOneCleanLine(
    tooBig.stderr,
    /the server closed the connection: message larger than 4 bytes \(close code 1009\)/,
  );
  await server.stop();
  const refused = await runProgram("client.ts", ["--url", url, "--ca", ca, "--send", "x"]);
  assertEquals(refused.code, 1);
  assertOneCleanLine(refused.stderr, /cannot connect to localhost:\d+: connection refused/);
  await Deno.remove(certsDir, { recursive: true });
  await Deno.remove(otherCa, { recursive: true });
});
