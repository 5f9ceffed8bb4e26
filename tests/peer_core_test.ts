import { assert, assertEquals } from "./assert.ts";
import { Hub } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { type CloseKind, PeerCore, type PeerSettings } from "../hub/peer_core.ts";
import { Logger } from "../util/logger.ts";

/** A transport whose queue is an array the test drains by hand. */
class ManualPeer extends PeerCore {
  queue: { text: string; pushed: boolean }[] = [];
  closes: { kind: CloseKind; clean: boolean }[] = [];
  written = 0;
  #waiters: (() => void)[] = [];
  get queuedBytes(): number {
    return this.queue.reduce((sum, item) => sum + item.text.length, 0);
  }
  protected get pushedBytes(): number {
    return this.queue.filter((item) => item.pushed).reduce(
      (sum, item) => sum + item.text.length,
      0,
    );
  }
  protected get writtenBytes(): number {
    return this.written;
  }
  protected override carries(message: OutgoingMessage): boolean {
    return !message.text.includes("\n");
  }
  protected send(message: OutgoingMessage): void {
    this.queue.push({ text: message.text, pushed: true });
  }
  protected flushed(): Promise<void> {
    return this.queue.length === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#waiters.push(resolve));
  }
  replies: string[] = [];
  protected reply(payload: Uint8Array): void {
    this.replies.push(new TextDecoder().decode(payload));
  }
  protected disconnect(kind: CloseKind, clean: boolean): void {
    this.closes.push({ kind, clean });
  }
  /** Writes the oldest queued item. */
  writeOne(): void {
    const item = this.queue.shift();
    if (item) this.written += item.text.length;
    if (this.queue.length === 0) { for (const wake of this.#waiters.splice(0)) wake(); }
  }
  start(): void {
    this.join();
  }
  echo(text: string): void {
    const bytes = text.length;
    this.received(1, bytes, () => [new TextEncoder().encode(text)]);
    if (this.admits(bytes)) {
      this.queue.push({ text, pushed: false });
      this.echoed(1, bytes);
    }
  }
  end(reason: string): Promise<void> {
    return this.finish(reason);
  }
}

function setup(overrides: Partial<PeerSettings> = {}) {
  const lines: string[] = [];
  const hub = new Hub({
    logger: new Logger({ write: (line) => lines.push(line) }),
    maxFrame: 1000,
  });
  const settings: PeerSettings = {
    hub,
    maxFrame: 1000,
    maxPending: 100,
    relay: false,
    drainMs: 50,
    maxChannels: 10,
    ...overrides,
  };
  return { hub, lines, settings };
}

const pushed = (text: string) => new OutgoingMessage(text, { kind: "stdin" });

Deno.test("joining and closing log one line each and keep the hub's count", async () => {
  const { hub, lines, settings } = setup();
  const peer = new ManualPeer(settings, "tcp", "127.0.0.1:7");
  peer.start();
  assertEquals(hub.size, 1);
  assert(/client #1 connected from 127\.0\.0\.1:7 \(1 connected\)$/.test(lines[0]));
  peer.echo("abc");
  peer.writeOne();
  await peer.end("peer closed the connection");
  assertEquals(hub.size, 0);
  assert(
    /client #1 127\.0\.0\.1:7 closed: peer closed the connection \(1 message in, 1 out; 0 connected\)$/
      .test(lines[1]),
    lines[1],
  );
  assertEquals(peer.closes, [{ kind: "peer-closed", clean: true }]);
});

Deno.test("the slow-consumer rule counts pushed bytes only; a lone large message still goes", () => {
  const { settings, lines } = setup();
  const peer = new ManualPeer(settings, "tcp", "127.0.0.1:8");
  peer.start();
  peer.echo("e".repeat(500)); // a large echo waits: it does not count
  assertEquals(peer.deliver(pushed("x".repeat(300))), "sent", "into no pushed backlog: taken");
  assertEquals(peer.deliver(pushed("two\nlines")), "skipped");
  assertEquals(peer.deliver(pushed("y")), "cut-off", "300 + 1 pushed bytes pass the 100 limit");
  assertEquals(peer.closes, [{ kind: "slow-consumer", clean: false }]);
  assertEquals(peer.deliver(pushed("z")), "closing");
  assert(
    lines.some((line) => /closed: slow consumer: 300 B already queued \(limit 100 B\)/.test(line)),
  );
});

Deno.test("a closing peer drains for as long as each --drain-timeout sees progress", async () => {
  const { settings } = setup({ drainMs: 30 });
  const peer = new ManualPeer(settings, "tcp", "127.0.0.1:9");
  peer.start();
  for (let i = 0; i < 5; i++) peer.echo(`m${i}`);
  const writer = setInterval(() => peer.writeOne(), 10); // slow but steady
  await peer.end("peer closed the connection");
  clearInterval(writer);
  assertEquals(peer.queue.length, 0, "everything was written");
  assertEquals(peer.closes, [{ kind: "peer-closed", clean: true }]);

  const stuck = new ManualPeer(settings, "tcp", "127.0.0.1:10");
  stuck.start();
  stuck.echo("never read");
  await stuck.end("peer closed the connection");
  assertEquals(stuck.closes, [{ kind: "peer-closed", clean: false }], "no progress: closed anyway");
});

Deno.test("--relay publishes a client's messages to the others, never back to it", async () => {
  const { hub, settings } = setup({ relay: true });
  const sender = new ManualPeer(settings, "tcp", "127.0.0.1:11");
  const other = new ManualPeer(settings, "tcp", "127.0.0.1:12");
  sender.start();
  other.start();
  sender.echo("hello all");
  await Promise.resolve();
  assertEquals(sender.queue.map((item) => item.text), ["hello all"], "its echo only");
  assertEquals(other.queue.map((item) => item.text), ["hello all"]);
  assertEquals(hub.totals.messagesIn, 1);
});
