/**
 * Proof that the programs are self-contained, as `deno compile` needs: bundled, they run from a
 * directory with nothing else in it. The compile test itself runs where Deno's runtime base can
 * be downloaded, and is reported as ignored, with the reason in its name, where it cannot.
 */
import { assertEquals } from "./assert.ts";
import { BackgroundProgram } from "./processes.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function deno(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}

/** Starts `server` in `dir`, sends a message with `client`, checks the echo and a clean stop. */
async function roundTrip(dir: string, server: string[], client: string[]): Promise<void> {
  const listenArgs = [
    ...["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0", "--certs-dir", "certs"],
  ];
  const running = new BackgroundProgram([...server, ...listenArgs], dir);
  const line = await running.waitForLine(/listening on 127\.0\.0\.1:\d+/);
  const port = line.match(/:(\d+) /)![1];
  const result = await new Deno.Command(client[0], {
    args: [...client.slice(1), "--port", port, "--ca", "certs/ca.pem", "--send", "héllo"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(result.stdout), "héllo\n");
  assertEquals(result.code, 0);
  running.kill("SIGTERM");
  assertEquals((await running.exited()).code, 0);
}

Deno.test("bundled server and client run from a directory without the source tree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-bundle-" });
  for (const name of ["server", "client"]) {
    const output = `${dir}/tlspush-${name}.js`;
    const result = await deno(["bundle", "--platform", "deno", "--output", output, `${name}.ts`]);
    assertEquals(result.code, 0, result.output);
  }
  const denoRun = [Deno.execPath(), "run", "--no-config", "--allow-net", "--allow-read=."];
  await roundTrip(
    dir,
    [...denoRun, "--allow-write=.", "--allow-sys=hostname", "tlspush-server.js"],
    [...denoRun, "tlspush-client.js"],
  );
  await Deno.remove(dir, { recursive: true });
});

// Probe once: compiling the client either works or says why the runtime base is unavailable.
const compileDir = await Deno.makeTempDir({ prefix: "tlspush-compile-" });
const probe = await deno([
  "compile",
  "--allow-net",
  "--allow-read",
  "--output",
  `${compileDir}/tlspush-client`,
  "client.ts",
]);
const compileBlocked = probe.code === 0
  ? undefined
  : (probe.output.match(/error sending request for url \([^)]*\)/)?.[0] ??
    probe.output.trim().split("\n").slice(-1)[0]);
if (compileBlocked) await Deno.remove(compileDir, { recursive: true });

Deno.test({
  name: compileBlocked
    ? `deno compile binaries (ignored: runtime base not downloadable here: ${compileBlocked})`
    : "deno compile binaries run from a directory without the source tree",
  ignore: compileBlocked !== undefined,
  async fn() {
    const result = await deno([
      "compile",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-sys=hostname",
      "--output",
      `${compileDir}/tlspush-server`,
      "server.ts",
    ]);
    assertEquals(result.code, 0, result.output);
    await roundTrip(compileDir, [`${compileDir}/tlspush-server`], [`${compileDir}/tlspush-client`]);
    await Deno.remove(compileDir, { recursive: true });
  },
});
