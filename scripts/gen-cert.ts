/**
 * `deno task gen-cert`: makes (or reuses) the local CA and issues a server certificate, the
 * same step the server does at startup (see `tls/certificates.ts`).
 *
 * @example
 * ```sh
 * deno task gen-cert --certs-dir certs --san myhost.example
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { ensureCertificates, issueClientCertificate } from "../tls/certificates.ts";

const USAGE = `Usage: deno task gen-cert [--certs-dir DIR] [--san NAME]... [--client NAME]

Creates (or reuses) the local CA in DIR (default certs/) and issues a fresh server
certificate signed by it: DIR/server.pem and DIR/server-key.pem.

  --certs-dir DIR   where the CA and server certificate live (default certs)
  --san NAME        extra host name or IP address for the certificate (repeatable)
  --client NAME     issue a client certificate for NAME instead (its subject CN):
                    DIR/client-NAME.pem and DIR/client-NAME-key.pem, for a server
                    started with --client-ca DIR/ca.pem
  --help            show this help`;

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        "certs-dir": { type: "string", default: "certs" },
        san: { type: "string", multiple: true, default: [] },
        client: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`gen-cert: ${(error as Error).message}\nTry --help.`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const client = values.client;
  if (client !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(client)) {
    console.error(
      `gen-cert: --client must be 1 to 64 of A-Z a-z 0-9 . _ @ - (a file name), got '${client}'`,
    );
    Deno.exit(2);
  }
  try {
    if (client !== undefined) {
      const issued = await issueClientCertificate(values["certs-dir"], client);
      console.log(`client certificate ${issued.certPath} and key ${issued.keyPath} for ${client}`);
      console.log(
        `valid until ${issued.notAfter.toISOString()}; connect with ` +
          `--cert ${issued.certPath} --key ${issued.keyPath}`,
      );
      Deno.exit(0);
    }
    const result = await ensureCertificates({ certsDir: values["certs-dir"], sans: values.san });
    console.log(`${result.caCreated ? "created" : "reused"} CA ${result.caPath}`);
    console.log(`CA SHA-256 fingerprint ${result.caFingerprint}`);
    console.log(
      `server certificate ${values["certs-dir"]}/server.pem for ${
        result.subjectAltNames.join(", ")
      }`,
    );
  } catch (error) {
    console.error(`gen-cert: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
