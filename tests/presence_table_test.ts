import { assertEquals } from "./assert.ts";
import { parseHeartbeat, PresenceTable } from "../broker/presence_table.ts";

Deno.test("presence table: last heartbeat per instance, forgotten after the ttl or a goodbye", () => {
  const table = new PresenceTable(100);
  table.heard({ id: "b", clients: 1, started: 5 }, 1000);
  table.heard({ id: "a", clients: 2, started: 6 }, 1050);
  assertEquals(table.list(1060).map((i) => i.id), ["a", "b"]);
  assertEquals(table.list(1120).map((i) => i.id), ["a"], "b unheard for 120 ms");
  table.forget("a");
  assertEquals(table.list(1120), []);
  assertEquals(parseHeartbeat('{"id":"a","clients":3,"started":9}'), {
    info: { id: "a", clients: 3, started: 9 },
    bye: false,
  });
  assertEquals(parseHeartbeat('{"id":"a","bye":true}')?.bye, true);
  assertEquals(parseHeartbeat('{"clients":3}'), undefined);
  assertEquals(parseHeartbeat("{"), undefined);
});
