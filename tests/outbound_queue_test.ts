import { assert, assertEquals } from "./assert.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { OutboundQueue } from "../util/outbound_queue.ts";

/** A sink that takes at most `step` bytes per write and only when released. */
class GatedSink {
  readonly received: Uint8Array[] = [];
  writes = 0;
  #open = Promise.withResolvers<void>();
  constructor(readonly step = Infinity) {}
  release(): void {
    this.#open.resolve();
  }
  async write(bytes: Uint8Array): Promise<number> {
    await this.#open.promise;
    this.writes++;
    const taken = bytes.slice(0, Math.min(this.step, bytes.length));
    this.received.push(taken);
    return taken.length;
  }
}

const bytes = (size: number, fill = 1) => new Uint8Array(size).fill(fill);

Deno.test("queued frames are coalesced into few writes and arrive whole, in order", async () => {
  const sink = new GatedSink(1000); // partial writes as well
  const queue = new OutboundQueue(sink, { maxPending: 1 << 20 });
  const frames = Array.from({ length: 50 }, (_, i) => bytes(100 + i, i));
  for (const frame of frames) queue.push(frame);
  sink.release();
  await queue.flushed();
  assertEquals(concatBytes(sink.received), concatBytes(frames));
  assert(sink.writes < 20, `coalesced: ${sink.writes} writes for 50 frames`);
  assertEquals(queue.pending, 0);
  assertEquals(queue.written, concatBytes(frames).length);
});

Deno.test("offered bytes count pushed frames until they are written; echoes do not", async () => {
  const sink = new GatedSink();
  const queue = new OutboundQueue(sink, { maxPending: 1000 });
  queue.push(bytes(16_000)); // the echo of one large, legal message
  assert(queue.full, "the reader pauses");
  assertEquals(queue.offered, 0, "an echo is not a pushed message");
  queue.offer(bytes(600));
  queue.offer(bytes(400));
  assertEquals(queue.offered, 1000);
  sink.release();
  await queue.flushed();
  assertEquals(queue.offered, 0);
  assertEquals(queue.pending, 0);
});

Deno.test("a failed write stops the queue and reports the error", async () => {
  const queue = new OutboundQueue({ write: () => Promise.reject(new Error("gone")) }, {
    maxPending: 1000,
  });
  queue.push(bytes(10));
  await queue.flushed();
  assertEquals((queue.error as Error).message, "gone");
  queue.push(bytes(10)); // ignored
  assertEquals(queue.pending, 0);
});
