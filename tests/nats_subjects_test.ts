import { assertEquals } from "./assert.ts";
import {
  channelOfSubject,
  channelWildcard,
  presenceSubject,
  streamName,
  subjectOfChannel,
} from "../broker/nats_subjects.ts";

Deno.test("NATS subjects: every valid channel is one token and comes back unchanged", () => {
  const channels = ["broadcast", "a..b", ".x.", "metrics.cpu", "a/b:c", "A-Z_0-9", "%"];
  for (const channel of channels) {
    const subject = subjectOfChannel("tlspush", channel);
    assertEquals(subject.split(".").length, 3, subject);
    assertEquals(/[\s*>]/.test(subject), false, subject);
    assertEquals(channelOfSubject("tlspush", subject), channel);
  }
  assertEquals(subjectOfChannel("p", "chat.room-1"), "p.ch.chat%2Eroom-1");
  assertEquals(channelOfSubject("p", "q.ch.x"), undefined);
  assertEquals(channelWildcard("p"), "p.ch.>");
  assertEquals(streamName("p"), "p_channels");
  assertEquals(presenceSubject("p"), "p.presence");
});
