/** The README stays true: its usage sections are the programs' own `--help` text. */
import { assert } from "./assert.ts";
import { SERVER_USAGE } from "../cli/server_options.ts";
import { CLIENT_USAGE } from "../cli/client_options.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

Deno.test("the README shows the server's --help exactly", () => {
  assert(README.includes("```\n" + SERVER_USAGE + "\n```"), "README Usage/Server is out of date");
});

Deno.test("the README shows the client's --help exactly", () => {
  assert(README.includes("```\n" + CLIENT_USAGE + "\n```"), "README Usage/Client is out of date");
});
