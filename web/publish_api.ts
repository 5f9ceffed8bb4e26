/**
 * The publish API (`POST /api/publish`): other programs push messages with a token of their own
 * (`--publish-token` / `TLSPUSH_PUBLISH_TOKEN`), never the dashboard's and never from a cookie
 * (so a browser cannot be tricked into publishing: no CSRF). Answers are JSON.
 *
 * | request | answer |
 * |---|---|
 * | `POST /api/publish?channel=NAME`, body = the message (UTF-8) | `200 {"channel","seq","delivered"}` |
 * | `POST /api/publish/batch?channel=NAME`, body = JSON array of texts or `{"channel","data"}` | `200 {"results":[...]}` |
 *
 * Errors: `400` invalid UTF-8, JSON or channel, `401` no or wrong token, `405` not POST,
 * `413` a message larger than `--max-frame` (or a batch body over its limit), `503` the broker
 * is unavailable; each `{"error": code, "message": text}`. A batch is checked whole before any
 * of it is published.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { PublishApi } from "./publish_api.ts";
 * import { SecretToken } from "./secret_token.ts";
 * const hub = new Hub({ logger: new Logger(), maxFrame: 1 << 20 });
 * const api = new PublishApi({ hub, token: new SecretToken("0123456789abcdef-token") });
 * const response = await api.handle(new Request("https://localhost:9003/api/publish", {
 *   method: "POST",
 *   headers: { authorization: "Bearer 0123456789abcdef-token" },
 *   body: "cpu 93%",
 * }));
 * await response.json(); // { channel: "broadcast", seq: ..., delivered: 0 }
 * ```
 * @module
 */
import type { Hub, PublishResult } from "../hub/hub.ts";
import { OutgoingMessage } from "../hub/message.ts";
import { BROADCAST_CHANNEL, CHANNEL_RULE, isValidChannel } from "../protocol/channel.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { isValidUtf8 } from "../protocol/utf8.ts";
import { formatBytes } from "../util/logger.ts";
import { bearerToken, type SecretToken } from "./secret_token.ts";

/** What the API needs. */
export interface PublishApiConfig {
  /** Where messages are published. */
  hub: Hub;
  /** The publish token; undefined turns the API off (404). */
  token: SecretToken | undefined;
}

/**
 * The paths the API serves.
 *
 * @example
 * ```ts
 * import { PUBLISH_PATHS } from "./publish_api.ts";
 * PUBLISH_PATHS.has("/api/publish"); // true
 * ```
 */
export const PUBLISH_PATHS: ReadonlySet<string> = new Set(["/api/publish", "/api/publish/batch"]);

/** Most messages in one batch. */
export const MAX_BATCH_MESSAGES = 10_000;

/** Most bytes of one batch's body (JSON), whatever `--max-frame` is. */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/** A refusal on its way to becoming a JSON error answer. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** One message of a request, checked. */
interface Item {
  channel: string;
  payload: Uint8Array;
}

/**
 * Serves `/api/publish` and `/api/publish/batch`.
 *
 * @example
 * ```ts
 * import { Hub } from "../hub/hub.ts";
 * import { Logger } from "../util/logger.ts";
 * import { PublishApi } from "./publish_api.ts";
 * const api = new PublishApi({ hub: new Hub({ logger: new Logger(), maxFrame: 64 }), token: undefined });
 * (await api.handle(new Request("https://localhost/api/publish", { method: "POST" }))).status; // 404: off
 * ```
 */
export class PublishApi {
  readonly #config: PublishApiConfig;

  /** An API over `config.hub`. */
  constructor(config: PublishApiConfig) {
    this.#config = config;
  }

  /** True when a token is configured (else every request gets 404). */
  get enabled(): boolean {
    return this.#config.token !== undefined;
  }

  /** Answers one request to a {@link PUBLISH_PATHS} path. */
  async handle(request: Request): Promise<Response> {
    try {
      return await this.#handle(request);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const headers: Record<string, string> = error.status === 401
        ? { "www-authenticate": 'Bearer realm="tlspush publish"' }
        : error.status === 405
        ? { allow: "POST" }
        : {};
      return json(error.status, { error: error.code, message: error.message }, headers);
    }
  }

