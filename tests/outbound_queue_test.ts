import { assert, assertEquals } from "./assert.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { OutboundQueue, STAGE_SIZE } from "../util/outbound_queue.ts";

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

Deno.test("copies are packed into pooled buffers, in order with frames, and may be overwritten at once", async () => {
  const sink = new GatedSink(700); // partial writes as well
  const queue = new OutboundQueue(sink, { maxPending: 1 << 20 });
  const source = new Uint8Array(300);
  const expected: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    source.fill(i); // the caller reuses its buffer, as a read buffer is
    if (i % 50 === 49) {
      const frame = bytes(40, 255 - i);
      queue.offer(frame); // a pushed message between echoes keeps its place
      expected.push(frame);
    }
    queue.pushCopy(source.subarray(0, 100 + (i % 7)));
    expected.push(source.slice(0, 100 + (i % 7)));
  }
  queue.pushCopy(bytes(STAGE_SIZE + 1, 9)); // larger than a pooled buffer: its own copy
  expected.push(bytes(STAGE_SIZE + 1, 9));
  sink.release();
  await queue.flushed();
  assertEquals(concatBytes(sink.received), concatBytes(expected));
  assert(sink.writes < 100, `coalesced: ${sink.writes} writes of 700 bytes at most for 38 KB`);
  assertEquals(queue.pending, 0);
  assertEquals(queue.offered, 0);
  // The buffers came back to the pool and are reused: a second round arrives intact too.
  const again = new OutboundQueue(sink, { maxPending: 1 << 20 });
  sink.received.length = 0;
  for (let i = 0; i < 100; i++) again.pushCopy(bytes(200, i));
  await again.flushed();
  assertEquals(
    concatBytes(sink.received),
    concatBytes(Array.from({ length: 100 }, (_, i) => bytes(200, i))),
  );
});
