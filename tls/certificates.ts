/**
 * The certificate step, done with Web Crypto: a local CA kept in the certs directory and reused
 * while valid (so clients keep trusting the server across restarts), and a fresh ECDSA P-256
 * leaf signed by it at every start.
 *
 * `scripts/gen-cert.ts` (`deno task gen-cert`) runs this step alone; the server calls
 * {@link ensureCertificates} at startup.
 *
 * @example
 * ```ts
 * import { ensureCertificates } from "./certificates.ts";
 * const { cert, key, caPath, caFingerprint } = await ensureCertificates({ certsDir: "certs" });
 * ```
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { TlspushError } from "../util/errors.ts";

x509.cryptoProvider.set(crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The CA lives ten years; a new one is made only when it is about to expire. */
const CA_LIFETIME_DAYS = 3650;
/** A leaf is made at every start (and renewed while running); 90 days is within what browsers accept. */
const LEAF_LIFETIME_DAYS = 90;
/**
 * How long a generated leaf is valid by default, in ms.
 *
 * @example
 * ```ts
 * import { DEFAULT_LEAF_LIFETIME_MS } from "./certificates.ts";
 * DEFAULT_LEAF_LIFETIME_MS / 86_400_000; // 90 days
 * ```
 */
export const DEFAULT_LEAF_LIFETIME_MS = LEAF_LIFETIME_DAYS * DAY_MS;

/** What the server needs to listen, and what it prints for clients. */
export interface ServerCertificate {
  /** PEM of the leaf certificate. */
  cert: string;
  /** PEM (PKCS#8) of the leaf's private key. */
  key: string;
  /** Path of the CA certificate clients should trust. */
  caPath: string;
  /** SHA-256 fingerprint of the CA certificate, colon-separated hex. */
  caFingerprint: string;
  /** True when this call created a new CA (clients must trust it anew). */
  caCreated: boolean;
  /** Names and addresses the leaf is valid for. */
  subjectAltNames: string[];
  /** When the leaf was issued (its life is counted from here, for renewal). */
  issuedAt: Date;
  /** End of the leaf's validity. */
  notAfter: Date;
  /** End of the CA's validity. */
  caNotAfter: Date;
}

/** Options of {@link ensureCertificates}. */
export interface CertificateOptions {
  /** Directory of `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`. */
  certsDir: string;
  /** Extra subjectAltNames (host names or IP addresses). */
  sans?: string[];
  /** Replaces the default names (localhost, 127.0.0.1, ::1, this host) when given. */
  names?: string[];
  /** Validity of the leaf in ms (default {@link DEFAULT_LEAF_LIFETIME_MS}; short in tests). */
  leafLifetimeMs?: number;
}

/**
 * Raised when a certificate cannot be made, read or used; the message says what to do.
 *
 * @example
 * ```ts
 * import { CertificateError, ensureCertificates } from "./certificates.ts";
 * try {
 *   await ensureCertificates({ certsDir: "certs" });
 * } catch (error) {
 *   if (error instanceof CertificateError) console.error(error.message); // says what to delete
 * }
 * ```
 */
export class CertificateError extends TlspushError {}

/**
 * Loads or creates the CA, then issues and writes a fresh leaf.
 *
 * @example
 * ```ts
 * import { ensureCertificates } from "./certificates.ts";
 * const { cert, key, caPath } = await ensureCertificates({ certsDir: "certs" });
 * const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 9002, cert, key });
 * console.log(`clients trust ${caPath}`);
 * ```
 */
export async function ensureCertificates(options: CertificateOptions): Promise<ServerCertificate> {
  const dir = options.certsDir;
  await Deno.mkdir(dir, { recursive: true });
  const { ca, caCreated } = await ensureCa(dir);
  const subjectAltNames = options.names ?? defaultNames(options.sans ?? []);
  const issuedAt = new Date();
  const lifetimeMs = options.leafLifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS;
  const leaf = await createLeaf(ca, subjectAltNames, "server", lifetimeMs);
  await Deno.writeTextFile(`${dir}/server.pem`, leaf.cert);
  await writeSecret(`${dir}/server-key.pem`, leaf.key);
  return {
    cert: leaf.cert,
    key: leaf.key,
    caPath: `${dir}/ca.pem`,
    caFingerprint: await fingerprint(ca.cert),
    caCreated,
    subjectAltNames,
    issuedAt,
    notAfter: new Date(issuedAt.getTime() + lifetimeMs),
    caNotAfter: ca.cert.notAfter,
  };
}

/** A client certificate issued by the local CA, and where it was written. */
export interface ClientCertificate {
  /** Path of the certificate (PEM). */
  certPath: string;
  /** Path of its private key (PEM, mode 0600). */
  keyPath: string;
  /** End of its validity. */
  notAfter: Date;
}

