/**
 * tlspush-server: flags, then start. Every line typed on standard input is broadcast to all
 * clients; SIGINT/SIGTERM flush and close every connection cleanly (a second signal exits at
 * once).
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
import { startServer } from "./server/start_server.ts";

if (import.meta.main) {
  await runMain("tlspush-server", async () => {
    const options = parseServerArgs(Deno.args);
    if (!options) {
      console.log(SERVER_USAGE);
      return 0;
    }
    const server = await startServer(options);
    const stopped = Promise.withResolvers<void>();
    let signalled = false;
    const onSignal = () => {
      if (signalled) Deno.exit(1); // a second signal: no more waiting
      signalled = true;
      server.shutdown().then(stopped.resolve);
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    // End of input does not stop the server: it keeps serving until a signal.
    (async () => {
      for await (const line of readLines(Deno.stdin.readable)) server.broadcast(line);
    })();
    await stopped.promise;
    return 0;
  });
}
