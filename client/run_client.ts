/**
 * The client's reconnect loop: one session (TLS/TCP or WebSocket) after the other over one
 * input channel. Without `reconnect` it serves one connection and returns when that ends
 * well, or throws its `ClientError`. With `reconnect`, a connection that fails or ends early
 * is retried with backoff and sending resumes with the next message not yet taken; a
 * configuration mistake (an untrusted certificate, a wrong port) is never retried.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { runClient } from "./run_client.ts";
 * await runClient({ ...CLIENT_DEFAULTS, mode: "send", messages: ["hi"] });
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";
import { readLines } from "../util/lines.ts";
import { backoffDelay } from "./backoff.ts";
import { ChannelFeed } from "./channel_feed.ts";
import { type ClientConfig, speaksV2 } from "./config.ts";
import { resolveCaFile } from "./connect.ts";
import { ClientError } from "./errors.ts";
import { InputChannel } from "./input_channel.ts";
import type { ClientOutput, Session } from "./session.ts";
import { StreamSession } from "./stream_session.ts";
import { WebSocketSession } from "./ws_session.ts";

/**
 * What the client reads, writes and is interrupted by.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { type ClientIo, runClient } from "./run_client.ts";
 * const stop = new AbortController();
 * const io: ClientIo = { input: ReadableStream.from([new TextEncoder().encode("a\n")]) };
 * await runClient(CLIENT_DEFAULTS, { ...io, interrupt: stop.signal });
 * ```
 */
export interface ClientIo {
  /** Lines to send in interactive mode (default: standard input). */
  input?: ReadableStream<Uint8Array>;
  /** Messages and status lines (default: stdout and stderr). */
  output?: ClientOutput;
  /** Aborts when the user interrupts (Ctrl-C): close and return. */
  interrupt?: AbortSignal;
}

const STANDARD_OUTPUT: ClientOutput = {
  messages: Deno.stdout,
  status: (line) => console.error(line),
};

/**
 * Runs the client to its end: resolves when it finished (or was interrupted), throws the
 * `ClientError` that ended it otherwise.
 *
 * @example
 * ```ts
 * import { CLIENT_DEFAULTS } from "./config.ts";
 * import { runClient } from "./run_client.ts";
 * const config = { ...CLIENT_DEFAULTS, hostname: "127.0.0.1", plain: true };
 * const status = (line: string) => console.error(`[client] ${line}`);
 * await runClient({ ...config, mode: "send", messages: ["hi"] }, {
 *   output: { messages: Deno.stdout, status },
 * });
 * ```
 */
export async function runClient(config: ClientConfig, io: ClientIo = {}): Promise<void> {
  const output = io.output ?? STANDARD_OUTPUT;
  const interrupted = io.interrupt ?? new AbortController().signal;
  const caFile = config.plain ? undefined : await resolveCaFile(config.ca);
  const channel = config.mode === "listen" ? undefined : new InputChannel(
    config.mode === "send" ? config.messages : readLines(io.input ?? Deno.stdin.readable),
  );
  // Protocol v2: where each channel resumes, kept from one connection to the next.
  const feed = speaksV2(config) ? new ChannelFeed(config.channels) : undefined;
  const onInterrupt = () => output.status("interrupted: closing");
  interrupted.addEventListener("abort", onInterrupt, { once: true });
  let hinted = false;
  try {
    for (let attempt = 0;; attempt++) {
      let why: string;
      try {
        const session = openSession(config, caFile);
        const connected = await untilAborted(session.connect(), interrupted);
        if (connected === undefined) {
          session.close(); // Ctrl-C while connecting: do not wait for the time limit
          return;
        }
        output.status(connected);
        if (config.markReceived && !hinted) {
          output.status('type a line to send it; received messages are shown after "< "');
          hinted = true;
        }
        attempt = 0;
        const ending = await session.serve({ channel, output, interrupted, feed });
        if (ending !== "server closed") return;
        why = "the server closed the connection";
        if (!config.reconnect) {
          output.status(why);
          return;
        }
      } catch (error) {
        if (!config.reconnect || !(error instanceof ClientError) || !error.retryable) throw error;
        why = describeError(error);
      }
      if (interrupted.aborted) return;
      const delay = backoffDelay(attempt);
      output.status(
        `${why}; reconnecting in ${(delay / 1000).toFixed(2)} s (attempt ${attempt + 1})`,
      );
      if (!(await sleep(delay, interrupted))) return;
    }
  } finally {
    interrupted.removeEventListener("abort", onInterrupt);
  }
}

/** A session of the transport `config` names: WebSocket for a `ws(s)://` URL, else frames. */
function openSession(config: ClientConfig, caFile: string | undefined): Session {
  return config.webSocketUrl === undefined
    ? new StreamSession(config, caFile)
    : new WebSocketSession(config, caFile);
}

/**
 * `promise`'s value, or undefined as soon as `signal` aborts; a later outcome of `promise` is
 * then dropped (its connection closed by the caller).
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, (error) => signal.aborted ? resolve(undefined) : reject(error))
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
