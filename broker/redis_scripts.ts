/**
 * The Lua scripts the Redis broker runs. Each runs atomically inside Redis, which is what gives
 * the cluster one order: allocating a channel's sequence number, appending to the channel's
 * history stream and appending to the deployment-wide delivery stream happen as one step, so
 * no two publishers can interleave.
 *
 * Keys (`P` is `--broker-prefix`): `P:m:CHANNEL` a hash (`last` seq given, `since` first seq
 * since the broker last lost its data, `dropped` highest seq trimmed away), `P:h:CHANNEL` the
 * history stream (entry id `SEQ-0`), `P:all` the delivery stream every instance reads with
 * `XREAD BLOCK`, `P:epoch` a random id that changes when Redis loses its data, `P:instances` the
 * heartbeats.
 *
 * Sequence numbers: `max(last + 1, TIME in µs)`. Redis' own clock (not an instance's) gives them,
 * so after Redis lost its data the next number is still above every number given before (a
 * channel cannot have taken more than one number per microsecond: one script takes longer
 * than that). Below 2^53 until the year 2255.
 *
 * @example
 * ```ts
 * import { PUBLISH_SCRIPT, scriptSha } from "./redis_scripts.ts";
 * const sha = await scriptSha(PUBLISH_SCRIPT); // for EVALSHA
 * ```
 * @module
 */

const HELPERS = `
local function fmt(n) return string.format('%.0f', n) end
local function seqof(id) return tonumber(string.match(id, '^(%d+)')) end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
`;

/**
 * Publishes one message. KEYS: meta, history, delivery stream. ARGV: channel, origin, payload,
 * history length, age limit in µs (0: none), delivery stream length. Returns the seq (text).
 *
 * @example
 * ```ts
 * import { PUBLISH_SCRIPT } from "./redis_scripts.ts";
 * PUBLISH_SCRIPT.includes("XADD"); // true
 * ```
 */
export const PUBLISH_SCRIPT: string = HELPERS + `
local history = tonumber(ARGV[4])
local age = tonumber(ARGV[5])
local now = now_us()
local meta = redis.call('HMGET', KEYS[1], 'last', 'since', 'dropped')
local last, since, dropped = 0, nil, 0
if meta[1] then
  last, since, dropped = tonumber(meta[1]), tonumber(meta[2]), tonumber(meta[3])
else
  local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #top > 0 then last = seqof(top[1][1]) end
end
local seq = now
if seq <= last then seq = last + 1 end
if not since then since = seq end
if last > dropped and redis.call('EXISTS', KEYS[2]) == 0 then dropped = last end
if history > 0 then
  redis.call('XADD', KEYS[2], fmt(seq) .. '-0', 'o', ARGV[2], 'p', ARGV[3])
  local len = redis.call('XLEN', KEYS[2])
  if len > history then
    local gone = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', len - history)
    dropped = math.max(dropped, seqof(gone[#gone][1]))
    redis.call('XTRIM', KEYS[2], 'MAXLEN', history)
  end
  if age > 0 then
    local cutoff = now - age
    local old = redis.call('XREVRANGE', KEYS[2], '(' .. fmt(cutoff) .. '-0', '-', 'COUNT', 1)
    if #old > 0 then
      dropped = math.max(dropped, seqof(old[1][1]))
      redis.call('XTRIM', KEYS[2], 'MINID', fmt(cutoff) .. '-0')
    end
    redis.call('PEXPIRE', KEYS[2], math.floor(age / 1000) + 1000)
  end
else
  dropped = seq
end
redis.call('HSET', KEYS[1], 'last', fmt(seq), 'since', fmt(since), 'dropped', fmt(dropped))
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*',
  'c', ARGV[1], 's', fmt(seq), 'o', ARGV[2], 'p', ARGV[3])
return fmt(seq)
`;

/**
 * Reads a channel's history (read-only). KEYS: meta, history. ARGV: from seq, limit, age
 * limit in µs. Returns `{next, since, dropped, entries}` where entries are at most `limit + 1`
 * `[id, [field, value, ...]]` pairs with `seq >= from` still within the age limit.
 *
 * @example
 * ```ts
 * import { HISTORY_SCRIPT } from "./redis_scripts.ts";
 * HISTORY_SCRIPT.includes("XRANGE"); // true
 * ```
 */
export const HISTORY_SCRIPT: string = HELPERS + `
local now = now_us()
local meta = redis.call('HMGET', KEYS[1], 'last', 'since', 'dropped')
if not meta[1] then return {fmt(now), fmt(now), '0', {}} end
local last, since, dropped = tonumber(meta[1]), tonumber(meta[2]), tonumber(meta[3])
local from, limit, age = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local nxt = math.max(last + 1, now)
local entries = {}
if redis.call('EXISTS', KEYS[2]) == 0 then
  dropped = math.max(dropped, last)
else
  local start = from
  if age > 0 then
    local cutoff = now - age
    local old = redis.call('XREVRANGE', KEYS[2], '(' .. fmt(cutoff) .. '-0', '-', 'COUNT', 1)
    if #old > 0 then dropped = math.max(dropped, seqof(old[1][1])) end
    if cutoff > start then start = cutoff end
  end
  entries = redis.call('XRANGE', KEYS[2], fmt(start) .. '-0', '+', 'COUNT', limit + 1)
end
return {fmt(nxt), fmt(since), fmt(dropped), entries}
`;

/**
 * Records a heartbeat and returns the live ones. KEYS: instances hash. ARGV: instance id,
 * JSON (empty: only read), time to live in ms. Returns `[age ms, json, ...]`; drops the stale.
 *
 * @example
 * ```ts
 * import { HEARTBEAT_SCRIPT } from "./redis_scripts.ts";
 * HEARTBEAT_SCRIPT.includes("HGETALL"); // true
 * ```
 */
export const HEARTBEAT_SCRIPT: string = HELPERS + `
local now = math.floor(now_us() / 1000)
local ttl = tonumber(ARGV[3])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], fmt(now) .. ' ' .. ARGV[2]) end
local all = redis.call('HGETALL', KEYS[1])
local result = {}
for i = 1, #all, 2 do
  local at = string.match(all[i + 1], '^(%d+) ')
  local age = at and now - tonumber(at) or ttl + 1
  if age > ttl then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(result, fmt(age))
    table.insert(result, string.sub(all[i + 1], #at + 2))
  end
end
return result
`;

/**
 * The SHA-1 of a script, in hex, as `EVALSHA` wants it.
 *
 * @example
 * ```ts
 * import { HISTORY_SCRIPT, scriptSha } from "./redis_scripts.ts";
 * (await scriptSha(HISTORY_SCRIPT)).length; // 40
 * ```
 */
export async function scriptSha(script: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
