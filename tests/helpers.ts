/**
 * Test helpers: a server on 127.0.0.1 with its own certificates, raw TLS clients that speak
 * frames, and small waiting utilities. Everything stays on loopback and stops by itself.
 *
 * @example
 * ```ts
 * import { startTestServer, TestClient } from "./helpers.ts";
 * const server = await startTestServer();
 * const client = await TestClient.connect(server);
 * ```
 * @module
 */
import { assert } from "./assert.ts";
import { type RunningServer, startServer } from "../server/start_server.ts";
import { SERVER_DEFAULTS, type ServerOptions } from "../server/config.ts";
import { Logger } from "../util/logger.ts";
import { connectToServer } from "../client/connect.ts";
import { encodeFrame, type Framing } from "../protocol/framing.ts";
import { readFrameBatches } from "../protocol/frame_reader.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { ensureCertificates } from "../tls/certificates.ts";

/** One shared certs directory for the whole test run (the CA is made once). */
let sharedCertsDir: Promise<string> | undefined;

/** A temporary certs directory with a CA and leaf, created once per test process. */
export function testCertsDir(): Promise<string> {
  sharedCertsDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "tlspush-certs-" });
    await ensureCertificates({ certsDir: dir });
    return dir;
  })();
  return sharedCertsDir;
}

/** A running server plus the lines it logged. */
export interface TestServer extends RunningServer {
  /** Every log line so far. */
  readonly log: string[];
  /** The port it listens on. */
  readonly port: number;
  /** The CA file clients trust. */
  readonly caFile: string;
  /** Resolves once a log line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts a server on 127.0.0.1 with a free port and test certificates. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const certsDir = await testCertsDir();
  const log: string[] = [];
  const logger = new Logger({ verbose: options.verbose, write: (line) => log.push(line) });
  const server = await startServer(
    { ...SERVER_DEFAULTS, hostname: "127.0.0.1", port: 0, wsPort: 0, certsDir, ...options },
    logger,
  );
  return Object.assign(server, {
    log,
    port: server.address.port,
    caFile: `${options.certsDir ?? certsDir}/ca.pem`,
    waitForLog: (pattern: RegExp, timeoutMs = 10_000) =>
      waitFor(() => log.find((line) => pattern.test(line)), timeoutMs, `log line ${pattern}`),
  });
}

/** Polls `probe` until it returns a value; fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | false,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const text = new TextDecoder();

/** A raw TLS client that sends frames and collects the messages it receives. */
export class TestClient {
  readonly conn: Deno.Conn;
  readonly received: string[] = [];
  /** Resolves when the server ends the stream; rejects on a protocol or connection error. */
  readonly closed: Promise<void>;
  readonly #framing: Framing;

  private constructor(conn: Deno.Conn, framing: Framing) {
    this.conn = conn;
    this.#framing = framing;
    this.closed = this.#receive();
    this.closed.catch(() => {}); // observed by whoever awaits it
  }

  /** Connects to `server` trusting its CA. */
  static async connect(
    server: Pick<TestServer, "port" | "caFile"> & { hub?: TestServer["hub"] },
    options: { framing?: Framing; plain?: boolean; alpn?: string[] } = {},
  ): Promise<TestClient> {
    const conn = options.alpn
      ? await connectWithAlpn(server, options.alpn)
      : await connectToServer({
        hostname: "localhost",
        port: server.port,
        caFile: server.caFile,
        plain: options.plain,
      });
    const client = new TestClient(conn, options.framing ?? "le32");
    const { hub } = server;
    if (hub) await waitFor(() => hub.size > 0, 5000, "the server to register the client");
    return client;
  }

  /** Sends each message as one frame, all in one write. */
  async send(...messages: string[]): Promise<void> {
    await this.sendRaw(concatBytes(messages.map((message) => encodeFrame(message, this.#framing))));
  }

  /** Writes raw bytes. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Waits until at least `count` messages have arrived. */
  waitForMessages(count: number, timeoutMs = 10_000): Promise<string[]> {
    return waitFor(
      () => this.received.length >= count && this.received,
      timeoutMs,
      `${count} messages (have ${this.received.length})`,
    );
  }

  /** Half-closes, waits for the server to close, closes. */
  async finish(): Promise<void> {
    await this.conn.closeWrite();
    await this.closed;
    this.close();
  }

  /** Closes at once. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }

  async #receive(): Promise<void> {
    const frames = readFrameBatches(this.conn, { framing: this.#framing, maxFrame: 64 << 20 });
    try {
      for await (const { payloads } of frames) {
        for (const payload of payloads) this.received.push(text.decode(payload));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error; // else: we closed it
    }
  }
}

/** A TLS connection offering `alpn` (e.g. `tlspush/2`), handshake done. */
async function connectWithAlpn(
  server: Pick<TestServer, "port" | "caFile">,
  alpn: string[],
): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.port,
    caCerts: [await Deno.readTextFile(server.caFile)],
    alpnProtocols: alpn,
  });
  await conn.handshake();
  return conn;
}

/** A raw little-endian frame header. */
export function header(length: number, littleEndian = true): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, length, littleEndian);
  return bytes;
}

/** A fresh temporary certs directory (the server creates its CA there). */
export async function tempCertsDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "tlspush-test-certs-" });
}

/** Fails unless `stderr` matches `pattern`, holds no stack trace and is one line (and a hint). */
export function assertOneCleanLine(stderr: string, pattern: RegExp): void {
  assert(pattern.test(stderr), `stderr matches ${pattern}: ${stderr}`);
  assert(!/Stack backtrace|^\s+at /m.test(stderr), `no stack trace: ${stderr}`);
  assert(stderr.trim().split("\n").length <= 2, `one line and at most a hint: ${stderr}`);
}

/** A seeded PRNG (mulberry32): the same seed gives the same data on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
