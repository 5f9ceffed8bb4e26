/**
 * tlspush-server: flags, then start. Every line typed on standard input is broadcast to all
 * clients; SIGINT/SIGTERM flush and close every connection cleanly; SIGHUP reloads the
 * certificate. Signals that arrive together
 * (a Ctrl-C that `deno task` forwards too) are one request; another one more than a second
 * later exits at once, status 1 (see `cli/stop_signals.ts`).
 *
 * @example
 * ```sh
 * deno task server --port 9002
 * ```
 * @module
 */
import { readLines } from "./util/lines.ts";
import { runMain } from "./cli/errors.ts";
import { parseServerArgs, SERVER_USAGE } from "./cli/server_options.ts";
import { StopSignals } from "./cli/stop_signals.ts";
import { startServer } from "./server/start_server.ts";

if (import.meta.main) {
  await runMain("tlspush-server", async () => {
    const options = parseServerArgs(Deno.args);
    if (!options) {
      console.log(SERVER_USAGE);
      return 0;
    }
    // Stop signals are heard from before the start: one that comes while the server starts (or
    // just after its "listening on" line) stops it cleanly once it is up instead of killing it.
    const stopRequested = Promise.withResolvers<void>();
    const stopSignals = new StopSignals();
    const onSignal = () => {
      const decision = stopSignals.receive();
      if (decision === "force") {
        console.error("tlspush-server: second stop signal: exiting without finishing the drain");
        Deno.exit(1);
      }
      if (decision === "stop") stopRequested.resolve();
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    const server = await startServer(options);
    // SIGHUP: reload the certificate and the ACL (what can change without a restart).
    if (Deno.build.os !== "windows") Deno.addSignalListener("SIGHUP", () => server.reload());
    // End of input does not stop the server: it keeps serving until a signal.
    (async () => {
      for await (const line of readLines(Deno.stdin.readable)) server.broadcast(line);
    })();
    await stopRequested.promise;
    await server.shutdown();
    return 0;
  });
}
