/**
 * The ACL file (`--acl`): loading, every validation error named with the file and the entry,
 * reload (kept on error), a server's `reload()` (what SIGHUP calls), and the permissions an
 * identity gets through a peer, as a client certificate will give it.
 */
import { AccessList, parseAccessList } from "../auth/access_list.ts";
import { AccessListError } from "../auth/auth_errors.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { type CloseKind, PeerCore, type PeerSettings } from "../hub/peer_core.ts";
import { connectToServer } from "../client/connect.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { ensureCertificates, issueClientCertificate } from "../tls/certificates.ts";
import { Logger } from "../util/logger.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { startTestServer } from "./helpers.ts";

async function aclFile(content: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-acl-" });
  const path = `${dir}/acl.json`;
  await Deno.writeTextFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

Deno.test("an ACL file gives each identity its patterns; others get nothing", async () => {
  const path = await aclFile({
    "sensor-7": { pubs: ["metrics.sensor-7"] },
    "dashboard.example.com": { subs: ["metrics.*", "alerts"], pubs: [] },
  });
  const acl = await AccessList.load(path);
  assertEquals(acl.size, 2);
  const sensor = acl.lookup("sensor-7")!;
  assertEquals(sensor.source, "certificate");
  assertEquals(sensor.expiresAt, undefined);
  assert(sensor.mayPublish("metrics.sensor-7") && !sensor.maySubscribe("metrics.sensor-7"));
  assert(acl.lookup("dashboard.example.com")!.maySubscribe("metrics.cpu"));
  assertEquals(acl.lookup("stranger"), undefined);
});

Deno.test("ACL validation names the file, the entry and the problem", () => {
  const cases: [string, string][] = [
    ["{", "acl.json: not valid JSON"],
    ["[]", "acl.json: expected an object of identities"],
    ['{"a": []}', 'acl.json: entry "a": expected {"subs": [...], "pubs": [...]}'],
    ['{"a": {"sub": ["x"]}}', 'acl.json: entry "a": unknown field "sub"'],
    ['{"a": {"subs": "x"}}', 'acl.json: entry "a": "subs" must be a list'],
    ['{"a": {"pubs": ["x*y"]}}', 'acl.json: entry "a": "pubs": "x*y" is not a channel name'],
    ['{"": {}}', 'acl.json: entry "": an identity is 1 to 256 characters'],
    ['{"a\\nb": {}}', "no control characters"],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => parseAccessList(text, "acl.json"), AccessListError, message);
  }
});

Deno.test("reload: a changed file is taken, a broken one leaves the entries in force", async () => {
  const path = await aclFile({ alice: { subs: ["news"] } });
  const acl = await AccessList.load(path);
  assertEquals(await acl.reload(), { entries: 1, changed: false });
  await Deno.writeTextFile(path, JSON.stringify({ alice: { subs: ["*"] }, bob: {} }));
  assertEquals(await acl.reload(), { entries: 2, changed: true });
  assert(acl.lookup("alice")!.maySubscribe("anything"));
  await Deno.writeTextFile(path, '{"alice": {"subs": [1]}}');
  await assertRejects(acl.reload(), AccessListError, "is not a channel name");
  assertEquals(acl.size, 2, "the entries in force stay");
  await Deno.remove(path);
  await assertRejects(acl.reload(), AccessListError, "cannot be read");
  await assertRejects(AccessList.load(path), AccessListError, "cannot be read");
});

Deno.test("the server's reload() (SIGHUP) reloads --acl and logs the outcome; a bad file at start is one error", async () => {
  const path = await aclFile({ alice: { subs: ["news"] } });
  const server = await startTestServer({ acl: path, ws: false });
  assert(
    server.log.some((line) =>
      /authentication on: .*listed in .*acl\.json \(1 identity\)/.test(line)
    ),
  );
  await Deno.writeTextFile(path, JSON.stringify({ alice: {}, bob: {} }));
  await server.reload();
  await server.waitForLog(/ACL .*acl\.json reloaded: 2 identities/);
  await Deno.writeTextFile(path, "{oops");
  await server.reload();
  await server.waitForLog(/ACL not reloaded, the one in force is kept: .*not valid JSON/);
  await server.shutdown();
  await assertRejects(startTestServer({ acl: path, ws: false }), Error, "--acl ");
});

