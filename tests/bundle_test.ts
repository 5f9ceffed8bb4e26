/**
 * Proof that the programs are self-contained, as `deno compile` needs: bundled, they run from a
 * directory with nothing else in it. The compile test itself runs where Deno's runtime base can
 * be downloaded, and is reported as ignored, with the reason in its name, where it cannot.
 */
import { assertEquals } from "./assert.ts";
import { BackgroundProgram, runDeno } from "./processes.ts";

const ROOT = new URL("..", import.meta.url).pathname;

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
    const result = await runDeno([
      "bundle",
      "--platform",
      "deno",
      "--output",
      output,
      `${name}.ts`,
    ]);
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

// `deno task compile` exactly as deno.json has it, with the output moved to a temporary folder.
const compileDir = await Deno.makeTempDir({ prefix: "tlspush-compile-" });
const compileTask: string = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks.compile;
const compileCommands = compileTask.split("&&").map((command) =>
  command.trim().split(/\s+/).slice(1).map((arg) => arg.replace(/^dist\//, `${compileDir}/`))
);
const [serverCompile, clientCompile] = ["server.ts", "client.ts"].map((entry) =>
  compileCommands.find((args) => args.at(-1) === entry)!
);
// Compiling the client first tells whether Deno's runtime base can be downloaded here; only
// that failure makes the test ignored, any other one fails it.
const probe = await runDeno(clientCompile);
const downloadBlocked = probe.code === 0
  ? undefined
  : probe.output.match(/error sending request for url \([^)]*\)/)?.[0];
if (downloadBlocked) await Deno.remove(compileDir, { recursive: true });

Deno.test({
  name: downloadBlocked
    ? `deno task compile binaries (ignored: runtime base not downloadable here: ${downloadBlocked})`
    : "deno task compile binaries run from a directory without the source tree",
  ignore: downloadBlocked !== undefined,
  async fn() {
    assertEquals(probe.code, 0, probe.output);
    const result = await runDeno(serverCompile);
    assertEquals(result.code, 0, result.output);
    await roundTrip(compileDir, [`${compileDir}/tlspush-server`], [`${compileDir}/tlspush-client`]);
    await Deno.remove(compileDir, { recursive: true });
  },
});