/**
 * Issues a client certificate for `name` (its subject CN) from the local CA of `certsDir` (made
 * if missing) and writes `DIR/client-NAME.pem` and `DIR/client-NAME-key.pem` (0600). A server
 * started with `--client-ca DIR/ca.pem` accepts it, and knows the client as `name`.
 *
 * @example
 * ```ts
 * import { issueClientCertificate } from "./certificates.ts";
 * const { certPath, keyPath } = await issueClientCertificate("certs", "alice");
 * // tlspush-client --cert certs/client-alice.pem --key certs/client-alice-key.pem
 * ```
 */
export async function issueClientCertificate(
  certsDir: string,
  name: string,
  lifetimeMs: number = DEFAULT_LEAF_LIFETIME_MS,
): Promise<ClientCertificate> {
  await Deno.mkdir(certsDir, { recursive: true });
  const { ca } = await ensureCa(certsDir);
  const leaf = await createLeaf(ca, [name], "client", lifetimeMs);
  const certPath = `${certsDir}/client-${name}.pem`;
  const keyPath = `${certsDir}/client-${name}-key.pem`;
  await writeSecret(keyPath, leaf.key);
  await Deno.writeTextFile(certPath, leaf.cert);
  return { certPath, keyPath, notAfter: new Date(Date.now() + lifetimeMs) };
}

/** Loads the CA of `dir`, or makes (and writes) a new one. */
async function ensureCa(dir: string): Promise<{ ca: Ca; caCreated: boolean }> {
  const caPath = `${dir}/ca.pem`;
  const caKeyPath = `${dir}/ca-key.pem`;
  const loaded = await loadCa(caPath, caKeyPath);
  if (loaded) return { ca: loaded, caCreated: false };
  const ca = await createCa();
  await writeSecret(caKeyPath, ca.keyPem);
  await Deno.writeTextFile(caPath, ca.cert.toString("pem") + "\n");
  return { ca, caCreated: true };
}

/**
 * SHA-256 fingerprint of a certificate as `AB:CD:...`.
 *
 * @example
 * ```ts
 * import * as x509 from "@peculiar/x509";
 * import { fingerprint } from "./certificates.ts";
 * const ca = new x509.X509Certificate(await Deno.readTextFile("certs/ca.pem"));
 * await fingerprint(ca); // "AB:CD:...": 32 colon-separated bytes
 * ```
 */
export async function fingerprint(cert: x509.X509Certificate): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", cert.rawData));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

interface Ca {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair | { privateKey: CryptoKey };
  keyPem: string;
}

async function loadCa(caPath: string, caKeyPath: string): Promise<Ca | undefined> {
  let certPem: string, keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([
      Deno.readTextFile(caPath),
      Deno.readTextFile(caKeyPath),
    ]);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  let cert: x509.X509Certificate, privateKey: CryptoKey;
  try {
    cert = new x509.X509Certificate(certPem);
    privateKey = await crypto.subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(keyPem),
      ALGORITHM,
      false,
      ["sign"],
    );
  } catch {
    throw new CertificateError(
      `${caPath} or ${caKeyPath} is not a valid ECDSA P-256 CA; delete both to create a new CA`,
    );
  }
  // Expiring soon: replace it now rather than issue leaves that outlive it.
  if (cert.notAfter.getTime() - Date.now() < LEAF_LIFETIME_DAYS * DAY_MS) return undefined;
  return { cert, keys: { privateKey }, keyPem };
}

async function createCa(): Promise<Ca> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=tlspush local CA (${hostname()})`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_LIFETIME_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, keyPem: await privateKeyPem(keys.privateKey) };
}

async function createLeaf(
  ca: Ca,
  names: string[],
  usage: "server" | "client",
  lifetimeMs: number,
): Promise<{ cert: string; key: string }> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const now = Date.now();
  const server = usage === "server";
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${names[0]}`,
    issuer: ca.cert.subject,
    // Backdated an hour for clocks that run behind, and never before the CA itself.
    notBefore: new Date(Math.max(now - 60 * 60 * 1000, ca.cert.notBefore.getTime())),
    notAfter: new Date(now + lifetimeMs),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      // rustls rejects leaves marked CA:TRUE.
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(server
        ? [
          new x509.SubjectAlternativeNameExtension(
            names.map((name) => ({
              type: isIpAddress(name) ? "ip" as const : "dns" as const,
              value: name,
            })),
            false,
          ),
        ]
        : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString("pem") + "\n", key: await privateKeyPem(keys.privateKey) };
}

function defaultNames(extra: string[]): string[] {
  const names = ["localhost", "127.0.0.1", "::1", hostname(), ...extra];
  return [...new Set(names.filter((name) => name.length > 0))];
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return ""; // no --allow-sys=hostname: the certificate simply omits it
  }
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(":");
}

/** A random positive serial: 16 bytes, top bit clear, first byte non-zero (minimal DER). */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

/** Writes a private key: a new 0600 file renamed over the old one, never readable by others. */
async function writeSecret(path: string, text: string): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, text, { mode: 0o600, createNew: true });
  await Deno.rename(temporary, path);
}
