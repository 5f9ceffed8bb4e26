/** What a connection still owes the client (client/echo_tracker.ts). */
import { assert, assertEquals } from "./assert.ts";
import { EchoTracker } from "../client/echo_tracker.ts";
import { ServerClosedError } from "../client/errors.ts";

Deno.test("echoes are matched in order; broadcasts in between are not echoes", () => {
  const tracker = new EchoTracker("le32");
  for (const message of ["a", "b", "a"]) tracker.sent(message);
  tracker.received("pushed");
  tracker.received("a");
  tracker.received("a"); // a broadcast equal to a later message: "b" is still owed first
  assertEquals(tracker.unechoed, 2);
  tracker.received("b");
  tracker.received("a");
  assertEquals(tracker.unechoed, 0);
  assertEquals(tracker.done, false, "the input is still open");
  tracker.endInput();
  assertEquals([tracker.done, tracker.inputEnded], [true, true]);
});

Deno.test("an orderly close is early while a message is owed, or while input is open", () => {
  const tracker = new EchoTracker("websocket");
  const open = tracker.closedEarly("interactive", "refused");
  assert(open instanceof ServerClosedError);
  assert(/while input was still open \(it stopped\?\)/.test(open.message), open.message);
  assert(/before every --send message was sent/.test(tracker.closedEarly("send", "")!.message));
  tracker.sent("x");
  tracker.sent("y");
  tracker.endInput();
  const owed = tracker.closedEarly("send", "it refuses big ones", 1000)!;
  assertEquals(
    owed.message,
    "the server closed the connection before echoing 2 messages: it refuses big ones",
  );
  assertEquals([owed.unechoed, owed.closeCode, owed.retryable], [2, 1000, true]);
  tracker.received("x");
  assert(/before echoing 1 message:/.test(tracker.closedEarly("send", "")!.message));
  tracker.received("y");
  assertEquals(tracker.closedEarly("send", ""), undefined);
});

Deno.test("what comes back is what the framing carries: no trailing \\r in line framing, U+FFFD for a lone surrogate", () => {
  const line = new EchoTracker("line");
  line.sent("typed\r");
  line.received("typed");
  assertEquals(line.unechoed, 0);
  const binary = new EchoTracker("le32");
  binary.sent("kept\r");
  binary.received("kept");
  assertEquals(binary.unechoed, 1, "le32 carries the \\r");
  binary.received("kept\r");
  binary.sent("bad \ud800");
  binary.received("bad \ufffd");
  assertEquals(binary.unechoed, 0);
});

Deno.test("after a long run of echoes (forgotten as they come) the count is still exact", () => {
  const tracker = new EchoTracker("le32");
  for (let i = 0; i < 100_000; i++) {
    tracker.sent(String(i));
    tracker.received(String(i));
  }
  tracker.sent("last");
  assertEquals(tracker.unechoed, 1);
  tracker.received("last");
  assertEquals(tracker.unechoed, 0);
});
