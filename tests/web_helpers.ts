/**
 * Test helpers for the HTTPS/WebSocket endpoint: a WebSocket client that trusts the test CA,
 * fetch through the same trust, and a raw WebSocket handshake (to send any Origin, or to stop
 * reading like a stalled browser). Everything stays on loopback.
 *
 * @example
 * ```ts
 * import { startTestServer } from "./helpers.ts";
 * import { WsTestClient } from "./web_helpers.ts";
 * const server = await startTestServer();
 * const client = await WsTestClient.connect(server);
 * ```
 * @module
 */
import { type TestServer, waitFor } from "./helpers.ts";

/** Close of a WebSocket: its code and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

const httpClients = new Map<string, Deno.HttpClient>();

/** An HTTP client trusting the server's test CA (one per CA file, kept for the whole run). */
export async function trustingClient(server: TestServer): Promise<Deno.HttpClient> {
  let client = httpClients.get(server.caFile);
  if (!client) {
    client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(server.caFile)] });
    httpClients.set(server.caFile, client);
  }
  return client;
}

/** The port of the server's web endpoint. */
export function webPort(server: TestServer): number {
  if (!server.web) throw new Error("the server has no web endpoint");
  return server.web.address.port;
}

/** `https://localhost:PORT` of the server's web endpoint. */
export function webOrigin(server: TestServer): string {
  return `https://localhost:${webPort(server)}`;
}

/** Fetches `path` from the web endpoint, trusting the test CA. */
export async function webFetch(
  server: TestServer,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return await fetch(`${webOrigin(server)}${path}`, {
    ...init,
    redirect: "manual",
    client: await trustingClient(server),
  });
}

/** A `wss://` client of `/ws` that collects the messages it receives. */
export class WsTestClient {
  readonly socket: WebSocket;
  readonly received: string[] = [];
  /** Resolves with the close code and reason when the socket closes. */
  readonly closed: Promise<CloseInfo>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    const closed = Promise.withResolvers<CloseInfo>();
    this.closed = closed.promise;
    socket.onmessage = (event) => this.received.push(String(event.data));
    socket.onclose = (event) => closed.resolve({ code: event.code, reason: event.reason });
  }

  /** Opens `wss://localhost:PORT/ws` and waits until the server lists it. */
  static async connect(
    server: TestServer,
    options: { path?: string; protocols?: string[] } = {},
  ): Promise<WsTestClient> {
    const before = server.hub.size;
    const socket = new WebSocket(`wss://localhost:${webPort(server)}${options.path ?? "/ws"}`, {
      client: await trustingClient(server),
      protocols: options.protocols,
    });
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = (event) => reject(new Error((event as ErrorEvent).message));
    });
    const client = new WsTestClient(socket);
    await waitFor(() => server.hub.size > before, 5000, "the server to list the WebSocket client");
    return client;
  }

  /** Sends text messages. */
  send(...messages: string[]): void {
    for (const message of messages) this.socket.send(message);
  }

  /** Waits until at least `count` messages have arrived. */
  waitForMessages(count: number, timeoutMs = 10_000): Promise<string[]> {
    return waitFor(
      () => this.received.length >= count && this.received,
      timeoutMs,
      `${count} WebSocket messages (have ${this.received.length})`,
    );
  }

  /** Closes normally and waits for the close to complete. */
  async close(): Promise<CloseInfo> {
    if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, "bye");
    return await this.closed;
  }
}

/** A WebSocket handshake done by hand over TLS: the response status, then a silent socket. */
export interface RawUpgrade {
  /** HTTP status of the handshake (101 when accepted). */
  status: number;
  /** The TLS connection (after a 101, WebSocket frames from the server arrive on it). */
  conn: Deno.TlsConn;
}

/** Sends a WebSocket upgrade request for `path` with extra `headers` and reads the status. */
export async function rawUpgrade(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawUpgrade> {
  const port = webPort(server);
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port,
    caCerts: [await Deno.readTextFile(server.caFile)],
  });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: localhost:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  // Read the response head only (a byte at a time, so no WebSocket frame is consumed).
  let head = "";
  const byte = new Uint8Array(1);
  while (!head.endsWith("\r\n\r\n") && head.length < 8192) {
    if ((await conn.read(byte)) === null) break;
    head += String.fromCharCode(byte[0]);
  }
  const status = Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
  return { status, conn };
}
