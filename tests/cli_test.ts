import { assert, assertEquals } from "./assert.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS, runProgram, ServerProcess } from "./processes.ts";
import { assertOneCleanLine, tempCertsDir, waitFor } from "./helpers.ts";

for (const program of ["server.ts", "client.ts"]) {
  Deno.test(`${program} --help prints usage and exits 0`, async () => {
    const { code, stdout } = await runProgram(program, ["--help"]);
    assertEquals(code, 0);
    assert(stdout.startsWith("Usage: tlspush-"), stdout);
    assert(stdout.includes("--port N"));
  });

  const serverOnly = program === "server.ts"
    ? [
      ["--handshake-timeout", "3000000"],
      ["--idle-timeout", "soon"],
      ["--handshake-timeout", "0"],
      ["--san", "999.1.1.1"],
      ["--san", "bad name,CN=x"],
    ]
    : [];
  for (
    const args of [
      ["--bogus"],
      ["--port", "abc"],
      ["--port", "70000"],
      ["--max-frame", "-1"],
      ...serverOnly,
    ]
  ) {
    Deno.test(`${program} ${args.join(" ")} is a usage error: one line, a hint, exit 2`, async () => {
      const { code, stdout, stderr } = await runProgram(program, args);
      assertEquals(code, 2);
      assertEquals(stdout, "");
      const lines = stderr.trim().split("\n");
      assertEquals(lines.length, 2, stderr);
      assert(lines[1].includes("--help"), stderr);
      assertOneCleanLine(stderr, /^tlspush-(server|client): /);
    });
  }
}

Deno.test("the README example: piped lines come back, then the client exits 0", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const client = await runProgram(
    "client.ts",
    ["--port", String(server.port), "--ca", `${certsDir}/ca.pem`],
    { stdin: "a\nb\nhé 🚀\n\nlast line without newline" },
  );
  assertEquals(client.stdout, "a\nb\nhé 🚀\n\nlast line without newline\n");
  assertEquals(client.code, 0, client.stderr);
  const sent = await runProgram("client.ts", [
    "--port",
    String(server.port),
    "--ca",
    `${certsDir}/ca.pem`,
    "--send",
    "one",
    "--send",
    "two",
  ]);
  assertEquals([sent.code, sent.stdout], [0, "one\ntwo\n"]);
  assertEquals((await server.stop()).code, 0);
  await server.waitForLine(/stopped/);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("operator lines reach every --listen client; SIGTERM closes them all cleanly", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  await server.waitForLine(/CA .*ca\.pem \(SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\)/);
  const args = ["--listen", "--port", String(server.port), "--ca", `${certsDir}/ca.pem`];
  const listeners = [
    BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS),
    BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS),
  ];
  await waitFor(
    () => server.stdout.filter((line) => / connected from 127\.0\.0\.1:/.test(line)).length === 2,
    15_000,
    "two clients connected",
  );
  await server.type("hello listeners");
  await server.waitForLine(/broadcast 15 B to 2 clients/);
  for (const listener of listeners) await listener.waitForLine(/^hello listeners$/);
  await server.endInput(); // end of input does not stop the server
  assertEquals((await server.stop()).code, 0);
  for (const listener of listeners) {
    const status = await listener.exited();
    assertEquals(status.code, 0, listener.stderr.join("\n"));
    assertEquals(listener.stdout, ["hello listeners"]);
  }
  assert(server.stdout.some((line) => /closed: server shutting down/.test(line)));
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("an interactive client whose input is still open says the server stopped first and exits 1", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const args = ["--port", String(server.port), "--ca", `${certsDir}/ca.pem`];
  const client = BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS);
  await client.type("typed, not ended");
  await client.waitForLine(/^typed, not ended$/);
  assertEquals((await server.stop()).code, 0); // Ctrl-C on the server, input still open
  const status = await client.exited(10_000);
  assertEquals(status.code, 1, client.stderr.join("\n"));
  assertEquals(client.stdout, ["typed, not ended"]);
  assertOneCleanLine(
    client.stderr.join("\n"),
    /the server closed the connection while input was still open \(it stopped\?\)/,
  );
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("runtime failures print one clear line and exit 1", async () => {
  const certsDir = await tempCertsDir();
  const server = await ServerProcess.start(["--certs-dir", certsDir]);
  const port = String(server.port);

  const inUse = await runProgram("server.ts", [
    "--hostname",
    "127.0.0.1",
    "--port",
    port,
    "--certs-dir",
    certsDir,
  ]);
  assertEquals(inUse.code, 1);
  assertOneCleanLine(inUse.stderr, /address already in use/);

  const untrusted = await runProgram("client.ts", ["--port", port, "--send", "x"], {
    permissions: CLIENT_PERMISSIONS,
  });
  assertEquals(untrusted.code, 1);
  assertOneCleanLine(untrusted.stderr, /UnknownIssuer\): pass --ca/);

  const neverRetried = await runProgram("client.ts", ["--port", port, "--listen", "--reconnect"]);
  assertEquals(neverRetried.code, 1, "a certificate failure is not retried");
  assertOneCleanLine(neverRetried.stderr, /UnknownIssuer\): pass --ca/);
  assert(!neverRetried.stderr.includes("reconnecting"), neverRetried.stderr);

  const damagedCa = `${certsDir}/damaged-ca.pem`;
  await Deno.writeTextFile(
    damagedCa,
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
  );
  const damaged = await runProgram("client.ts", [
    "--port",
    port,
    "--ca",
    damagedCa,
    "--listen",
    "--reconnect",
  ]);
  assertEquals(damaged.code, 1, "a damaged CA file is not retried");
  assertOneCleanLine(damaged.stderr, /cannot use the CA file .*damaged-ca\.pem/);
  assert(!damaged.stderr.includes("reconnecting"), damaged.stderr);

  const missingCa = await runProgram("client.ts", ["--port", port, "--ca", "/nonexistent.pem"]);
  assertEquals(missingCa.code, 1);
  assertOneCleanLine(missingCa.stderr, /cannot read CA file \/nonexistent\.pem/);

  const badCert = await runProgram("server.ts", [
    "--port",
    "0",
    "--hostname",
    "127.0.0.1",
    "--cert",
    "/nonexistent.pem",
    "--key",
    "/nonexistent-key.pem",
  ]);
  assertEquals(badCert.code, 1);
  assertOneCleanLine(badCert.stderr, /cannot read certificate file \/nonexistent\.pem/);

  await server.stop();
  const refused = await runProgram("client.ts", ["--port", port, "--send", "x"]);
  assertEquals(refused.code, 1);
  assertOneCleanLine(refused.stderr, /connection refused \(is the server running\?\)/);
  await Deno.remove(certsDir, { recursive: true });
});
