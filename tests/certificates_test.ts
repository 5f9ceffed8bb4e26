import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { CertificateError, ensureCertificates, fingerprint } from "../tls/certificates.ts";

Deno.test("the CA is created once and reused; every start gets a fresh leaf", async () => {
  const certsDir = await Deno.makeTempDir();
  const first = await ensureCertificates({ certsDir });
  const second = await ensureCertificates({ certsDir });
  assert(first.caCreated && !second.caCreated);
  assertEquals(second.caFingerprint, first.caFingerprint);
  const leafA = new x509.X509Certificate(first.cert);
  const leafB = new x509.X509Certificate(second.cert);
  assert(leafA.serialNumber !== leafB.serialNumber, "a new serial");
  assert(first.key !== second.key, "a new key");
  assertEquals(await Deno.readTextFile(`${certsDir}/server.pem`), second.cert);
  for (const secret of ["ca-key.pem", "server-key.pem"]) {
    assertEquals((await Deno.stat(`${certsDir}/${secret}`)).mode! & 0o777, 0o600, secret);
  }
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("the leaf is a P-256 serverAuth end-entity certificate signed by the CA", async () => {
  const certsDir = await Deno.makeTempDir();
  const result = await ensureCertificates({ certsDir, sans: ["push.example", "10.1.2.3"] });
  const leaf = new x509.X509Certificate(result.cert);
  const ca = new x509.X509Certificate(await Deno.readTextFile(result.caPath));
  assert(await leaf.verify({ publicKey: ca.publicKey }), "signed by the CA");
  assertEquals(leaf.signatureAlgorithm.name, "ECDSA");
  assertEquals((leaf.signatureAlgorithm as EcdsaParams).hash, { name: "SHA-256" });
  assertEquals((leaf.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  assert(!leaf.getExtension(x509.BasicConstraintsExtension)!.ca, "not a CA");
  assert(ca.getExtension(x509.BasicConstraintsExtension)!.ca, "the CA is a CA");
  const usages = leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages;
  assertEquals([...usages], [x509.ExtendedKeyUsage.serverAuth]);
  const names = leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()
    .map((name) => name.value);
  for (const expected of ["localhost", "127.0.0.1", "push.example", "10.1.2.3"]) {
    assert(names.includes(expected), `SAN ${expected} in ${names}`);
  }
  assert(names.some((name) => name === "::1" || name === "0:0:0:0:0:0:0:1"), `::1 in ${names}`);
  assert(parseInt(leaf.serialNumber.slice(0, 2), 16) < 0x80, "positive serial");
  assertEquals(result.caFingerprint, await fingerprint(ca));
  assert(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(result.caFingerprint));
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a key file left world-readable is replaced by a 0600 one, never loosened", async () => {
  const certsDir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${certsDir}/server-key.pem`, "old", { mode: 0o644 });
  await Deno.chmod(`${certsDir}/server-key.pem`, 0o644);
  await ensureCertificates({ certsDir });
  assertEquals((await Deno.stat(`${certsDir}/server-key.pem`)).mode! & 0o777, 0o600);
  const leftovers = [...Deno.readDirSync(certsDir)].filter((entry) => entry.name.endsWith(".tmp"));
  assertEquals(leftovers, []);
  await Deno.remove(certsDir, { recursive: true });
});

Deno.test("a damaged CA file is reported with what to do, not silently replaced", async () => {
  const certsDir = await Deno.makeTempDir();
  await ensureCertificates({ certsDir });
  await Deno.writeTextFile(`${certsDir}/ca.pem`, "not a certificate");
  await assertRejects(ensureCertificates({ certsDir }), CertificateError, "delete both");
  await Deno.remove(certsDir, { recursive: true });
});
