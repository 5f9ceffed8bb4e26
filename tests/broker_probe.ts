/**
 * A tiny program that opens the broker given as its argument, publishes one message, waits for
 * it to come back, reads the channel's history and closes: run with only the permissions the
 * broker clients should need (`broker_permissions_test.ts`). Prints `ok SEQ` or the error.
 *
 * @example
 * ```ts
 * // deno run --no-prompt --allow-net=127.0.0.1:6379 tests/broker_probe.ts redis://127.0.0.1:6379
 * // deno run --no-prompt --allow-net=... --allow-read=ca.pem tests/broker_probe.ts rediss://... ca.pem
 * ```
 * @module
 */
import { openBroker } from "../broker/open_broker.ts";

const [url, caFile] = Deno.args;
const tlsCa = caFile ? await Deno.readTextFile(caFile) : undefined;
const broker = openBroker(url, { instanceId: "probe", tlsCa });
const channel = `probe-${crypto.randomUUID()}`;
const received = new Promise<number>((resolve) => broker.onMessage((m) => resolve(m.seq)));
try {
  await broker.start();
  const seq = await broker.publish(channel, new TextEncoder().encode("hello"));
  const echoed = await received;
  const page = await broker.history(channel, 0, 10);
  if (echoed !== seq || page.messages.length !== 1) throw new Error(`seq ${seq}/${echoed}`);
  broker.announce({ id: "probe", clients: 0, started: Date.now() });
  console.log(`ok ${seq}`);
} catch (error) {
  console.log(`failed: ${error instanceof Error ? `${error.name}: ${error.message}` : error}`);
} finally {
  await broker.close();
}
