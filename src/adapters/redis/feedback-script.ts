/**
 * The Lua script behind RedisFeedbackStore.report: one agent's verdict added to a number's feedback
 * entry (./reputation-layout.ts, FeedbackEntry) in one EVALSHA on the number's bucket, so two agents
 * reporting the same number at once both count. Kept as a string in a .ts module because tsc does not
 * copy .lua files into dist/.
 *
 *   KEYS[1]  <p>rep:feedback.<gen>:<bucket>     the number's bucket hash
 *   KEYS[2]  <p>rep:{meta}:sources               (single Redis only) the source table
 *   KEYS[3]  <p>rep:feedback.<gen>:k:<bucket>   (single Redis only, when counted) the block's counts
 *   ARGV[1]  field     the number's E.164 digits (numberField)
 *   ARGV[2]  verdict   "s" (spam) or "o" (ok)
 *   ARGV[3]  minute    the report's time, minutes since 1970 (from the caller, never Redis TIME)
 *   ARGV[4]  source    "feedback"
 *   ARGV[5]  record    the source's record JSON the store read ('' = no check: Cluster)
 *   ARGV[6]  block     the number's block field ('' = no block counts)
 *
 * Block counts (./block-count-script.ts): a number whose last verdict is spam counts in its block as
 * one listed number of score 100; the verdict that makes it spam adds 2^27 + 100 to the block, the one
 * that makes it ok takes it away again, computed from the value replaced, in the same script. With
 * KEYS[3] the script applies the change; on a Cluster (one key) the store adds it right after. When the
 * record is no longer the one read (block counts switched on meanwhile) nothing is written and the
 * script returns {'stale'}; the store reads the record again.
 *
 * The value is "<spam>:<ok>:<s|o>:<first minute>:<last minute>" (encodeFeedbackEntry). A value that
 * does not parse (written by something else) is started over rather than kept wrong. The first
 * minute is copied as the string it was, so no number conversion can change it. Returns {'ok', the new
 * value, the block count's change}.
 */
/** 2^27: one number in a packed block count (blockCountDelta) */
const FEEDBACK_BLOCK_HELPERS = 'local BLOCK_UNIT = 134217728';

export const FEEDBACK_LUA = `${FEEDBACK_BLOCK_HELPERS}
if #KEYS >= 2 and ARGV[5] ~= '' and redis.call('HGET', KEYS[2], ARGV[4]) ~= ARGV[5] then return {'stale'} end
local value = redis.call('HGET', KEYS[1], ARGV[1])
local spam, ok, first, before = 0, 0, ARGV[3], 0
if value then
  local s, o, l, f = string.match(value, '^(%d+):(%d+):([so]):(%d+):(%d+)$')
  if s then
    spam = tonumber(s); ok = tonumber(o); first = f
    if l == 's' then before = 1 end
  end
end
if ARGV[2] == 's' then spam = spam + 1 else ok = ok + 1 end
local updated = string.format('%d:%d:%s:%s:%s', spam, ok, ARGV[2], first, ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], updated)
local after = 0
if ARGV[2] == 's' then after = 1 end
local delta = 0
if ARGV[6] ~= '' then delta = (after - before) * (BLOCK_UNIT + 100) end
if KEYS[3] and delta ~= 0 then
  local n = redis.call('HINCRBY', KEYS[3], ARGV[6], string.format('%d', delta))
  if n <= 0 then redis.call('HDEL', KEYS[3], ARGV[6]) end
end
return {'ok', updated, string.format('%d', delta)}
`;

/** The name the script is registered under with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT). */
export const FEEDBACK_COMMAND = 'callscreenFeedbackBlocks';
