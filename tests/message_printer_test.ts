/** Printing received messages (client/message_printer.ts): bare, or marked for a terminal. */
import { assertEquals } from "./assert.ts";
import { formatMessages, MessagePrinter, RECEIVED_MARK } from "../client/message_printer.ts";

Deno.test("formatMessages: one line each; marked ones after '< ', continuation lines indented", () => {
  assertEquals(formatMessages(["a", "", "é 🚀"], false), "a\n\né 🚀\n");
  assertEquals(formatMessages(["a", "two\nlines"], true), "< a\n< two\n  lines\n");
  assertEquals(RECEIVED_MARK, "< ");
});

Deno.test("MessagePrinter writes batches in order even to a sink that takes a byte at a time", async () => {
  const written: number[] = [];
  const slow = {
    async write(bytes: Uint8Array): Promise<number> {
      await new Promise((resolve) => setTimeout(resolve, 0));
      written.push(bytes[0]);
      return 1;
    },
  };
  const printer = new MessagePrinter(slow, { marked: true });
  printer.print(["x"]);
  printer.print(["y", "z"]);
  await printer.flushed();
  assertEquals(new TextDecoder().decode(new Uint8Array(written)), "< x\n< y\n< z\n");
});
