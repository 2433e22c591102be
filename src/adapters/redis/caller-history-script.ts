/**
 * The Lua script behind RedisCallerHistoryStore.fetch: everything one screening decision needs from
 * Redis, read (and, for a live call, written) in a single EVALSHA. Kept as a string in a .ts module
 * because tsc does not copy .lua files into dist/.
 *
 * What costs server time here (Redis 7.0, callgrind instruction counts with INFO commandstats; the
 * figures are in docs/benchmarks.md): every redis.call on top of the command itself (argument objects,
 * ACL and command lookup, reply parsing back into Lua), each KEYS/ARGV element, each table in the
 * script's reply (Redis probes it for err/ok/double/map fields), each double in a command's reply
 * (ZSCORE/ZMSCORE format scores with snprintf), each ZADD member, each Lua number -> string
 * conversion. So the script makes as few calls as it can (one read of the number's sorted set
 * serves the refetch check, the repeat caller and its reached-a-person memory, maintenance, the
 * CAPTCHA history and the known-customer memory; the distinct DIDs are one ZCOUNT over the d:<did> members), writes each set
 * with one ZADD, runs trim and PEXPIRE at most once per interval per set, returns one flat table and
 * converts no numbers: the TypeScript side validates everything, does the arithmetic and passes
 * ready-made strings.
 *
 * KEYS (the store builds them from its key prefix <p>):
 *   KEYS[1]  <p>caller:<e164>    sorted set, the number's history (below)
 *   KEYS[2]  <p>vel:b:<block>    sorted set, the number block's calls; only when mode says a block is tracked
 *   then     one bucket hash per reputation source (./reputation-layout.ts), read only: HGET of the
 *            number's field in each; none on a Redis Cluster (they live in other slots: the store
 *            reads them with separate commands sent at the same time)
 *   then     one block-count hash per source that counts blocks of the configured size (block
 *            reputation), read only: HGET of the block's field (ARGV[8]) in each; none on a Cluster

 * Score ranges keep the members apart: window counts (ZCOUNT over (at - window, at]) and trims only
 * ever see the members they are meant for.
 *   <callId>  score  at               a call (both sets). An empty callId and callIds beginning with
 *                                     "~", "-", "c:" or "d:" get a "~" in front (TypeScript side), so no
 *                                     call collides with the members below.
 *   d:<did>   score -at               number set: the last call from the number to that DID
 *   h:<did>   score -(2e14 + time)    number set: the last call from the number to that DID that reached
 *                                     a person (recordReachedHuman, after routing; it also trims them)
 *   ~m        score -(epoch + 1)      both sets: maintenance marker, epoch = floor(at / interval)
 *   ~e        score -inf              block set: exists as long as the set does
 *   c:p, c:f  score -(1e14 + time)    number set: last CAPTCHA pass / failure (recordCaptchaOutcome)
 *   c:n       score -(1e14 + count)   number set: CAPTCHA failures since the last pass
 *   c:o       score -(1e14 + time)    number set: the last answered call the business placed to the number
 *                                     (recordCalledByUs, off the call path; a known customer)
 * CAPTCHA members (and c:o) are below every trim range and make the set live 90 days, or
 * knownCustomer.days for c:o (its PEXPIRE then only ever lengthens, GT); they and h:<did> are the only
 * members a number set can have without ~m.
 * h:<did> members lie below the CAPTCHA members, out of every range here: recordReachedHuman, the
 * only writer, trims the old ones and keeps the set alive for the repeat memory (retention + interval
 * + slack from then, never shorter), so they cost the call path nothing but the ZMSCORE member.
 * Distinct DIDs: a ZCOUNT over [-at, -(at - didWindow)) sees only d:<did> members: calls are above 0,
 * CAPTCHA and h: members below -1e14 (times stay below 1e14 ms), and ~m's score -(epoch + 1) lies
 * at or above the exclusive upper bound: the store never lets the bound's time fall below
 * floor(at / 1000) + 1, and every maintenance interval is >= 1 s, so epoch + 1 <= that.
 *
 * Maintenance (trim + PEXPIRE) runs in the first write of each epoch (interval-long, so at most once
 * per interval per set, and at once after a clock jump in either direction) and when a set is
 * created; between two runs a set only gets ZADDs. A run trims calls at or before trimMax = at -
 * retention and (number set) d:<did> members older than that, and sets ttl = retention + interval +
 * slack. A call written at t, before the next epoch starts (t < last run + interval), must survive
 * until t + retention: inside that ttl. So a set never expires while it holds a call inside its
 * longest window or a repeat memory inside repeatWithin, and never exists without a ttl: the
 * PEXPIRE runs in the same script as the ZADD that creates a set (or recreates it after a trim
 * emptied it). Counts never depend on trimming: the ZCOUNT bounds exclude older calls anyway.
 *   Number set: read first. No ~m: the set holds no call (new, or CAPTCHA only), so every count is 1
 *   without a ZCOUNT. ~m of another epoch: trim (range (-trimMax, trimMax]: old d:<did>, ~m, old
 *   calls), then ZADD call + d:<did> + ~m, then PEXPIRE.
 *   Block set: not read (the number set tells whether the call is already recorded: the number set
 *   keeps calls at least as long as the block set). Its ZADD CH of call + ~e + ~m answers how many
 *   members changed: 1 = only the call (same epoch), 2 = the call and ~m (new epoch: trim (0,
 *   trimMax], PEXPIRE), 3 = all three (new set: PEXPIRE). (A refetch of a call the number set has
 *   forgotten but the block set still holds at the same time can only move ~m: it adds no member
 *   that needs a ttl, and the next call, finding ~m of another epoch, maintains.)
 *
 * ARGV (all strings):
 *   ARGV[1]  field      the number's field in the reputation buckets (E.164 digits)
 *   ARGV[2]  at         the call's time, epoch ms (from the caller, never Redis TIME)
 *   ARGV[3]  member     the call's sorted-set member (the callId, escaped)
 *   ARGV[4]  mode       4 bytes: "1" = live call (write), "0" = `callscreen check` or nothing tracked
 *                       (write nothing); the number of number windows, as the byte 48 + count; "1" when
 *                       KEYS[2] is the block set, "0" when no block is tracked; the number of block-count
 *                       keys (the last KEYS), as the byte 48 + count
 *   ARGV[5]  did        "d:<did>", or "" when neither the repeat caller nor the DID spread is on (nothing
 *                       read or written)
 *   ARGV[6]  human      "h:<did>", or "" when the repeat caller is off (read only)
 *   ARGV[7]  didBound   "(-<time>", the exclusive upper score bound of the DID window, or "" (no count)
 *   ARGV[8]  blockField the block's field in the block-count hashes, or "" when there are none
 *   ARGV[9]  mark       number set: -(epoch + 1), the current epoch's ~m score
 *   ARGV[10] trimMax    number set: at - retention (never below 0)
 *   ARGV[11] ttl        number set: PEXPIRE of a maintenance run, ms
 *   ARGV[12 .. 11 + n]  number set: "(<at - window>", the exclusive lower bound of each window
 *                       (never below "(0": only calls have positive scores)
 *   then, with a block set, its mark, trimMax, ttl, then its window bounds up to #ARGV

 * Reply (one flat table):
 *   [1] the score of this call's member in the number set, nil unless already recorded
 *   [2] the score of d:<did>, nil if none (or ARGV[5] is "")
 *   [3] [4] [5] the scores of c:p, c:f, c:n, each nil if none
 *   [6] the score of h:<did>, nil if none (or the repeat caller is off)
 *   [7] d:<did> members in the DID window, nil when not counted or the set holds no call (0)
 *   [8] the score of c:o, nil if none
 *   [9 ..] the number set's window counts, then the block set's (same order as the bounds)
 *   then each reputation bucket's value for the number (nil if it has none), in KEYS order, then each
 *   block-count hash's value for the block (nil if none), in KEYS order
 * The TypeScript side turns the scores into times: the previous call to the DID is -[2] unless that
 * is this very call ([1] equals it: a refetch is not its own previous call) or older than repeatWithin;
 * the distinct DIDs are [7], plus one unless d:<did> of this DID is inside the window already.

 * A window counts calls with a time in (at - window, at], this call included: ZCOUNT + 1 unless the
 * number set already holds this call (a refetch of the same callId keeps its first time, is counted
 * once and writes nothing). With record "0" nothing is written at all and the counts are what they
 * would have been had the call been recorded.
 *
 * Redis Cluster: a script's keys must share a slot. The store tags the number set and the block set
 * with the block ({<block>}, or {<e164>} when no block is tracked), so both live in the block's slot,
 * and reads the reputation buckets (which are spread by a hash of the number) outside the script.
 */
