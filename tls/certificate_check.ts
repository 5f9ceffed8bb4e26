/**
 * Checking a certificate and key before they are served: the certificate parses, the key is the
 * certificate's own, and today lies within its validity. A reload that fails this keeps the
 * current pair (DESIGN §9).
 *
 * @example
 * ```ts
 * import { checkCertificatePair } from "./certificate_check.ts";
 * const cert = await Deno.readTextFile("certs/server.pem");
 * const key = await Deno.readTextFile("certs/server-key.pem");
 * const { notAfter } = checkCertificatePair(cert, key);
 * console.log(`valid until ${notAfter.toISOString()}`);
 * ```
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { describeError } from "../util/errors.ts";
import { CertificateError } from "./certificates.ts";

/** What a valid pair's (first) certificate says about itself. */
export interface CertificateFacts {
  /** Its subject, e.g. `CN=example.com`. */
  subject: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
}

/**
 * Checks `cert` (PEM, leaf first) against `key` (PEM) at `now`; throws `CertificateError`
 * saying what is wrong.
 *
 * @example
 * ```ts
 * import { CertificateError } from "./certificates.ts";
 * import { checkCertificatePair } from "./certificate_check.ts";
 * try {
 *   checkCertificatePair("not a certificate", "not a key");
 * } catch (error) {
 *   if (error instanceof CertificateError) console.error(error.message); // "... does not parse"
 * }
 * ```
 */
export function checkCertificatePair(
  cert: string,
  key: string,
  now: Date = new Date(),
): CertificateFacts {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new CertificateError(`the certificate does not parse: ${describeError(error)}`, {
      cause: error,
    });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new CertificateError(`the key does not parse: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new CertificateError("the key does not belong to the certificate");
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore) {
    throw new CertificateError(`the certificate is not valid before ${notBefore.toISOString()}`);
  }
  if (now >= notAfter) {
    throw new CertificateError(`the certificate expired on ${notAfter.toISOString()}`);
  }
  return { subject: certificate.subject.replaceAll("\n", ", "), notBefore, notAfter };
}
