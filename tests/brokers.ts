/**
 * Real broker servers for the tests: `redis-server` and `nats-server -js` (Debian's packages),
 * each on a free 127.0.0.1 port with its own temporary directory, killed, paused, restarted and
 * stopped on demand. A test whose binary is missing fails when `CI` is set (CI installs them)
 * and is skipped otherwise.
 *
 * @example
 * ```ts
 * import { brokerTest, startBrokerServer } from "./brokers.ts";
 * brokerTest("redis", "publishes", async () => {
 *   const server = await startBrokerServer("redis");
 *   try {
 *     console.log(server.url); // redis://127.0.0.1:PORT
 *   } finally {
 *     await server.stop();
 *   }
 * });
 * ```
 * @module
 */
import type { BrokerKind } from "../broker/broker_url.ts";

const BINARIES: Record<BrokerKind, string[]> = {
  redis: ["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
  nats: ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"],
};

/** The path of the server binary for `kind`, or undefined when it is not installed. */
export function brokerBinary(kind: BrokerKind): string | undefined {
  return BINARIES[kind].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/**
 * Registers a test that needs the `kind` server: skipped when it is missing, unless `CI` is
 * set, where it fails saying what to install.
 */
export function brokerTest(kind: BrokerKind, name: string, fn: () => Promise<void>): void {
  const present = brokerBinary(kind) !== undefined;
  const ci = Boolean(Deno.env.get("CI"));
  Deno.test({
    name: `${kind}: ${name}`,
    ignore: !present && !ci,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: present ? fn : () => {
      throw new Error(
        `${kind} server binary not found (${BINARIES[kind].join(", ")}): ` +
          `apt-get install ${kind === "redis" ? "redis-server" : "nats-server"}`,
      );
    },
  });
}

/** Extra settings for a test server. */
export interface BrokerServerOptions {
  /** Redis `requirepass` / NATS `--pass` (with user `tlspush` for NATS). */
  password?: string;
  /** Redis: keep data across `restart(true)` (append-only file). NATS always keeps it there. */
  persistent?: boolean;
  /** Redis: serve TLS only (`rediss://`), with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
}

/** A broker server process owned by a test. */
export class BrokerServer {
  readonly kind: BrokerKind;
  readonly port: number;
  /** Its data and log directory. */
  readonly dir: string;
  readonly #options: BrokerServerOptions;
  #child: Deno.ChildProcess | undefined;

  private constructor(kind: BrokerKind, port: number, dir: string, options: BrokerServerOptions) {
    this.kind = kind;
    this.port = port;
    this.dir = dir;
    this.#options = options;
  }

  /** `redis://127.0.0.1:PORT` or `nats://127.0.0.1:PORT` (with the password, if any). */
  get url(): string {
    const password = this.#options.password;
    if (this.kind === "redis") {
      const scheme = this.#options.tls ? "rediss" : "redis";
      return `${scheme}://${
        password ? `:${encodeURIComponent(password)}@` : ""
      }127.0.0.1:${this.port}`;
    }
    return `nats://${
      password ? `tlspush:${encodeURIComponent(password)}@` : ""
    }127.0.0.1:${this.port}`;
  }

  /** Starts a server of `kind` on a free port with a fresh directory; waits until it listens. */
  static async start(kind: BrokerKind, options: BrokerServerOptions = {}): Promise<BrokerServer> {
    const dir = await Deno.makeTempDir({ prefix: `tlspush-${kind}-` });
    const server = new BrokerServer(kind, await freePort(), dir, options);
    await server.#spawn();
    return server;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Sends `signal` (SIGKILL: the broker dies mid-run) and, unless pausing, waits for the exit. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    try {
      child.kill(signal);
    } catch {
      // exited already
    }
    if (signal === "SIGSTOP" || signal === "SIGCONT") return;
    await child.status;
    this.#child = undefined;
  }

  /** Freezes the process (a broker that stops answering). */
  async pause(): Promise<void> {
    await this.kill("SIGSTOP");
  }

  /** Lets a paused process run again. */
  async resume(): Promise<void> {
    await this.kill("SIGCONT");
  }

  /**
   * Starts it again on the same port. Without `keepData`, its data directory is emptied first:
   * a broker restarted without its data (Redis keeps none unless started `persistent`).
   */
  async restart(keepData = false): Promise<void> {
    await this.kill("SIGKILL");
    if (!keepData) {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
      await Deno.mkdir(this.dir, { recursive: true });
    }
    await this.#spawn();
  }

  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child) {
      try {
        child.kill("SIGCONT");
        child.kill("SIGTERM");
      } catch {
        // exited already
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited already
        }
      }, 5_000);
      await child.status;
      clearTimeout(timer);
      this.#child = undefined;
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** The server's own log (for a failing test's message). */
  async log(): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/server.log`).catch(() => "");
  }

  async #spawn(): Promise<void> {
    const binary = brokerBinary(this.kind);
    if (!binary) throw new Error(`${this.kind} server binary not found`);
    const password = this.#options.password;
    const logStart = (await this.log()).length;
    const tls = this.#options.tls;
    const args = this.kind === "redis"
      ? [
        ...(tls
          ? [
            "--port",
            "0",
            "--tls-port",
            String(this.port),
            "--tls-cert-file",
            tls.certFile,
            "--tls-key-file",
            tls.keyFile,
            "--tls-auth-clients",
            "no",
          ]
          : ["--port", String(this.port)]),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        this.#options.persistent ? "yes" : "no",
        "--appendfsync",
        "always",
        "--dir",
        this.dir,
        "--logfile",
        `${this.dir}/server.log`,
        ...(password ? ["--requirepass", password] : []),
      ]
      : [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(this.port),
        "-sd",
        this.dir,
        "-l",
        `${this.dir}/server.log`,
        ...(password ? ["--user", "tlspush", "--pass", password] : []),
      ];
    this.#child = new Deno.Command(binary, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    while (true) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        // NATS accepts TCP a moment before JetStream is ready: give it the moment.
        if (this.kind === "nats") await waitForLog(this, logStart, /Server is ready/, deadline);
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `${this.kind} did not start on ${this.port}: ${error}\n${await this.log()}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

/** Starts a `kind` server (see `BrokerServer.start`). */
export function startBrokerServer(
  kind: BrokerKind,
  options: BrokerServerOptions = {},
): Promise<BrokerServer> {
  return BrokerServer.start(kind, options);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await Promise.resolve();
  return port;
}

async function waitForLog(
  server: BrokerServer,
  from: number,
  pattern: RegExp,
  deadline: number,
): Promise<void> {
  while (!pattern.test((await server.log()).slice(from))) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the ${server.kind} log`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A loopback TCP proxy in front of a broker, to cut one instance's connection while the
 * others keep theirs: `cut()` closes every proxied connection and refuses new ones until
 * `restore()`.
 */
export class TcpProxy {
  readonly port: number;
  readonly #targetPort: number;
  #listener: Deno.Listener | undefined;
  readonly #conns = new Set<Deno.Conn>();

  private constructor(port: number, targetPort: number) {
    this.port = port;
    this.#targetPort = targetPort;
  }

  /** A proxy on a free 127.0.0.1 port forwarding to `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    proxy.restore();
    return proxy;
  }

  /** `url` with its port replaced by the proxy's. */
  via(url: string): string {
    return url.replace(/:(\d+)$/, `:${this.port}`);
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.#listener?.close();
    this.#listener = undefined;
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
    this.#conns.clear();
  }

  /** Accepts and forwards again. */
  restore(): void {
    if (this.#listener) return;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    (async () => {
      for await (const client of listener) {
        try {
          const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#targetPort });
          this.#conns.add(client);
          this.#conns.add(upstream);
          const done = () => {
            for (const conn of [client, upstream]) {
              this.#conns.delete(conn);
              try {
                conn.close();
              } catch {
                // closed already
              }
            }
          };
          client.readable.pipeTo(upstream.writable, { preventClose: true }).catch(() => {})
            .finally(done);
          upstream.readable.pipeTo(client.writable, { preventClose: true }).catch(() => {})
            .finally(done);
        } catch {
          client.close();
        }
      }
    })().catch(() => {});
  }

  /** Stops for good. */
  stop(): void {
    this.cut();
  }
}
