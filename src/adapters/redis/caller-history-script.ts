/**
 * The Lua script behind RedisCallerHistoryStore.fetch: everything one screening decision needs from
 * Redis, read (and, for a live call, written) in a single EVALSHA. Kept as a string in a .ts module
 * because tsc does not copy .lua files into dist/.
 *
 * KEYS (4 or 5; the store builds them from its key prefix <p>):
 *   KEYS[1]  <p>reputation            hash, field = E.164, value = JSON ReputationEntry (read only)
 *   KEYS[2]  <p>vel:n:<e164>          sorted set of this number's calls: score = call time ms, member = callId
 *   KEYS[3]  <p>captcha:<e164>        hash {passedAt, failedAt, failures} (read only here)
 *   KEYS[4]  <p>last:<did>:<e164>     string "<ms>:<callId>", the last call from the number to the DID
 *   KEYS[5]  <p>vel:b:<block>         sorted set of the number block's calls; absent when no block is tracked
 *
 * ARGV. The TypeScript side validates everything and does all the arithmetic: number -> string
 * conversions cost about a microsecond each in Redis's Lua, so the script only passes strings on.
 *   ARGV[1]  e164                     the reputation hash field
 *   ARGV[2]  at                       the call's time, epoch ms (from the caller, never Redis TIME)
 *   ARGV[3]  callId                   unique per call; the sorted-set member
 *   ARGV[4]  record                   "1" = live call (write), "0" = `callscreen check` (write nothing)
 *   ARGV[5]  last                     "<at>:<callId>", the value stored as the last call to the DID
 *   ARGV[6]  repeatPx                 how long that value is kept, ms; "0" = repeat caller off
 *   ARGV[7 ..]                        the number's velocity section, then the block's, each:
 *       count                         how many windows follow (0 = nothing counted, nothing written)
 *       trimMax                       at - longest window: entries with a time <= this are trimmed
 *       ttlMs                         PEXPIRE of the set: the longest window plus some slack
 *       count x "(<at - window>"      exclusive lower bound of each window, in the query's order
 *     The block section starts at ARGV[10 + n], n = the number's count; with no KEYS[5] its count is 0.
 *
 * Reply:
 *   [1] reputation JSON or nil
 *   [2] [passedAt, failedAt, failures] of the CAPTCHA hash, each string or nil
 *   [3] the stored "<ms>:<callId>" of the last call to the DID before this fetch, or nil (the TypeScript
 *       side drops it when its callId is the current call: a refetch is not its own previous call)
 *   [4] number window counts   [5] block window counts (same order as the bounds)
 *
 * A window counts calls with a time in (at - window, at]. With record = "1" the call is ZADDed (NX: a
 * refetch of the same callId keeps its first time and is never counted twice), entries older than
 * the longest window are trimmed and the set expires ttlMs after the last call. With record = "0"
 * nothing is written and each count includes the call as if it had been added, unless this callId
 * is already in the set.
 *
 * Redis Cluster (not supported yet): the keys of one fetch hash to several slots (the one shared
 * reputation hash, the number's keys, the block's key), so this script would fail with CROSSSLOT.
 * Running it there needs hash tags that put one fetch's keys in one slot, e.g. {<e164>} on the
 * number, captcha and last-call keys, with the reputation entry moved to a per-number key under the
 * same tag. The block set is shared by many numbers and cannot live in every number's slot: tagging
 * all keys by block ({<block>}) keeps one round trip, anything else costs a second one.
 */
export const CALLER_HISTORY_LUA = `
local numberKey, captchaKey, lastKey, blockKey = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local at, callId = ARGV[2], ARGV[3]
local record = ARGV[4] == '1'

-- one velocity section starting at ARGV[i]: count, trimMax, ttlMs, then count lower bounds
local function velocity(key, i)
  local count = tonumber(ARGV[i])
  local counts = {}
  if count == 0 then return counts end
  local extra = 0
  if record then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[i + 1])
    redis.call('ZADD', key, 'NX', at, callId)
    redis.call('PEXPIRE', key, ARGV[i + 2])
  elseif redis.call('ZSCORE', key, callId) == false then
    extra = 1
  end
  for j = 1, count do
    counts[j] = redis.call('ZCOUNT', key, ARGV[i + 2 + j], at) + extra
  end
  return counts
end

local reputation = redis.call('HGET', KEYS[1], ARGV[1])
local captcha = redis.call('HMGET', captchaKey, 'passedAt', 'failedAt', 'failures')

local last = false
if ARGV[6] ~= '0' then
  last = redis.call('GET', lastKey)
  if record then redis.call('SET', lastKey, ARGV[5], 'PX', ARGV[6]) end
end

local numberCounts = velocity(numberKey, 7)
local blockCounts = {}
if blockKey then blockCounts = velocity(blockKey, 10 + tonumber(ARGV[7])) end

return { reputation, captcha, last, numberCounts, blockCounts }
`;

/** The name the script is registered under with ioredis `defineCommand`. */
export const CALLER_HISTORY_COMMAND = 'callscreenCallerHistory';
