/**
 * The client's session: send messages (from stdin lines or `--send`), print every message
 * received, half-close when there is nothing more to send, and finish when the server closes.
 *
 * @example
 * ```ts
 * import { runClient } from "./run_client.ts";
 * import { parseClientArgs } from "./options.ts";
 * await runClient(parseClientArgs(["--send", "hi"])!);
 * ```
 * @module
 */
import { describeError, FatalError } from "../cli/errors.ts";
import { readLines } from "../cli/lines.ts";
import { OutboundQueue } from "../hub/outbound_queue.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { readFrameBatches } from "../protocol/frame_reader.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { decodeUtf8, encodeUtf8 } from "../protocol/utf8.ts";
import { connectToServer, resolveCaFile } from "./connect.ts";
import type { ClientOptions } from "./options.ts";

/** Where the client's output goes (stdout for messages, stderr for status). */
export interface ClientOutput {
  /** Receives printed messages, newline-terminated. */
  messages: { write(bytes: Uint8Array): Promise<number> };
  /** Receives one status line. */
  status(line: string): void;
}

const STANDARD_OUTPUT: ClientOutput = {
  messages: Deno.stdout,
  status: (line) => console.error(line),
};

/** Most bytes queued for sending before reading more input waits. */
const SEND_QUEUE_LIMIT = 4 * 1024 * 1024;

/** Runs the client to its end; resolves when the server has closed the connection. */
export async function runClient(
  options: ClientOptions,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  output: ClientOutput = STANDARD_OUTPUT,
): Promise<void> {
  const caFile = options.plain ? undefined : await resolveCaFile(options.ca);
  const conn = await connectToServer({ ...options, caFile });
  output.status(
    `connected to ${options.hostname}:${options.port}` +
      (options.plain
        ? " (plain TCP, not encrypted)"
        : ` (TLS, trusting ${caFile ?? "system roots"})`),
  );
  const onInterrupt = () => {
    output.status("interrupted: closing");
    conn.closeWrite().catch(() => {}).finally(() => conn.close());
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const receiving = printIncoming(conn, options, output);
    if (options.mode !== "listen") {
      const messages = options.mode === "send" ? toAsync(options.messages) : readLines(input);
      sendAll(conn, messages, options).catch((error) => {
        output.status(`sending stopped: ${describeError(error)}`);
      });
    }
    await receiving;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

async function sendAll(
  conn: Deno.Conn,
  messages: AsyncIterable<string>,
  options: ClientOptions,
): Promise<void> {
  const queue = new OutboundQueue(conn, { maxPending: SEND_QUEUE_LIMIT });
  for await (const message of messages) {
    queue.push(encodeFrame(message, options.framing));
    if (queue.full) await queue.hasRoom();
    if (queue.error !== undefined) throw queue.error;
  }
  await queue.flushed();
  if (queue.error !== undefined) throw queue.error;
  // Half-close (TLS close_notify): the server echoes what is left, then closes.
  await conn.closeWrite();
}

async function printIncoming(
  conn: Deno.Conn,
  options: ClientOptions,
  output: ClientOutput,
): Promise<void> {
  try {
    const frames = readFrameBatches(conn, { framing: options.framing, maxFrame: options.maxFrame });
    for await (const { payloads } of frames) {
      let text = "";
      for (const payload of payloads) text += decodeUtf8(payload) + "\n";
      await writeAll(output.messages, encodeUtf8(text));
    }
  } catch (error) {
    if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
      return; // we closed it (Ctrl-C)
    }
    if (error instanceof ProtocolError) {
      throw new FatalError(`the server broke the protocol: ${error.message}`);
    }
    throw new FatalError(
      `connection to ${options.hostname}:${options.port} lost: ${describeError(error)}`,
    );
  }
}

async function writeAll(sink: { write(bytes: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  let written = 0;
  while (written < bytes.length) written += await sink.write(bytes.subarray(written));
}

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}
