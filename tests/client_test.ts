/**
 * The client entry point (client.ts) as a user runs it: in a terminal a received message is
 * marked so that an echo differs from the line typed (a real pseudo-terminal, through
 * util-linux `script`), and Ctrl-C ends the client with status 0 even while it is connecting.
 */
import { assert, assertEquals } from "./assert.ts";
import { CLIENT_PERMISSIONS, ServerProcess } from "./processes.ts";
import { tempCertsDir, testCertsDir, waitFor } from "./helpers.ts";
import { readLines } from "../util/lines.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((result) => result.success, () => false);

Deno.test({
  name: "in a terminal, an echo is shown after '< ' under the line typed" +
    (hasScript ? "" : " (ignored: no util-linux script on this machine)"),
  ignore: !hasScript,
  async fn() {
    const certsDir = await tempCertsDir();
    const server = await ServerProcess.start(["--certs-dir", certsDir]);
    const client = [Deno.execPath(), "run", ...CLIENT_PERMISSIONS, "client.ts"]
      .concat(["--port", String(server.port), "--ca", `${certsDir}/ca.pem`]);
    // `script` runs the client with a pseudo-terminal as stdin, stdout and stderr.
    const terminal = new Deno.Command("script", {
      args: ["--quiet", "--return", "--command", client.join(" "), "/dev/null"],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const screen: string[] = [];
    const reading = (async () => {
      for await (const line of readLines(terminal.stdout)) screen.push(line);
    })();
    const keyboard = terminal.stdin.getWriter();
    await waitFor(() => screen.some((line) => line.startsWith("connected to")), 15_000);
    await keyboard.write(new TextEncoder().encode("hello\n"));
    await waitFor(() => screen.includes("< hello"), 15_000, `"< hello" on ${screen.join("|")}`);
    await keyboard.write(new Uint8Array([0x04])); // Ctrl-D: end of input
    const status = await terminal.status;
    await reading;
    await keyboard.close().catch(() => {});
    assertEquals(status.code, 0, screen.join("\n"));
    assert(screen.includes("hello"), "the line as typed (the terminal's echo)");
    assert(screen.some((line) => line.includes('received messages are shown after "< "')));
    assertEquals((await server.stop()).code, 0);
    await Deno.remove(certsDir, { recursive: true });
  },
});

Deno.test("Ctrl-C ends the client at once with status 0, even during a TLS handshake that hangs", async () => {
  // A --plain server takes the ClientHello for the start of a frame: the handshake would wait
  // for the 10 s limit.
  const server = await ServerProcess.start(["--plain", "--no-ws"]);
  const client = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLIENT_PERMISSIONS, "client.ts", "--port", String(server.port)]
      .concat(["--ca", `${await testCertsDir()}/ca.pem`, "--listen"]),
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await server.waitForLine(/ connected from 127\.0\.0\.1:/);
  const started = Date.now();
  client.kill("SIGINT");
  const { code, stderr } = await client.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  assert(new TextDecoder().decode(stderr).includes("interrupted: closing"));
  assert(Date.now() - started < 5000, "did not wait for the connect time limit");
  assertEquals((await server.stop()).code, 0);
});
