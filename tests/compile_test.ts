/**
 * The `deno task compile` wrapper (`scripts/compile.ts`) as a unit, with `deno` replaced by a
 * stand-in: a download failure of the runtime base becomes one line, any other failure keeps
 * Deno's own output and status, and a success is passed through. (`tests/bundle_test.ts` runs
 * the real task.)
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { compileAll, compileArgs, CompileError, type DenoRunner } from "../scripts/compile.ts";
import { COMPILE_TARGETS } from "../scripts/compile_targets.ts";
import { RuntimeBaseError, runtimeBaseFailure } from "../scripts/runtime_base_error.ts";

/** What Deno 2.9.6 printed here, with RUST_BACKTRACE=1, where dl.deno.land does not resolve. */
const OFFLINE = `\x1b[0m\x1b[32mCheck\x1b[0m client.ts
\x1b[0m\x1b[32mCompile\x1b[0m client.ts to ../../tmp/ctest/x
\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file '/tmp/ctest/x.tmp-4592113b3560bd1c'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
   1: <unknown>
`;

/** What Deno printed here with DENORT_BIN naming a file that does not exist. */
const DENORT_MISSING =
  `error: Writing deno compile executable to temporary file '/tmp/ctest/x.tmp-0c67f9eacb98006e'

Caused by:
    0: Could not find denort at '/nonexistent/denort'
    1: No such file or directory (os error 2)

Stack backtrace:
   0: <unknown>
`;

const TYPE_ERROR = `Check server.ts
TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.
    at file:///repo/server.ts:3:7

error: Type checking failed.
`;

/** A stand-in for `deno` that answers each call with the next result, and records the calls. */
function fakeDeno(...results: { code: number; output: string }[]) {
  const calls: string[][] = [];
  const run: DenoRunner = (args) => {
    calls.push(args);
    return Promise.resolve(results.shift() ?? { code: 0, output: "" });
  };
  return { run, calls };
}

Deno.test("a runtime base download failure is one line: the URL, the reason, what to do", () => {
  const error = runtimeBaseFailure(OFFLINE);
  assert(error instanceof RuntimeBaseError);
  assertEquals(error.message.split("\n").length, 1);
  assert(
    error.message.startsWith(
      "could not download Deno's runtime base (denort) from " +
        "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip " +
        "(failed to lookup address information: Name or service not known): ",
    ),
    error.message,
  );
  assert(error.message.includes("DENORT_BIN=/path/to/denort"), error.message);
  assert(error.message.includes("deno task bundle"), error.message);
  assert(!/Stack backtrace|<unknown>/.test(error.message), error.message);
  assert(!error.message.includes("\x1b"), "no colour codes");
});

Deno.test("a DENORT_BIN that names no file is one line too", () => {
  const error = runtimeBaseFailure(DENORT_MISSING);
  assert(error instanceof RuntimeBaseError);
  assert(error.message.startsWith("DENORT_BIN names /nonexistent/denort, which does not exist"));
});

Deno.test("other compile failures are not taken for a download failure", () => {
  assertEquals(runtimeBaseFailure(TYPE_ERROR), undefined);
  assertEquals(runtimeBaseFailure("error: Permission denied (os error 13)"), undefined);
});

Deno.test("compileAll: a success compiles each target with its permissions, output passed on", async () => {
  const deno = fakeDeno(
    { code: 0, output: "Compile server.ts to /out/tlspush-server\n" },
    { code: 0, output: "Compile client.ts to /out/tlspush-client\n" },
  );
  const outputs = await compileAll({ outputDir: "/out", run: deno.run });
  assertEquals(outputs, [
    "Compile server.ts to /out/tlspush-server\n",
    "Compile client.ts to /out/tlspush-client\n",
  ]);
  assertEquals(deno.calls, COMPILE_TARGETS.map((target) => compileArgs(target, "/out")));
  assertEquals(deno.calls[1], [
    ...["compile", "--allow-net", "--allow-read", "--output", "/out/tlspush-client", "client.ts"],
  ]);
});

Deno.test("compileAll: the download failure stops at the first target with a RuntimeBaseError", async () => {
  const deno = fakeDeno({ code: 1, output: OFFLINE });
  await assertRejects(compileAll({ outputDir: "dist", run: deno.run }), RuntimeBaseError);
  assertEquals(deno.calls.length, 1);
});

Deno.test("compileAll: any other failure keeps Deno's output and status", async () => {
  const deno = fakeDeno({ code: 0, output: "" }, { code: 3, output: TYPE_ERROR });
  const error = await assertRejects(
    compileAll({ outputDir: "dist", run: deno.run }),
    CompileError,
  );
  assertEquals(error.result, { code: 3, output: TYPE_ERROR });
});
