/**
 * Keeps the served certificate current while the server runs (DESIGN §9): a generated leaf is
 * re-issued at two thirds of its life, `--cert/--key` files are read again on {@link
 * CertificateKeeper.reload} (SIGHUP) and when they change on disk. A new pair is checked first
 * (`certificate_check.ts`); a bad one is refused with a log line and the current one kept.
 * Listeners subscribe with {@link CertificateKeeper.onChange}.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { CertificateKeeper } from "./certificate_keeper.ts";
 * const keeper = await CertificateKeeper.start({ certsDir: "certs", sans: [] }, new Logger());
 * keeper.onChange((certificate) => console.log(`now valid until ${certificate.notAfter}`));
 * keeper.close();
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import {
  type CertificateSource,
  type LoadedCertificate,
  loadServerCertificate,
} from "./server_certificate.ts";

/** A user certificate with less than this left is warned about in the log. */
const EXPIRY_WARNING_MS = 14 * 24 * 60 * 60 * 1000;
/** The local CA is warned about this long before its end. */
const CA_WARNING_MS = 365 * 24 * 60 * 60 * 1000;
/** How often a user certificate's remaining life is looked at. */
const EXPIRY_CHECK_MS = 12 * 60 * 60 * 1000;
/** Files changed together (certificate, then key) are read once, after the last change. */
const WATCH_DEBOUNCE_MS = 300;
/** Why a reload started from the file watcher. */
const FILES_CHANGED = "certificate files changed";
/** setTimeout's longest delay; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Gets told of every new certificate; it has been checked already. */
export type CertificateListener = (certificate: LoadedCertificate) => Promise<void> | void;

/**
 * The current certificate and what keeps it current.
 *
 * @example
 * ```ts
 * import { Logger } from "../util/logger.ts";
 * import { CertificateKeeper } from "./certificate_keeper.ts";
 * const keeper = await CertificateKeeper.start(
 *   { certsDir: "certs", sans: [], cert: "site.pem", key: "site-key.pem" },
 *   new Logger(),
 * );
 * await keeper.reload(); // SIGHUP: read the files again
 * keeper.close();
 * ```
 */
export class CertificateKeeper {
  readonly #source: CertificateSource;
  readonly #logger: Logger;
  readonly #listeners: CertificateListener[] = [];
  #current: LoadedCertificate;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #watcher: Deno.FsWatcher | undefined;
  #closed = false;
  /** Reloads run one after the other. */
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(source: CertificateSource, logger: Logger, first: LoadedCertificate) {
    this.#source = source;
    this.#logger = logger;
    this.#current = first;
  }

  /** Loads the first certificate (throws `CertificateError`), then keeps it current. */
  static async start(source: CertificateSource, logger: Logger): Promise<CertificateKeeper> {
    const keeper = new CertificateKeeper(source, logger, await loadServerCertificate(source));
    keeper.#schedule();
    if (keeper.#userFiles) keeper.#watch();
    return keeper;
  }

  /** The certificate served now. */
  get current(): LoadedCertificate {
    return this.#current;
  }

  /** Calls `listener` with every new certificate, in order; a reload waits for it. */
  onChange(listener: CertificateListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Reads `--cert/--key` again (a generated leaf is re-issued); resolves to whether the new pair
   * is served now. A bad pair is logged and the current one kept.
   */
  reload(why = "reload requested"): Promise<boolean> {
    const run = this.#chain.then(() => this.#reload(why));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Stops renewing and watching. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
  }

  get #userFiles(): boolean {
    return this.#source.cert !== undefined && this.#source.key !== undefined;
  }

  async #reload(why: string): Promise<boolean> {
    if (this.#closed) return false;
    const what = this.#userFiles ? `${this.#source.cert} and ${this.#source.key}` : "certificate";
    let next: LoadedCertificate;
    try {
      next = await loadServerCertificate(this.#source);
    } catch (error) {
      this.#logger.error(`${why}: kept the current certificate: ${describeError(error)}`);
      return false;
    }
    if (this.#userFiles && next.cert === this.#current.cert && next.key === this.#current.key) {
      // Another file of the watched directory changed: nothing to say.
      if (why !== FILES_CHANGED) this.#logger.info(`${why}: ${what} unchanged`);
      return false;
    }
    for (const listener of this.#listeners) await listener(next);
    this.#current = next;
    this.#logger.info(
      `${why}: ${this.#userFiles ? `reloaded ${what}` : "renewed the server certificate"}, ` +
        `valid until ${next.notAfter.toISOString()}`,
    );
    this.#schedule();
    return true;
  }

  /** Sets the next renewal (generated leaf) or expiry check (user files), and warns early. */
  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    const { issuedAt, notAfter, caNotAfter } = this.#current;
    const now = Date.now();
    let at: number;
    if (this.#userFiles) {
      const left = notAfter.getTime() - now;
      if (left < EXPIRY_WARNING_MS) {
        this.#logger.info(
          `warning: ${this.#source.cert} expires on ${notAfter.toISOString()} ` +
            `(in ${
              formatDays(left)
            }): renew it; the server reloads it on SIGHUP or when it changes`,
        );
      }
      at = now + EXPIRY_CHECK_MS;
    } else {
      if (caNotAfter && caNotAfter.getTime() - now < CA_WARNING_MS) {
        this.#logger.info(
          `warning: the local CA expires on ${caNotAfter.toISOString()} ` +
            `(in ${formatDays(caNotAfter.getTime() - now)}): a restart close to its end makes ` +
            `a new one, and every client must then trust the new ca.pem`,
        );
      }
      // Renew at two thirds of its life: well ahead, and within any clock skew.
      at = issuedAt.getTime() + (notAfter.getTime() - issuedAt.getTime()) * 2 / 3;
    }
    const wait = (target: number) => {
      const delay = Math.max(0, target - Date.now());
      this.#timer = setTimeout(
        () => delay > MAX_TIMER_MS ? wait(target) : this.#onTimer(),
        Math.min(delay, MAX_TIMER_MS),
      );
      Deno.unrefTimer(this.#timer);
    };
    wait(at);
  }

  #onTimer(): void {
    if (this.#userFiles) this.#schedule();
    else this.reload("renewal due");
  }

  /** Watches the directories of the files: certbot replaces symlinks there, not the files. */
  #watch(): void {
    const files = [this.#source.cert!, this.#source.key!];
    const dirs = [...new Set(files.map(directoryOf))];
    try {
      this.#watcher = Deno.watchFs(dirs, { recursive: false });
    } catch (error) {
      this.#logger.info(
        `warning: cannot watch ${dirs.join(", ")} (${describeError(error)}): ` +
          `send SIGHUP to reload the certificate`,
      );
      return;
    }
    (async () => {
      let debounce: ReturnType<typeof setTimeout> | undefined;
      try {
        for await (const event of this.#watcher!) {
          if (event.kind === "access") continue;
          clearTimeout(debounce);
          debounce = setTimeout(() => this.reload(FILES_CHANGED), WATCH_DEBOUNCE_MS);
        }
      } catch {
        // closed
      } finally {
        clearTimeout(debounce);
      }
    })();
  }
}

function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

function formatDays(ms: number): string {
  const days = ms / (24 * 60 * 60 * 1000);
  return days >= 1 ? `${Math.floor(days)} days` : `${Math.max(0, Math.round(ms / 60_000))} min`;
}
