import { assert, assertEquals } from "./assert.ts";
import { startTestServer, TestClient, waitFor } from "./helpers.ts";
import { BackgroundProgram, ServerProcess } from "./processes.ts";
import { runProgram } from "./processes.ts";

for (const framing of ["be32", "line"] as const) {
  Deno.test(`--framing ${framing}: echo and broadcast over TLS`, async () => {
    const server = await startTestServer({ framing });
    const client = await TestClient.connect(server, { framing });
    await client.send("first", "", "ünïcode ✓");
    assertEquals(await client.waitForMessages(3), ["first", "", "ünïcode ✓"]);
    server.broadcast("pushed");
    assertEquals((await client.waitForMessages(4))[3], "pushed");
    await client.finish();
    await server.shutdown();
  });
}

Deno.test("--framing line: a line longer than --max-frame is a protocol error", async () => {
  const server = await startTestServer({ framing: "line", maxFrame: 100 });
  const client = await TestClient.connect(server, { framing: "line" });
  await client.sendRaw(new TextEncoder().encode("x".repeat(500)));
  await client.closed;
  await server.waitForLog(/protocol error: frame of \d+ bytes exceeds the maximum of 100/);
  await server.shutdown();
});

Deno.test("--plain: echo and broadcast over TCP, with a loud warning in the log", async () => {
  const server = await startTestServer({ plain: true });
  await server.waitForLog(/WARNING: --plain: no TLS/);
  const client = await TestClient.connect(server, { plain: true });
  await client.send("in the clear");
  assertEquals(await client.waitForMessages(1), ["in the clear"]);
  await client.finish();
  await server.shutdown();
});

Deno.test("the programs agree on --framing line and --plain end to end", async () => {
  const certsDir = await Deno.makeTempDir();
  for (const args of [["--framing", "line"], ["--framing", "be32", "--plain"]]) {
    const server = await ServerProcess.start(["--certs-dir", certsDir, ...args]);
    const client = await runProgram(
      "client.ts",
      ["--port", String(server.port), "--ca", `${certsDir}/ca.pem`, ...args],
      { stdin: "one\ntwo\n" },
    );
    assertEquals([client.code, client.stdout], [0, "one\ntwo\n"], client.stderr);
    assertEquals((await server.stop()).code, 0);
  }
  await Deno.remove(certsDir, { recursive: true });
});

const hasOpenssl = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
  .output().then((result) => result.success, () => false);

Deno.test({
  name: "--framing line: openssl s_client is a client by hand" +
    (hasOpenssl ? "" : " (ignored: no openssl on this machine)"),
  ignore: !hasOpenssl,
  async fn() {
    const certsDir = await Deno.makeTempDir();
    const server = await ServerProcess.start(["--certs-dir", certsDir, "--framing", "line"]);
    const openssl = new BackgroundProgram([
      "openssl",
      "s_client",
      "-quiet",
      "-verify_return_error",
      "-CAfile",
      `${certsDir}/ca.pem`,
      "-verify_hostname",
      "localhost",
      "-connect",
      `127.0.0.1:${server.port}`,
    ]);
    await waitFor(() => server.stdout.some((line) => / connected from /.test(line)), 15_000);
    await openssl.type("typed by hand");
    await openssl.waitForLine(/^typed by hand$/);
    await server.type("pushed by the operator");
    await openssl.waitForLine(/^pushed by the operator$/);
    assertEquals((await server.stop()).code, 0);
    await openssl.exited();
    assert(openssl.stdout.includes("typed by hand"));
    await Deno.remove(certsDir, { recursive: true });
  },
});

Deno.test("--framing line: a broadcast with a newline is skipped for line clients, logged once", async () => {
  const server = await startTestServer({ framing: "line" });
  const clients = [
    await TestClient.connect(server, { framing: "line" }),
    await TestClient.connect(server, { framing: "line" }),
  ];
  await waitFor(() => server.hub.size === 2);
  assertEquals((await server.broadcast("two\nlines")).delivered, 0);
  assertEquals((await server.broadcast("fine")).delivered, 2);
  for (const client of clients) assertEquals(await client.waitForMessages(1), ["fine"]);
  const skipped = server.log.filter((line) => /skipped for 2 clients: --framing line/.test(line));
  assertEquals(skipped.length, 1);
  for (const client of clients) await client.finish();
  await server.shutdown();
});
