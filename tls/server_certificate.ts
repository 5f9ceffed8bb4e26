/**
 * The certificate a server listens with: the user's `--cert/--key` files, or a fresh leaf from
 * the local CA (see `certificates.ts`), with what the log should say about it.
 *
 * @example
 * ```ts
 * import { loadServerCertificate } from "./server_certificate.ts";
 * const loaded = await loadServerCertificate({ certsDir: "certs", sans: [] });
 * for (const line of loaded.notes) console.log(line);
 * Deno.listenTls({ hostname: "127.0.0.1", port: 9002, cert: loaded.cert, key: loaded.key });
 * ```
 * @module
 */
import { describeError } from "../util/errors.ts";
import { checkCertificatePair } from "./certificate_check.ts";
import { CertificateError, ensureCertificates } from "./certificates.ts";

/** Where the certificate comes from. */
export interface CertificateSource {
  /** Directory of the local CA and the generated leaf. */
  certsDir: string;
  /** Extra subjectAltNames for the generated leaf. */
  sans: string[];
  /** A user-supplied certificate file (PEM), with {@link key}. */
  cert?: string;
  /** A user-supplied private key file (PEM), with {@link cert}. */
  key?: string;
  /** Validity of a generated leaf in ms (default 90 days; short in tests of renewal). */
  leafLifetimeMs?: number;
}

/** A certificate and key to serve, and what to log about them. */
export interface LoadedCertificate {
  /** PEM of the certificate (chain). */
  cert: string;
  /** PEM of the private key. */
  key: string;
  /** The CA file clients should trust, when the certificate was generated. */
  caPath?: string;
  /** Lines for the log: the CA, its fingerprint, the names covered. */
  notes: string[];
  /** When it was issued (generated) or when its validity began (files). */
  issuedAt: Date;
  /** End of its validity. */
  notAfter: Date;
  /** End of the local CA's validity, when the certificate was generated. */
  caNotAfter?: Date;
}

/**
 * Reads the user's certificate, or issues one from the local CA; throws `CertificateError`
 * saying what is wrong (unreadable file, damaged CA, no permission to write the certs directory).
 *
 * @example
 * ```ts
 * import { CertificateError } from "./certificates.ts";
 * import { loadServerCertificate } from "./server_certificate.ts";
 * try {
 *   await loadServerCertificate({ certsDir: "certs", sans: [], cert: "a.pem", key: "a-key.pem" });
 * } catch (error) {
 *   if (error instanceof CertificateError) console.error(error.message);
 * }
 * ```
 */
export async function loadServerCertificate(source: CertificateSource): Promise<LoadedCertificate> {
  if (source.cert && source.key) {
    const cert = await readPem(source.cert, "certificate");
    const key = await readPem(source.key, "key");
    let facts;
    try {
      facts = checkCertificatePair(cert, key);
    } catch (error) {
      throw new CertificateError(
        `${source.cert} and ${source.key}: ${describeError(error)}`,
        { cause: error },
      );
    }
    return {
      cert,
      key,
      notes: [
        `serving ${source.cert} (${facts.subject}, valid until ${facts.notAfter.toISOString()})`,
      ],
      issuedAt: facts.notBefore,
      notAfter: facts.notAfter,
    };
  }
  try {
    const made = await ensureCertificates({
      certsDir: source.certsDir,
      sans: source.sans,
      leafLifetimeMs: source.leafLifetimeMs,
    });
    return {
      cert: made.cert,
      key: made.key,
      caPath: made.caPath,
      issuedAt: made.issuedAt,
      notAfter: made.notAfter,
      caNotAfter: made.caNotAfter,
      notes: [
        `${made.caCreated ? "created a new" : "using the"} CA ${made.caPath} ` +
        `(SHA-256 ${made.caFingerprint}); clients trust it with --ca ${made.caPath}`,
        `server certificate for ${made.subjectAltNames.join(", ")}`,
      ],
    };
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      throw new CertificateError(
        `cannot write certificates to ${source.certsDir}: permission denied (${
          describeError(error)
        })`,
        { cause: error },
      );
    }
    throw error;
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new CertificateError(`cannot read ${what} file ${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
}
