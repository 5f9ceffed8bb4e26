/**
 * Throwaway certificates for a benchmark run, made with the openssl CLI:
 * an ECDSA P-256 CA and a leaf like the ones tlspush makes (not a CA,
 * serverAuth, SANs localhost, 127.0.0.1 and ::1). Both servers serve the same
 * leaf, so neither gets a cheaper handshake from its key type.
 *
 * @module
 */

import { runOk } from "./exec.ts";

/** Paths of the generated files. */
export interface BenchCerts {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Creates the CA and leaf in `dir`.
 *
 * @example
 * ```ts
 * const certs = await makeCerts(await Deno.makeTempDir());
 * ```
 */
export async function makeCerts(dir: string): Promise<BenchCerts> {
  const p = (name: string) => `${dir}/${name}`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await runOk("openssl", [
    "req",
    "-x509",
    "-new",
    ...ec,
    "-keyout",
    p("ca-key.pem"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=tlspush bench CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await runOk("openssl", [
    "req",
    "-new",
    ...ec,
    "-keyout",
    p("leaf-key.pem"),
    "-out",
    p("leaf.csr"),
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    p("leaf.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    ].join("\n") + "\n",
  );
  const serial = "0x" + [...crypto.getRandomValues(new Uint8Array(15))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  await runOk("openssl", [
    "x509",
    "-req",
    "-in",
    p("leaf.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca-key.pem"),
    "-set_serial",
    serial,
    "-days",
    "2",
    "-sha256",
    "-extfile",
    p("leaf.ext"),
    "-out",
    p("leaf.pem"),
  ]);
  return { ca: p("ca.pem"), cert: p("leaf.pem"), key: p("leaf-key.pem") };
}
