/**
 * tlspush-client: flags, then connect. Sends each stdin line (or each `--send`) as a message and
 * prints every message received; `--listen` only prints.
 *
 * Exit status: 0 when the input ended and every message sent came back before the server
 * closed (with `--listen`: when the server closed; or after Ctrl-C); 1 when the server closed
 * first, the connection failed or could not be made (one line on stderr says why); 2 for a
 * bad flag or value.
 *
 * @example
 * ```sh
 * printf 'a\nb\n' | deno task client --ca certs/ca.pem
 * ```
 * @module
 */
import { runMain } from "./cli/errors.ts";
import { CLIENT_USAGE, parseClientArgs } from "./cli/client_options.ts";
import { runClient } from "./client/run_client.ts";

if (import.meta.main) {
  await runMain("tlspush-client", async () => {
    const config = parseClientArgs(Deno.args);
    if (!config) {
      console.log(CLIENT_USAGE);
      return 0;
    }
    // Typed lines and received ones share the screen only when both ends are a terminal.
    const markReceived = config.mode === "interactive" && Deno.stdin.isTerminal() &&
      Deno.stdout.isTerminal();
    // Ctrl-C closes cleanly, even while connecting. Under `deno task` one Ctrl-C arrives twice
    // (the terminal's and the one the task runner forwards): a second abort changes nothing.
    const interrupt = new AbortController();
    const onInterrupt = () => interrupt.abort();
    Deno.addSignalListener("SIGINT", onInterrupt);
    try {
      await runClient({ ...config, markReceived }, { interrupt: interrupt.signal });
    } finally {
      Deno.removeSignalListener("SIGINT", onInterrupt);
    }
    return 0;
  });
}