export const CALLER_HISTORY_LUA = `
-- redis.call, ARGV and KEYS as locals: a global lookup costs more than a local
local call, A, K = redis.call, ARGV, KEYS
local at, member, did = A[2], A[3], A[5]
local record, nCount, hasBlock, nBlock = string.byte(A[4], 1, 4)
nCount, nBlock = nCount - 48, nBlock - 48
-- the number set: one read for the refetch check, ~m, the repeat memories and the CAPTCHA history
local key = K[1]
local s = call('ZMSCORE', key, member, '~m', did, 'c:p', 'c:f', 'c:n', A[6], 'c:o')
-- sized for up to 6 counts (false: no reply[n] growth); reply[n + 1] = nil ends it
local reply = { s[1], s[3], s[4], s[5], s[6], s[7], false, s[8], false, false, false, false, false, false }
local mark, new, n = s[2], not s[1], 8
local negAt = did ~= '' and '-' .. at

-- no ~m: no call recorded yet, so only this one counts (and no d:<did> can exist)
if not mark then
  for j = 1, nCount do n = n + 1; reply[n] = 1 end
else
  -- distinct DIDs: the d:<did> members with a time in the DID window (the TypeScript side adds this DID)
  if A[7] ~= '' then reply[7] = call('ZCOUNT', key, negAt, A[7]) end
  if new then
    for j = 12, 11 + nCount do n = n + 1; reply[n] = call('ZCOUNT', key, A[j], at) + 1 end
  else
    for j = 12, 11 + nCount do n = n + 1; reply[n] = call('ZCOUNT', key, A[j], at) end
  end
end

local write = new and record == 49
if write then
  local m = A[9]
  if mark == m then -- same epoch: just the call (and the last call to the DID)
    if did == '' then call('ZADD', key, at, member)
    else call('ZADD', key, at, member, negAt, did) end
  else
    -- new epoch (or new set): trim, ZADD with the new ~m, PEXPIRE (never shorter with CAPTCHA members)
    if mark then call('ZREMRANGEBYSCORE', key, '(-' .. A[10], A[10]) end
    if did == '' then call('ZADD', key, at, member, m, '~m')
    else call('ZADD', key, at, member, negAt, did, m, '~m') end
    if s[4] or s[5] or s[6] or s[8] then call('PEXPIRE', key, A[11], 'GT')
    else call('PEXPIRE', key, A[11]) end
  end
end

-- the block set: counts, then ZADD CH tells whether this epoch is new (2) or the set is (3)
local firstBucket = 2
if hasBlock == 49 then
  key = K[2]
  firstBucket = 3
  local i = 12 + nCount
  if new then
    for j = i + 3, #A do n = n + 1; reply[n] = call('ZCOUNT', key, A[j], at) + 1 end
  else
    for j = i + 3, #A do n = n + 1; reply[n] = call('ZCOUNT', key, A[j], at) end
  end
  if write then
    local m = A[i]
    local changed = call('ZADD', key, 'CH', at, member, '-inf', '~e', m, '~m')
    if changed > 1 then
      if changed == 2 then call('ZREMRANGEBYSCORE', key, '(0', A[i + 1]) end
      call('PEXPIRE', key, A[i + 2])
    end
  end
end

-- the reputation sources: the number's entry in each source's bucket, then its block's count in each
-- source that counts blocks of the configured size
local field, last = A[1], #K - nBlock
for j = firstBucket, last do n = n + 1; reply[n] = call('HGET', K[j], field) end
field = A[8]
for j = last + 1, #K do n = n + 1; reply[n] = call('HGET', K[j], field) end
reply[n + 1] = nil
return reply
`;

/** The name the script is registered under with ioredis `defineCommand`. */
export const CALLER_HISTORY_COMMAND = 'callscreenCallerHistory';
