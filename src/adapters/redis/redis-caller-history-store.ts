/**
 * CallerHistoryStore on Redis: everything one screening decision reads (reputation entry, call
 * velocity of the number and its block, CAPTCHA history, the last call to this DID) comes from one
 * Lua script in one round trip (EVALSHA; ioredis sends EVAL the first time on a connection and again
 * after NOSCRIPT). Key layout, maintenance and script arguments: ./caller-history-script.ts.
 *
 * Times come from the caller (query.at), never from Redis, so `callscreen check --at` and tests are
 * deterministic. Every Redis error rejects; the caller races fetch() against its decision deadline.
 *
 * fetch() runs on every call, so it stays cheap: the per-configuration arithmetic (retention,
 * maintenance interval, ttl) is cached per window list, and the script gets ready-made strings.
 *
 * The reputation list is read in the same script: one bucket per source (./reputation-layout.ts), the
 * sources known from a ReputationSourceTable the daemon keeps fresh. On a Redis Cluster the script
 * keys carry a hash tag and the buckets are read by separate HGETs sent at the same time as the script
 * (they live in other slots), so a decision still waits for one round trip.
 */
import type { BlockListing, CallerHistory, CaptchaHistory, WindowCount } from '../../domain/caller-history';
import type { ReputationEntry, ReputationView } from '../../domain/reputation';
import type { CallerHistoryQuery, CallerHistoryStore } from '../../ports/caller-history-store';
import { CALLER_HISTORY_COMMAND, CALLER_HISTORY_LUA } from './caller-history-script';
import type { RedisClient } from './redis-connection';
import { blockField, numberField, sourceBlockKey, sourceBucketKey, type SourceRecord } from './reputation-layout';
import { dayStartMs, decodeBlockCount, decodeFeedbackEntry, decodeFeedEntry } from '../../domain/reputation-entry';

/** a CAPTCHA outcome is remembered this long after the last one */
export const CAPTCHA_TTL_MS = 90 * 24 * 3600 * 1000;
/** CAPTCHA members of the number's sorted set have the score -(CAPTCHA_SCORE_BASE + value): below every trim */
export const CAPTCHA_SCORE_BASE = 1e14;
/** a sorted set lives this much longer than it needs to (retention + maintenance interval): slack for clocks and latency */
export const VELOCITY_TTL_SLACK_MS = 60_000;
/** calls are kept at least this long, whatever the windows, so a refetch of a call is recognised */
export const CALL_MEMORY_MIN_MS = 60_000;
/** trim + PEXPIRE of a set run at most once per interval: its retention / 8, within these bounds */
export const MAINTENANCE_INTERVAL_MIN_MS = 1_000;
export const MAINTENANCE_INTERVAL_MAX_MS = 300_000;
/** the most windows one scope can count (the script reads the number's count from one byte) */
export const MAX_WINDOWS = 78;
/** h:<did> members of the number's sorted set have the score -(REACHED_HUMAN_SCORE_BASE + time): below the CAPTCHA members */
export const REACHED_HUMAN_SCORE_BASE = 2e14;
/** how long recordReachedHuman keeps h:<did> members when this store has not fetched yet (no plan known) */
export const REACHED_HUMAN_DEFAULT_MS = 24 * 3600 * 1000;
/** the most block-count keys one fetch reads (the script reads their count from one byte) */
export const MAX_BLOCK_SOURCES = 78;

/** how often a set whose members must be kept `retentionMs` is maintained (trimmed and its TTL refreshed) */
export function maintenanceIntervalMs(retentionMs: number): number {
  return Math.min(MAINTENANCE_INTERVAL_MAX_MS, Math.max(MAINTENANCE_INTERVAL_MIN_MS, Math.round(retentionMs / 8)));
}

type HistoryCommand = (args: ReadonlyArray<string | number>) => Promise<unknown>;

