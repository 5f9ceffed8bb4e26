import { assert, assertEquals } from "./assert.ts";
import { ConnectionBudget } from "../hub/connection_budget.ts";
import { Logger } from "../util/logger.ts";

function budgetWithClock(limit: number) {
  const lines: string[] = [];
  let now = 1_000_000;
  const budget = new ConnectionBudget(
    limit,
    new Logger({ write: (line) => lines.push(line) }),
    () => now,
  );
  return { budget, lines, advance: (ms: number) => now += ms };
}

Deno.test("a slot is taken per connection and given back once, however often released", () => {
  const { budget } = budgetWithClock(2);
  const first = budget.take("127.0.0.1:1")!;
  const second = budget.take("127.0.0.1:2")!;
  assertEquals(budget.used, 2);
  assertEquals(budget.take("127.0.0.1:3"), undefined, "full");
  first.release();
  first.release();
  assertEquals(budget.used, 1, "a second release changes nothing");
  assert(budget.take("127.0.0.1:4"), "a place freed up");
  second.release();
});

Deno.test("limit 0 means no limit", () => {
  const { budget } = budgetWithClock(0);
  for (let i = 0; i < 1000; i++) assert(budget.take(`127.0.0.1:${i}`));
  assertEquals(budget.used, 1000);
});

Deno.test("refusals are logged once per burst, per kind, with the count of the burst before", () => {
  const { budget, lines, advance } = budgetWithClock(1);
  budget.take("127.0.0.1:1");
  for (let i = 0; i < 500; i++) {
    budget.take(`127.0.0.1:${i + 2}`);
    advance(10); // a flood: never 5 s without a refusal
  }
  assertEquals(lines.length, 1, lines.join("\n"));
  assert(/refused connection from 127\.0\.0\.1:2: at --max-connections 1/.test(lines[0]));
  budget.take("127.0.0.1:9", "WebSocket");
  assertEquals(lines.length, 2, "another kind is its own burst");
  assert(/refused WebSocket from 127\.0\.0\.1:9/.test(lines[1]));
  advance(6000);
  budget.take("127.0.0.1:10");
  assertEquals(lines.length, 3, "a new burst is logged again");
  assert(/499 more connections refused in the burst before/.test(lines[2]), lines[2]);
});