  async #handle(request: Request): Promise<Response> {
    const { token } = this.#config;
    if (!token) {
      throw new ApiError(
        404,
        "not-found",
        "the publish API is off: start the server with --publish-token",
      );
    }
    if (request.method !== "POST") throw new ApiError(405, "bad-request", "use POST");
    if (!token.matches(bearerToken(request))) {
      throw new ApiError(401, "not-authenticated", "send 'Authorization: Bearer <publish token>'");
    }
    const url = new URL(request.url);
    const channel = url.searchParams.get("channel") ?? BROADCAST_CHANNEL;
    checkChannel(channel);
    if (url.pathname === "/api/publish") {
      const payload = await readBody(
        request,
        this.#config.hub.maxFrame,
        "the message",
        "--max-frame",
      );
      if (!isValidUtf8(payload)) {
        throw new ApiError(400, "bad-command", "the body is not valid UTF-8");
      }
      const [result] = await this.#publish([{ channel, payload }]);
      return json(200, result);
    }
    const body = await readBody(request, MAX_BATCH_BYTES, "a batch", "the batch limit");
    const items = this.#parseBatch(body, channel);
    return json(200, { results: await this.#publish(items) });
  }

  #parseBatch(body: Uint8Array, channel: string): Item[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (error) {
      throw new ApiError(
        400,
        "bad-command",
        `the batch is not valid UTF-8 JSON: ${(error as Error).message}`,
      );
    }
    if (!Array.isArray(parsed)) {
      throw new ApiError(
        400,
        "bad-command",
        'a batch is a JSON array of texts or {"channel", "data"}',
      );
    }
    if (parsed.length > MAX_BATCH_MESSAGES) {
      throw new ApiError(413, "too-large", `a batch holds at most ${MAX_BATCH_MESSAGES} messages`);
    }
    const { maxFrame } = this.#config.hub;
    const encoder = new TextEncoder();
    return parsed.map((entry, index) => {
      const item = typeof entry === "string" ? { channel, data: entry } : entry;
      if (typeof item?.data !== "string") {
        throw new ApiError(
          400,
          "bad-command",
          `message ${index}: a text, or {"channel", "data"} with a text`,
        );
      }
      if (item.channel !== undefined && typeof item.channel !== "string") {
        throw new ApiError(400, "bad-channel", `message ${index}: the channel must be a text`);
      }
      const name = item.channel ?? channel;
      checkChannel(name, index);
      const payload = encoder.encode(item.data);
      if (payload.length > maxFrame) {
        throw new ApiError(
          413,
          "too-large",
          `message ${index}: ${
            formatBytes(payload.length)
          } is more than --max-frame (${maxFrame} bytes)`,
        );
      }
      return { channel: name, payload };
    });
  }

  /** Publishes in order; stops at the first refusal (the broker went away) and says so. */
  async #publish(
    items: Item[],
  ): Promise<{ channel: string; seq: number | null; delivered: number }[]> {
    const results = [];
    for (const { channel, payload } of items) {
      const result: PublishResult = await this.#config.hub.publish(
        new OutgoingMessage(payload, { kind: "api" }, channel),
      );
      if (result.refused) {
        const status = result.refused.code === "unavailable" ? 503 : 413;
        const done = results.length > 0 ? ` (${results.length} published before it)` : "";
        throw new ApiError(status, result.refused.code, result.refused.reason + done);
      }
      results.push({ channel, seq: result.seq ?? null, delivered: result.delivered });
    }
    return results;
  }
}

function checkChannel(channel: string, index?: number): void {
  if (isValidChannel(channel)) return;
  const which = index === undefined ? "" : `message ${index}: `;
  throw new ApiError(
    400,
    "bad-channel",
    `${which}invalid channel '${channel.slice(0, 200)}': ${CHANNEL_RULE}`,
  );
}

/** Reads the whole body, refusing (413) one larger than `limit` before it has all arrived. */
async function readBody(
  request: Request,
  limit: number,
  what: string,
  limitName: string,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(413, "too-large", `${what} is larger than ${limit} bytes (${limitName})`);
  if (Number(request.headers.get("content-length") ?? NaN) > limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}