/** What the script needs to know about one sorted set that does not depend on the call (cached per window list). */
interface SetPlan {
  /** the window list (seconds) and retention floor this plan was made for; the list copied */
  readonly windowsSeconds: readonly number[];
  readonly floorMs: number;
  /** each window in ms, 0 for a window that counts nothing; in the query's order */
  readonly windowsMs: readonly number[];
  /** the counted (positive) windows in ms, in the query's order: the script's bounds */
  readonly countedMs: readonly number[];
  readonly longestMs: number;
  /** the script's mode argument for the number set: record or check, then the byte 48 + count */
  readonly recordMode: string;
  readonly checkMode: string;
  /**
   * how long calls (and d:<did> members) are kept: the longest window, the floor (number set: the
   * repeat memory and the longest block window), at least CALL_MEMORY_MIN_MS. A maintenance run trims
   * what is older.
   */
  readonly retentionMs: number;
  /** maintenance runs in the first write of each interval-long epoch */
  readonly intervalMs: number;
  /** PEXPIRE of a maintenance run: retention + interval + slack */
  readonly ttlArg: string;
}

/** Where the store learns which reputation sources exist (a ReputationSourceTable in the daemon). */
export interface ReputationSourceList {
  /** the sources as last read; awaits the first read when there has been none */
  sources(): readonly SourceRecord[] | Promise<readonly SourceRecord[]>;
}

const NO_SOURCES: ReputationSourceList = { sources: () => [] };

