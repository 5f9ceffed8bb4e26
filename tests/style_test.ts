/**
 * The repository stays as the style guide says: `deno fmt --check`, `deno lint` and the type
 * check of every entry point are clean (the same as `deno task check`).
 */
import { assertEquals } from "./assert.ts";
import { runDeno } from "./processes.ts";

Deno.test("deno fmt --check is clean", async () => {
  const { code, output } = await runDeno(["fmt", "--check"]);
  assertEquals(code, 0, output);
});

Deno.test("deno lint is clean", async () => {
  const { code, output } = await runDeno(["lint"]);
  assertEquals(code, 0, output);
});

Deno.test("every entry point type-checks", async () => {
  const { code, output } = await runDeno([
    "check",
    "server.ts",
    "client.ts",
    "scripts/",
    "tests/",
    "bench/run.ts",
    "bench/memory.ts",
  ]);
  assertEquals(code, 0, output);
});

/** The folders of library code, layer by layer (DESIGN.md section 4). */
const SOURCE_DIRS = [
  "protocol",
  "util",
  "auth",
  "tls",
  "hub",
  "stream",
  "web",
  "broker",
  "server",
  "cli",
  "client",
]
  .filter((dir) => {
    try {
      return Deno.statSync(new URL(`../${dir}`, import.meta.url)).isDirectory;
    } catch {
      return false;
    }
  });

Deno.test("every documentation example type-checks", async () => {
  const sources: string[] = ["server.ts", "client.ts"];
  for (const entry of Deno.readDirSync(new URL("../scripts", import.meta.url))) {
    if (entry.isFile && entry.name.endsWith(".ts")) sources.push(`scripts/${entry.name}`);
  }
  for (const dir of SOURCE_DIRS) {
    for (const entry of Deno.readDirSync(new URL(`../${dir}`, import.meta.url))) {
      if (entry.isFile && entry.name.endsWith(".ts")) sources.push(`${dir}/${entry.name}`);
    }
  }
  const { code, output } = await runDeno(["check", "--doc", ...sources]);
  assertEquals(code, 0, output);
});

/**
 * The layers of DESIGN.md section 4, lowest first: a folder may import only from itself and
 * from folders of lower layers (`protocol/` is below `util/`); the client library stands on
 * the bottom layer alone. `cli/` serves only the entry points.
 */
const LAYERS: Record<string, number> = {
  protocol: 0,
  util: 1,
  // Tokens, permissions and the ACL: below the hub that holds a peer's permissions; no socket.
  auth: 1.5,
  tls: 2,
  hub: 2,
  stream: 3,
  web: 3,
  broker: 3,
  server: 4,
  // The client library; its own imports are held to CLIENT_MAY_IMPORT below.
  client: 4,
  cli: 5,
};
const CLIENT_MAY_IMPORT = new Set(["protocol", "util", "client"]);

/** Each library module's code imports (JSDoc examples, lines starting with " * ", left out). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const dir of SOURCE_DIRS) {
    for (const entry of Deno.readDirSync(new URL(`../${dir}`, import.meta.url))) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      const file = `${dir}/${entry.name}`;
      const source = Deno.readTextFileSync(new URL(`../${file}`, import.meta.url));
      const targets = [...source.matchAll(/^(?:import|export)[^"\n]*?from "(\.{1,2}\/[^"]+)"/gm)]
        .map((match) => new URL(match[1], `file:///${file}`).pathname.slice(1));
      graph.set(file, targets);
    }
  }
  return graph;
}

Deno.test("imports run only down the layers: never up, never sideways", () => {
  const problems: string[] = [];
  for (const [file, targets] of importGraph()) {
    const dir = file.split("/")[0];
    for (const target of targets.map((path) => path.split("/")[0])) {
      if (target === dir) continue;
      const allowed = dir === "client"
        ? CLIENT_MAY_IMPORT.has(target)
        : LAYERS[target] !== undefined && LAYERS[target] < LAYERS[dir];
      if (!allowed) problems.push(`${file} imports ${target}/`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("no module imports itself through others (no import cycle)", () => {
  const graph = importGraph();
  const cycles: string[] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    if (path.includes(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    if (done.has(file)) return;
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  assertEquals(cycles, []);
});
