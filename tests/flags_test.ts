/**
 * Flag parsing shared by both programs (cli/flags.ts): a negative number is read as the value
 * it is and refused for its range, a missing value is named, an unknown flag is named; proved
 * on the functions and through both programs as a user runs them.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { runProgram } from "./processes.ts";
import { assertOneCleanLine } from "./helpers.ts";
import { parseFlags, parseInteger, parseSeconds } from "../cli/flags.ts";
import { UsageError } from "../cli/errors.ts";

const OPTIONS = {
  port: { type: "string" },
  send: { type: "string", multiple: true },
  listen: { type: "boolean" },
} as const;

/** The parsed values as a plain object (`parseArgs` gives one without a prototype). */
const parse = (args: string[]) => ({ ...parseFlags(args, OPTIONS) });

Deno.test("parseFlags takes a value that starts with one dash as a value", () => {
  assertEquals(parse(["--port", "-5"]), { port: "-5" });
  assertEquals(parse(["--send", "-", "--send", "-x", "--listen"]), {
    send: ["-", "-x"],
    listen: true,
  });
  assertEquals(
    parse(["--port=--odd"]),
    { port: "--odd" },
    "the = form takes anything",
  );
});

Deno.test("parseFlags names a missing value and an unknown flag", () => {
  assertThrows(() => parseFlags(["--port"], OPTIONS), UsageError, "--port needs a value");
  assertThrows(
    () => parseFlags(["--port", "--listen"], OPTIONS),
    UsageError,
    "--port needs a value (for a value that starts with --, write --port=--listen)",
  );
  assertThrows(() => parseFlags(["--bogus"], OPTIONS), UsageError, "unknown flag --bogus");
  assertThrows(() => parseFlags(["stray"], OPTIONS), UsageError, "Unexpected argument 'stray'");
});

Deno.test("parseInteger and parseSeconds refuse a negative value for what it is", () => {
  assertThrows(
    () => parseInteger("-5", "--max-connections", 0, 10_000_000),
    UsageError,
    "--max-connections must be from 0 to 10000000, got -5",
  );
  assertThrows(() => parseInteger("1.5", "--port", 0, 9), UsageError, "must be a whole number");
  assertThrows(
    () => parseSeconds("-1", "--drain-timeout"),
    UsageError,
    "--drain-timeout must not be negative, got -1",
  );
  assertEquals(parseSeconds("0.25", "--drain-timeout"), 250);
});

for (
  const [program, args, reason] of [
    ["client.ts", ["--max-frame", "-1"], /--max-frame must be from 1 to 2147483647, got -1/],
    ["client.ts", ["--port", "-1"], /--port must be from 0 to 65535, got -1/],
    ["server.ts", ["--max-frame", "-1"], /--max-frame must be from 1 to 2147483647, got -1/],
    ["server.ts", ["--max-connections", "-5"], /--max-connections must be from 0 to \d+, got -5/],
    ["server.ts", ["--drain-timeout", "-1"], /--drain-timeout must not be negative, got -1/],
  ] as const
) {
  Deno.test(`${program} ${args.join(" ")}: the negative value is refused by name, exit 2`, async () => {
    const { code, stdout, stderr } = await runProgram(program, [...args]);
    assertEquals([code, stdout], [2, ""], stderr);
    assertOneCleanLine(stderr, new RegExp(`^tlspush-(client|server): ${reason.source}`));
    assert(!stderr.includes("ambiguous"), stderr);
  });
}