export class RedisCallerHistoryStore implements CallerHistoryStore {
  private readonly command: HistoryCommand;
  private numberPlan: SetPlan | undefined;
  private blockPlan: SetPlan | undefined;
  private readonly cluster: boolean;
  /** the block size of the last fetch: on a Cluster the number set's hash tag depends on it */
  private blockDigits = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly reputation: ReputationSourceList = NO_SOURCES,
  ) {
    this.cluster = (redis as { isCluster?: boolean }).isCluster === true;
    // numberOfKeys left out: the block key and the buckets vary, so each call passes its own key count
    const commands = redis as unknown as Record<string, unknown>;
    if (typeof commands[CALLER_HISTORY_COMMAND] !== 'function') {
      redis.defineCommand(CALLER_HISTORY_COMMAND, { lua: CALLER_HISTORY_LUA });
    }
    const command = commands[CALLER_HISTORY_COMMAND] as HistoryCommand;
    this.command = command.bind(redis);
  }

  /**
   * The caller-history keys of a number, in the script's KEYS order: the number's sorted set (calls,
   * repeat memory, CAPTCHA outcomes) and, when the number has a block, the block's sorted set. On a
   * Cluster both carry the block (or the number) as hash tag.
   */
  keysFor(query: Pick<CallerHistoryQuery, 'e164' | 'blockDigits'>): string[] {
    const block = numberBlock(query.e164, query.blockDigits);
    const keys = [this.numberKey(query.e164, block)];
    if (block !== null) keys.push(this.blockKey(block));
    return keys;
  }

  private numberKey(e164: string, block: string | null): string {
    return this.cluster ? `${this.keyPrefix}caller:{${block ?? e164}}${e164}` : `${this.keyPrefix}caller:${e164}`;
  }

  private blockKey(block: string): string {
    return this.cluster ? `${this.keyPrefix}vel:b:{${block}}` : `${this.keyPrefix}vel:b:${block}`;
  }

  async fetch(query: CallerHistoryQuery): Promise<CallerHistory> {
    if (!Number.isFinite(query.at) || query.at < 1)
      throw new RangeError(`caller history: call time ${query.at} is not a positive epoch ms`);
    const listed = this.reputation.sources();
    const sources = Array.isArray(listed) ? (listed as readonly SourceRecord[]) : await listed;
    const at = Math.trunc(query.at);
    const repeatMs = secondsToMs(query.repeatWithinSeconds);
    const didWindowMs = secondsToMs(query.didWindowSeconds);
    const blockPlan = (this.blockPlan = planFor(this.blockPlan, query.blockWindowsSeconds, 0));
    const numberPlan = (this.numberPlan = planFor(
      this.numberPlan,
      query.numberWindowsSeconds,
      Math.max(repeatMs, didWindowMs, blockPlan.longestMs),
    ));
    this.blockDigits = query.blockDigits;
    const block = blockPlan.longestMs > 0 ? numberBlock(query.e164, query.blockDigits) : null;
    const tracked = numberPlan.longestMs > 0 || repeatMs > 0 || didWindowMs > 0 || block !== null;
    const field = numberField(query.e164);
    const buckets = sources.map((source) => sourceBucketKey(this.keyPrefix, source, field));
    const listing = blockListingKeys(this.keyPrefix, sources, query.e164, query.blockReputationDigits);
    const inScript = this.cluster ? 0 : buckets.length;
    const blocksInScript = this.cluster ? 0 : listing.keys.length;
    const args: Array<string | number> = [
      1 + (block === null ? 0 : 1) + inScript + blocksInScript,
      this.numberKey(query.e164, this.cluster ? numberBlock(query.e164, query.blockDigits) : block),
    ];
    if (block !== null) args.push(this.blockKey(block));
    for (let i = 0; i < inScript; i++) args.push(buckets[i] as string);
    for (let i = 0; i < blocksInScript; i++) args.push(listing.keys[i] as string);
    // the DID window's exclusive upper score bound, kept below every ~m score (-(at / 1000 + 1) or above)
    const didBound = didWindowMs > 0 ? Math.max(at - didWindowMs, Math.floor(at / MAINTENANCE_INTERVAL_MIN_MS) + 1) : 0;
    args.push(
      field,
      String(at),
      callMember(query.callId),
      `${query.record && tracked ? numberPlan.recordMode : numberPlan.checkMode}${block === null ? '0' : '1'}${String.fromCharCode(48 + blocksInScript)}`,
      repeatMs > 0 || didWindowMs > 0 ? `d:${query.did}` : '',
      repeatMs > 0 ? `h:${query.did}` : '',
      didWindowMs > 0 ? `(-${didBound}` : '',
      listing.field,
    );
    pushSection(args, at, numberPlan);
    if (block !== null) pushSection(args, at, blockPlan);
    let reply: unknown;
    let values: unknown[];
    let blockValues: unknown[];
    if (inScript === buckets.length && blocksInScript === listing.keys.length) {
      reply = await this.command(args);
      const end = Array.isArray(reply) ? reply.length : 0;
      values = Array.isArray(reply)
        ? reply.slice(end - listing.keys.length - buckets.length, end - listing.keys.length)
        : [];
      blockValues = Array.isArray(reply) ? reply.slice(end - listing.keys.length) : [];
    } else {
      // Cluster: the buckets live in other slots; send their reads together with the script
      const [scriptReply, ...hashValues] = await Promise.all([
        this.command(args),
        ...buckets.map((key) => this.redis.hget(key, field)),
        ...listing.keys.map((key) => this.redis.hget(key, listing.field)),
      ]);
      reply = Array.isArray(scriptReply) ? [...(scriptReply as unknown[]), ...hashValues] : scriptReply;
      values = hashValues.slice(0, buckets.length);
      blockValues = hashValues.slice(buckets.length);
    }
    const history = parseReply(
      reply,
      query,
      at,
      { repeatMs, didWindowMs, didBound },
      numberPlan,
      block === null ? null : blockPlan,
      sources.length + listing.keys.length,
      reputationView(sources, values),
    );
    if (query.blockReputationDigits > 0)
      history.block = blockListing(query.blockReputationDigits, listing.sources, blockValues);
    return history;
  }

  /**
   * Remembers that a call from the number to `did` reached a person at `at`: the member h:<did> of the
   * number's sorted set (score -(REACHED_HUMAN_SCORE_BASE + at), a later time wins), in one MULTI that
   * also trims h: members older than the repeat memory and makes the set live at least that long from
   * now. Runs after routing, off the call path.
   */
  async recordReachedHuman(e164: string, did: string, at: number): Promise<void> {
    if (!Number.isFinite(at) || at < 1)
      throw new RangeError(`caller history: time ${at} a call reached a person is not a positive epoch ms`);
    const key = this.numberKey(e164, this.cluster ? numberBlock(e164, this.blockDigits) : null);
    const time = Math.trunc(at);
    const plan = this.numberPlan;
    const keepMs = plan?.retentionMs ?? REACHED_HUMAN_DEFAULT_MS;
    const ttl = plan?.ttlArg ?? String(REACHED_HUMAN_DEFAULT_MS + VELOCITY_TTL_SLACK_MS);
    const tx = this.redis.multi();
    // h: members reached before time - keepMs: scores in (-(base + time - keepMs), -base]
    tx.zremrangebyscore(key, `(${-(REACHED_HUMAN_SCORE_BASE + Math.max(0, time - keepMs))}`, -REACHED_HUMAN_SCORE_BASE);
    tx.zadd(key, 'LT', String(-(REACHED_HUMAN_SCORE_BASE + time)), `h:${did}`);
    // NX: a set without a TTL (just created) gets one; GT: one that lives shorter lives longer now
    tx.pexpire(key, ttl, 'NX').pexpire(key, ttl, 'GT');
    const results = await tx.exec();
    if (results === null)
      throw new Error(`caller history: reached-a-person for ${e164} was not written (transaction aborted)`);
    for (const [err] of results) if (err) throw err;
  }

  /**
   * Remembers the outcome in the number's sorted set (members c:p, c:f, c:n, see the script) and makes
   * the set live CAPTCHA_TTL_MS from now, never shorter than it already lives.
   */
  async recordCalledByUs(e164: string, at: number, keepMs: number): Promise<void> {
    if (!Number.isFinite(at) || at < 1)
      throw new RangeError(`caller history: time ${at} the number was called is not a positive epoch ms`);
    if (!Number.isFinite(keepMs) || keepMs < 1)
      throw new RangeError(`caller history: keep ${keepMs} ms is not positive`);
    const key = this.numberKey(e164, this.cluster ? numberBlock(e164, this.blockDigits) : null);
    const ttl = String(Math.round(keepMs));
    const tx = this.redis.multi();
    // LT: the later call (the lower score) wins; NX then GT: a TTL for a new set, never a shorter one
    tx.zadd(key, 'LT', String(-(CAPTCHA_SCORE_BASE + Math.trunc(at))), 'c:o');
    tx.pexpire(key, ttl, 'NX').pexpire(key, ttl, 'GT');
    const results = await tx.exec();
    if (results === null)
      throw new Error(`caller history: the call to ${e164} was not remembered (transaction aborted)`);
    for (const [err] of results) if (err) throw err;
  }

  async recordCaptchaOutcome(e164: string, outcome: 'passed' | 'failed', at: number): Promise<void> {
    if (!Number.isFinite(at)) throw new RangeError(`caller history: CAPTCHA time ${at} is not a number`);
    const key = this.numberKey(e164, this.cluster ? numberBlock(e164, this.blockDigits) : null);
    const time = String(-(CAPTCHA_SCORE_BASE + Math.trunc(at)));
    const none = String(-CAPTCHA_SCORE_BASE);
    const tx = this.redis.multi();
    if (outcome === 'passed') tx.zadd(key, time, 'c:p', none, 'c:n');
    else tx.zadd(key, 'NX', none, 'c:n').zincrby(key, -1, 'c:n').zadd(key, time, 'c:f');
    // NX: a set without a TTL (just created) gets one; GT: one that lives shorter lives longer now
    tx.pexpire(key, CAPTCHA_TTL_MS, 'NX').pexpire(key, CAPTCHA_TTL_MS, 'GT');
    const results = await tx.exec();
    if (results === null)
      throw new Error(`caller history: CAPTCHA outcome for ${e164} was not written (transaction aborted)`);
    for (const [err] of results) if (err) throw err;
  }
}

