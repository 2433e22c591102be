/**
 * The Lua script behind RedisFeedbackStore.report: one agent's verdict added to a number's feedback
 * entry (./reputation-layout.ts, FeedbackEntry) in one EVALSHA on the number's bucket, so two agents
 * reporting the same number at once both count. Kept as a string in a .ts module because tsc does not
 * copy .lua files into dist/.
 *
 *   KEYS[1]  <p>rep:feedback.<gen>:<bucket>   the number's bucket hash
 *   ARGV[1]  field     the number's E.164 digits (numberField)
 *   ARGV[2]  verdict   "s" (spam) or "o" (ok)
 *   ARGV[3]  minute    the report's time, minutes since 1970 (from the caller, never Redis TIME)
 *
 * The value is "<spam>:<ok>:<s|o>:<first minute>:<last minute>" (encodeFeedbackEntry). A value that
 * does not parse (written by something else) is started over rather than kept wrong. The first
 * minute is copied as the string it was, so no number conversion can change it. Returns the new value.
 */
export const FEEDBACK_LUA = `
local value = redis.call('HGET', KEYS[1], ARGV[1])
local spam, ok, first = 0, 0, ARGV[3]
if value then
  local s, o, _, f = string.match(value, '^(%d+):(%d+):([so]):(%d+):(%d+)$')
  if s then spam = tonumber(s); ok = tonumber(o); first = f end
end
if ARGV[2] == 's' then spam = spam + 1 else ok = ok + 1 end
local updated = string.format('%d:%d:%s:%s:%s', spam, ok, ARGV[2], first, ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], updated)
return updated
`;

/** The name the script is registered under with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT). */
export const FEEDBACK_COMMAND = 'callscreenFeedback';
