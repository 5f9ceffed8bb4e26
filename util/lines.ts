/**
 * Lines of text from a byte stream (standard input): split on `\n`, a trailing `\r` dropped,
 * a last line without newline still delivered.
 *
 * @example
 * ```ts
 * import { readLines } from "./lines.ts";
 * for await (const line of readLines(Deno.stdin.readable)) console.log(line);
 * ```
 * @module
 */

/**
 * Yields each line of `stream`, decoded as UTF-8.
 *
 * @example
 * ```ts
 * import { readLines } from "./lines.ts";
 * const stream = ReadableStream.from([new TextEncoder().encode("one\r\ntwo\nthree")]);
 * for await (const line of readLines(stream)) console.log(line); // "one", "two", "three"
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) yield stripCarriageReturn(line);
  }
  if (rest.length > 0) yield stripCarriageReturn(rest);
}

function stripCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