/** the number without its last `blockDigits` digits, or null when blocks are off or the number is too short */
export function numberBlock(e164: string, blockDigits: number): string | null {
  const strip = Number.isFinite(blockDigits) ? Math.trunc(blockDigits) : 0;
  if (strip <= 0) return null;
  const digits = e164.startsWith('+') ? e164.length - 1 : e164.length;
  if (digits <= strip) return null;
  return e164.slice(0, e164.length - strip);
}

/** seconds from config to whole milliseconds; anything not positive is an empty window (0) */
function secondsToMs(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
}

/**
 * The sorted-set member of a call: the callId, with a "~" in front when it is empty or begins with
 * "~", "-", "c:" or "d:", so no callId collides with the bookkeeping members (~m, ~e, c:*, d:*) and
 * the escape is injective.
 */
function callMember(callId: string): string {
  const c = callId.charCodeAt(0);
  const escape =
    callId === '' ||
    c === 0x7e /* ~ */ ||
    c === 0x2d /* - */ ||
    ((c === 0x63 /* c */ || c === 0x64) /* d */ && callId.charCodeAt(1) === 0x3a); /* : */
  return escape ? `~${callId}` : callId;
}

/** the cached plan when it was made for the same windows and floor, else a new one */
function planFor(cached: SetPlan | undefined, windowsSeconds: readonly number[], floorMs: number): SetPlan {
  if (cached !== undefined && cached.floorMs === floorMs && sameNumbers(cached.windowsSeconds, windowsSeconds))
    return cached;
  const windowsMs = windowsSeconds.map(secondsToMs);
  const countedMs = windowsMs.filter((ms) => ms > 0);
  if (countedMs.length > MAX_WINDOWS)
    throw new RangeError(`caller history: at most ${MAX_WINDOWS} windows per scope, got ${countedMs.length}`);
  const longestMs = Math.max(0, ...countedMs);
  const retentionMs = Math.max(CALL_MEMORY_MIN_MS, floorMs, longestMs);
  const intervalMs = maintenanceIntervalMs(retentionMs);
  const count = String.fromCharCode(48 + countedMs.length);
  return {
    windowsSeconds: [...windowsSeconds],
    floorMs,
    windowsMs,
    countedMs,
    longestMs,
    recordMode: `1${count}`,
    checkMode: `0${count}`,
    retentionMs,
    intervalMs,
    ttlArg: String(retentionMs + intervalMs + VELOCITY_TTL_SLACK_MS),
  };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * One set's script section: the current epoch's ~m score, trimMax, ttl, then each counted window's
 * exclusive lower bound. Neither trimMax nor a bound goes below 0: a window reaching back before
 * 1970 must not count the bookkeeping members (negative scores), nor a trim remove them.
 */
function pushSection(args: Array<string | number>, at: number, plan: SetPlan): void {
  args.push(String(-(Math.floor(at / plan.intervalMs) + 1)), String(Math.max(0, at - plan.retentionMs)), plan.ttlArg);
  for (const ms of plan.countedMs) args.push(ms < at ? `(${at - ms}` : '(0');
}

/** The repeat memory and the DID window of one fetch, ms; didBound: the window's exclusive lower time bound. */
interface Memories {
  repeatMs: number;
  didWindowMs: number;
  didBound: number;
}

/**
 * reply: the call's own score, the d:<did> score, the c:p, c:f, c:n scores, the h:<did> score, the
 * d:<did> members in the DID window, the counts, then one value per reputation bucket and block-count key
 */
function parseReply(
  reply: unknown,
  query: CallerHistoryQuery,
  at: number,
  memories: Memories,
  numberPlan: SetPlan,
  blockPlan: SetPlan | null,
  hashes: number,
  reputation: ReputationView,
): CallerHistory {
  const numberCounted = numberPlan.countedMs.length;
  if (
    !Array.isArray(reply) ||
    reply.length !== 8 + numberCounted + (blockPlan === null ? 0 : blockPlan.countedMs.length) + hashes
  ) {
    throw new Error('caller history: unexpected reply from the Redis script');
  }
  const list = reply as unknown[];
  const captcha: CaptchaHistory = { failures: Math.max(0, memberValue(list[4]) ?? 0) };
  const lastPassedAt = memberValue(list[2]);
  const lastFailedAt = memberValue(list[3]);
  if (lastPassedAt !== undefined) captcha.lastPassedAt = lastPassedAt;
  if (lastFailedAt !== undefined) captcha.lastFailedAt = lastFailedAt;
  const history: CallerHistory = {
    reputation,
    numberCalls: windowCounts(query.numberWindowsSeconds, numberPlan.windowsMs, list, 8),
    blockCalls:
      blockPlan === null
        ? query.blockWindowsSeconds.map((windowSeconds) => ({ windowSeconds, calls: 0 }))
        : windowCounts(query.blockWindowsSeconds, blockPlan.windowsMs, list, 8 + numberCounted),
    captcha,
  };
  const calledByUsAt = memberValue(list[7]);
  if (calledByUsAt !== undefined) history.calledByUsAt = calledByUsAt;
  const { repeatMs, didWindowMs, didBound } = memories;
  if (repeatMs > 0) {
    const previousAt = previousCall(list[0], list[1], at, repeatMs);
    if (previousAt !== undefined) history.previousCallToDidAt = previousAt;
    const reached = toInteger(list[5]);
    const reachedAt = reached === undefined ? undefined : -reached - REACHED_HUMAN_SCORE_BASE;
    if (reachedAt !== undefined && at - reachedAt <= repeatMs) history.reachedHumanAt = reachedAt;
  }
  if (didWindowMs > 0) {
    // the other DIDs' members in the window, and this DID unless its own member is among them already
    const lastToDid = toInteger(list[1]);
    const counted = lastToDid !== undefined && -lastToDid > didBound && -lastToDid <= at;
    history.didsCalled = Math.max(1, (toInteger(list[6]) ?? 0) + (counted ? 0 : 1));
  }
  return history;
}

/** The block-count keys of the sources that count blocks of `digits` digits, and the block's field. */
function blockListingKeys(
  prefix: string,
  sources: readonly SourceRecord[],
  e164: string,
  digits: number,
): { field: string; keys: string[]; sources: string[] } {
  const field = digits > 0 ? blockField(e164, digits) : null;
  const listing = { field: field ?? '', keys: [] as string[], sources: [] as string[] };
  if (field === null) return listing;
  for (const source of sources) {
    const key = sourceBlockKey(prefix, source, field, digits);
    if (key === null || listing.keys.length >= MAX_BLOCK_SOURCES) continue;
    listing.keys.push(key);
    listing.sources.push(source.name);
  }
  return listing;
}

/** The block-count values read -> what the core reads (a value that does not decode is ignored). */
function blockListing(digits: number, sources: readonly string[], values: readonly unknown[]): BlockListing {
  const listing: BlockListing = { blockDigits: digits, counts: [] };
  sources.forEach((source, i) => {
    const value = values[i];
    if (typeof value !== 'string') return;
    const count = decodeBlockCount(value);
    if (count && count.numbers > 0) listing.counts.push({ source, ...count });
  });
  return listing;
}

/**
 * The sources' stored values for one number -> what the core reads: feed and live entries (a value
 * that does not decode is ignored: a reader must not fail on one odd field) and the agents' feedback.
 */
export function reputationView(sources: readonly SourceRecord[], values: readonly unknown[]): ReputationView {
  const view: ReputationView = { entries: [] };
  sources.forEach((source, i) => {
    const value = values[i];
    if (typeof value !== 'string') return;
    if (source.kind === 'feedback') {
      const feedback = decodeFeedbackEntry(value);
      if (feedback) view.feedback = feedback;
      return;
    }
    const packed = decodeFeedEntry(value);
    if (!packed) return;
    const entry: ReputationEntry = {
      source: source.name,
      score: packed.score / 100,
      reports: packed.reports,
      firstSeenAt: dayStartMs(packed.firstDay),
      lastSeenAt: dayStartMs(packed.lastDay),
    };
    const category = packed.category > 0 ? source.categories[packed.category - 1] : undefined;
    if (category) entry.category = category;
    view.entries.push(entry);
  });
  return view;
}

/** a score -(CAPTCHA_SCORE_BASE + value) -> value: the CAPTCHA members and c:o (called by us) */
function memberValue(score: unknown): number | undefined {
  const n = toInteger(score);
  return n === undefined ? undefined : -n - CAPTCHA_SCORE_BASE;
}

/**
 * The previous call to the DID from the scores read before this call: the time stored in d:<did>
 * (score -time), unless it is this very call (the call's own member has that time: a refetch is not
 * its own previous call) or more than repeatWithin before this call.
 */
function previousCall(ownScore: unknown, didScore: unknown, at: number, repeatMs: number): number | undefined {
  const stored = toInteger(didScore);
  if (stored === undefined) return undefined;
  const previousAt = -stored;
  if (toInteger(ownScore) === previousAt || at - previousAt > repeatMs) return undefined;
  return previousAt;
}

/** the script counted only the positive windows, in order, from reply[offset]; the others are 0 */
function windowCounts(
  windowsSeconds: readonly number[],
  windowsMs: readonly number[],
  reply: readonly unknown[],
  offset: number,
): WindowCount[] {
  let next = offset;
  return windowsSeconds.map((windowSeconds, i) => ({
    windowSeconds,
    calls: (windowsMs[i] ?? 0) > 0 ? (toInteger(reply[next++]) ?? 0) : 0,
  }));
}

function toInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}
