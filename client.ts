/**
 * tlspush-client: flags, then connect. Sends each stdin line (or each `--send`) as a message and
 * prints every message received; `--listen` only prints.
 *
 * @example
 * ```sh
 * printf 'a\nb\n' | deno task client --ca certs/ca.pem
 * ```
 * @module
 */
import { runMain } from "./cli/errors.ts";
import { CLIENT_USAGE, parseClientArgs } from "./client/options.ts";
import { runClient } from "./client/run_client.ts";

if (import.meta.main) {
  await runMain("tlspush-client", async () => {
    const options = parseClientArgs(Deno.args);
    if (!options) {
      console.log(CLIENT_USAGE);
      return 0;
    }
    await runClient(options);
    return 0;
  });
}
