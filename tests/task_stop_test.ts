/**
 * Ctrl-C on the server as a user does it: the server runs through `deno task server` (and
 * through `npx deno task server`, the README's own command) in its own process group, and
 * SIGINT goes to the whole group, as a terminal sends it. `deno task` (and npm) forward it to
 * their child on top of that, so the server receives it more than once: those copies are one
 * request to stop, and every connected client must see a clean close (TLS close_notify). Only
 * a second Ctrl-C, later, cuts the drain short.
 */
import { assert, assertEquals } from "./assert.ts";
import { ProcessGroup } from "./process_group.ts";
import { BackgroundProgram, CLIENT_PERMISSIONS } from "./processes.ts";
import { tempCertsDir, waitFor } from "./helpers.ts";

const LISTEN = ["--hostname", "127.0.0.1", "--port", "0", "--ws-port", "0"];

/** Starts `launcher task server` in its own process group; resolves with it and its TLS port. */
async function startTaskServer(launcher: string[], certsDir: string, args: string[] = []) {
  const job = new ProcessGroup([
    ...launcher,
    "task",
    "server",
    ...LISTEN,
    "--certs-dir",
    certsDir,
    ...args,
  ]);
  const line = await job.waitForLine(/listening on 127\.0\.0\.1:\d+ /, 60_000);
  return { job, port: Number(line.match(/listening on 127\.0\.0\.1:(\d+) /)![1]) };
}

/** A raw TLS client that reads until the end; resolves with how the connection ended. */
async function rawReader(port: number, caFile: string) {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [await Deno.readTextFile(caFile)],
  });
  await conn.handshake();
  const ended = (async () => {
    const buffer = new Uint8Array(4096);
    try {
      while ((await conn.read(buffer)) !== null) { /* nothing is sent to it */ }
      return "close_notify";
    } catch (error) {
      return `error: ${(error as Error).message}`;
    } finally {
      conn.close();
    }
  })();
  return { ended };
}

/** A TLS client that completes its handshake and then never reads. */
async function stalledClient(port: number, caFile: string): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [await Deno.readTextFile(caFile)],
  });
  await conn.handshake();
  return conn;
}

/** Connects two `client.ts --listen` processes and one raw TLS reader, waits until all joined. */
async function connectClients(job: ProcessGroup, port: number, caFile: string) {
  const args = ["--listen", "--port", String(port), "--ca", caFile];
  const listeners = [
    BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS),
    BackgroundProgram.denoRun("client.ts", args, CLIENT_PERMISSIONS),
  ];
  const raw = await rawReader(port, caFile);
  await waitFor(
    () => job.stdout.filter((line) => / connected from 127\.0\.0\.1:/.test(line)).length === 3,
    30_000,
    "three clients connected",
  );
  return { listeners, raw };
}

/** Ctrl-C through `launcher`: every client closed cleanly, the log reaches `stopped`. */
async function ctrlCClosesEveryClientCleanly(launcher: string[]): Promise<Deno.CommandStatus> {
  const certsDir = await tempCertsDir();
  const { job, port } = await startTaskServer(launcher, certsDir);
  try {
    const { listeners, raw } = await connectClients(job, port, `${certsDir}/ca.pem`);
    job.signalGroup("SIGINT"); // Ctrl-C
    const status = await job.exited();
    await job.allExited();
    const log = job.stdout.join("\n");
    assert(/shutting down: closing 3 connections/.test(log), log);
    assertEquals(job.stdout.filter((line) => /closed: server shutting down/.test(line)).length, 3);
    assert(job.stdout.at(-1)!.endsWith(" stopped"), log);
    assert(!job.stderr.some((line) => /second stop signal/.test(line)), job.stderr.join("\n"));
    for (const listener of listeners) {
      const clientStatus = await listener.exited();
      assertEquals(clientStatus.code, 0, listener.stderr.join("\n"));
      assert(
        !listener.stderr.some((line) => /close_notify/.test(line)),
        listener.stderr.join("\n"),
      );
    }
    assertEquals(await raw.ended, "close_notify");
    return status;
  } finally {
    await job.kill();
    await Deno.remove(certsDir, { recursive: true });
  }
}

Deno.test("Ctrl-C on `deno task server` (SIGINT to its process group) closes every client cleanly, exit 0", async () => {
  const status = await ctrlCClosesEveryClientCleanly([Deno.execPath()]);
  assertEquals(status.code, 0); // deno task passes on the server's status
});

/** Where `npx` is on PATH, if it is. */
function findNpx(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/npx`).isFile) return `${dir}/npx`;
    } catch {
      // not here
    }
  }
}
const npx = findNpx();

Deno.test({
  name: npx
    ? "Ctrl-C on `npx deno task server` (the README's command) closes every client cleanly; npx reports 130"
    : "Ctrl-C on `npx deno task server` (ignored: no npx on PATH)",
  ignore: npx === undefined,
  async fn() {
    const status = await ctrlCClosesEveryClientCleanly([
      npx!,
      "--yes",
      `deno@${Deno.version.deno}`,
    ]);
    // npm forwards the SIGINT to its `sh -c`, which dies of it, and npm then kills itself with the
    // same signal: the shell sees 130 (128 + SIGINT) whatever the server's own status (0) is.
    assertEquals([status.code, status.signal], [130, "SIGINT"]);
  },
});

Deno.test("a second Ctrl-C 2 s after the first, during a long drain, exits at once with status 1", async () => {
  const certsDir = await tempCertsDir();
  const { job, port } = await startTaskServer([Deno.execPath()], certsDir, [
    "--drain-timeout",
    "120",
  ]);
  let stalled: Deno.TlsConn | undefined;
  try {
    stalled = await stalledClient(port, `${certsDir}/ca.pem`);
    await job.waitForLine(/connected from/);
    const line = "q".repeat(60_000);
    for (let i = 0; i < 150; i++) await job.type(line); // ~9 MB: more than the socket buffers hold
    await waitFor(() => job.stdout.filter((l) => /broadcast/.test(l)).length === 150, 30_000);
    job.signalGroup("SIGINT");
    await job.waitForLine(/shutting down: closing 1 connection/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert(!job.stdout.some((l) => / stopped$/.test(l)), "still draining after 2 s");
    const started = Date.now();
    job.signalGroup("SIGINT"); // the deliberate second Ctrl-C
    const status = await job.exited(20_000); // far less than the 120 s drain
    assertEquals(status.code, 1);
    assert(
      Date.now() - started < 10_000,
      `exited ${Date.now() - started} ms after the second signal`,
    );
    await job.allExited(); // the server's last stderr line may come after deno task's status
    assert(job.stderr.some((l) => /second stop signal/.test(l)), job.stderr.join("\n"));
    assert(!job.stdout.some((l) => / stopped$/.test(l)), job.stdout.join("\n"));
  } finally {
    stalled?.close();
    await job.kill();
    await Deno.remove(certsDir, { recursive: true });
  }
});

Deno.test("a Ctrl-C at once after `listening on`, before the start is over, still stops cleanly", async () => {
  for (let round = 0; round < 3; round++) {
    const certsDir = await tempCertsDir();
    const { job } = await startTaskServer([Deno.execPath()], certsDir);
    try {
      job.signalGroup("SIGINT");
      assertEquals((await job.exited()).code, 0, `round ${round}: ${job.stderr.join("\n")}`);
      await job.allExited();
      assert(job.stdout.at(-1)!.endsWith(" stopped"), job.stdout.join("\n"));
    } finally {
      await job.kill();
      await Deno.remove(certsDir, { recursive: true });
    }
  }
});