/** A peer without a transport that claims a certificate identity (as `--client-ca` will give). */
class CertifiedPeer extends PeerCore {
  readonly replies: string[] = [];
  readonly pushed: string[] = [];
  constructor(settings: PeerSettings, readonly name: string | undefined) {
    super(settings, "tls", "127.0.0.1:1");
  }
  get queuedBytes(): number {
    return 0;
  }
  protected get pushedBytes(): number {
    return 0;
  }
  protected get writtenBytes(): number {
    return 0;
  }
  protected override certificateIdentity(): string | undefined {
    return this.name;
  }
  protected send(message: OutgoingMessage): void {
    this.pushed.push(message.text);
  }
  protected flushed(): Promise<void> {
    return Promise.resolve();
  }
  protected reply(payload: Uint8Array): void {
    this.replies.push(new TextDecoder().decode(payload));
  }
  protected disconnect(_kind: CloseKind, _clean: boolean): void {}
  start(first?: string): Promise<void> {
    this.join();
    if (first !== undefined) this.negotiate(new TextEncoder().encode(first));
    return Promise.resolve();
  }
  run(command: string): Promise<void> {
    return this.command(new TextEncoder().encode(command));
  }
  end(): Promise<void> {
    return this.finish("done");
  }
}

Deno.test("a certificate identity in the ACL: v1 is served (broadcast only if allowed), v2 needs no AUTH", async () => {
  const path = await aclFile({
    "sensor-7": { subs: ["broadcast", "commands.sensor-7"], pubs: ["metrics.sensor-7"] },
    "quiet": { subs: [] },
  });
  const logger = new Logger({ write: () => {} });
  const hub = new Hub({ logger, maxFrame: 1 << 16 });
  const settings: PeerSettings = {
    hub,
    maxFrame: 1 << 16,
    maxPending: 1 << 20,
    relay: false,
    drainMs: 100,
    maxChannels: 10,
    auth: { accessList: await AccessList.load(path), timeoutMs: 60_000 },
  };
  const sensor = new CertifiedPeer(settings, "sensor-7");
  const quiet = new CertifiedPeer(settings, "quiet");
  const stranger = new CertifiedPeer(settings, "stranger");
  await sensor.start("hello");
  await quiet.start("hello");
  await stranger.start("hello");
  assert(!sensor.closing && !quiet.closing, "listed identities speak v1");
  assert(stranger.closing, "an identity without an entry is refused like any v1 client");
  await hub.publish(new OutgoingMessage("to everyone", { kind: "stdin" }));
  assertEquals(sensor.pushed, ["to everyone"]);
  assertEquals(quiet.pushed, [], "not allowed broadcast: not sent it");

  const v2 = new CertifiedPeer(settings, "sensor-7");
  await v2.start("HELLO tlspush/2");
  await v2.run("SUB commands.sensor-7");
  await v2.run("SUB commands.other");
  await v2.run("AUTH some.jwt.token");
  assert(/^OK SUB commands\.sensor-7 \d+$/.test(v2.replies[0]), v2.replies[0]);
  assertEquals(v2.replies.slice(1), [
    "ERR forbidden sensor-7 may not subscribe to commands.other",
    "ERR not-authenticated this server takes no tokens: it identifies clients by certificate",
  ]);
  for (const peer of [sensor, quiet, stranger, v2]) await peer.end();
});

Deno.test("--client-ca with --acl over real sockets: a listed certificate is served as v1, an unlisted one refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tlspush-acl-mtls-" });
  await ensureCertificates({ certsDir: dir });
  const path = `${dir}/acl.json`;
  await Deno.writeTextFile(path, JSON.stringify({ "sensor-7": { subs: ["broadcast"] } }));
  const server = await startTestServer({ certsDir: dir, clientCa: `${dir}/ca.pem`, acl: path });
  const connect = async (name: string) => {
    const { certPath, keyPath } = await issueClientCertificate(dir, name);
    return await connectToServer({
      hostname: "localhost",
      port: server.port,
      caFile: server.caFile,
      certFile: certPath,
      keyFile: keyPath,
      timeoutMs: 5000,
    });
  };
  const read = async (conn: Deno.Conn): Promise<string | null> => {
    const buffer = new Uint8Array(256);
    let got = 0;
    while (got < 4 || got < 4 + new DataView(buffer.buffer).getInt32(0, true)) {
      const count = await conn.read(buffer.subarray(got));
      if (count === null) return null;
      got += count;
    }
    return new TextDecoder().decode(buffer.subarray(4, got));
  };
  try {
    const sensor = await connect("sensor-7");
    await sensor.write(encodeFrame("hello"));
    assertEquals(await read(sensor), "hello", "a listed identity speaks v1");
    await server.waitForLog(/as sensor-7 \(client certificate\)/);
    await server.broadcast("to sensors");
    assertEquals(await read(sensor), "to sensors", "its entry allows broadcast");
    const stranger = await connect("stranger");
    await stranger.write(encodeFrame("hello"));
    assertEquals(await read(stranger).catch(() => null), null, "an unlisted identity is refused");
    await server.waitForLog(/closed: v1 client refused: authentication is on/);
    sensor.close();
    stranger.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
