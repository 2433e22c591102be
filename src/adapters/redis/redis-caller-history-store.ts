/**
 * CallerHistoryStore on Redis: everything one screening decision reads (reputation entry, call
 * velocity of the number and its block, CAPTCHA history, the last call to this DID) comes from one
 * Lua script in one round trip (EVALSHA; ioredis sends EVAL the first time on a connection and again
 * after NOSCRIPT). Key layout and script arguments: ./caller-history-script.ts.
 *
 * Times come from the caller (query.at), never from Redis, so `callscreen check --at` and tests are
 * deterministic. Every Redis error rejects; the caller races fetch() against its decision deadline.
 *
 * Redis Cluster is not supported yet: one fetch touches keys in several hash slots (see the script).
 */
import type Redis from 'ioredis';
import type { CallerHistory, CaptchaHistory, WindowCount } from '../../domain/caller-history';
import type { ReputationEntry } from '../../domain/reputation';
import type { CallerHistoryQuery, CallerHistoryStore } from '../../ports/caller-history-store';
import { CALLER_HISTORY_COMMAND, CALLER_HISTORY_LUA } from './caller-history-script';

/** a CAPTCHA outcome is remembered this long after the last one */
export const CAPTCHA_TTL_MS = 90 * 24 * 3600 * 1000;
/** a velocity set lives this much longer than its longest window after the last call */
export const VELOCITY_TTL_SLACK_MS = 60_000;

type ScriptArg = string | number;
type HistoryCommand = (...args: ScriptArg[]) => Promise<unknown>;

export class RedisCallerHistoryStore implements CallerHistoryStore {
  private readonly command: HistoryCommand;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    // numberOfKeys left out: the block key is optional, so each call passes its own key count
    const commands = redis as unknown as Record<string, unknown>;
    if (typeof commands[CALLER_HISTORY_COMMAND] !== 'function') {
      redis.defineCommand(CALLER_HISTORY_COMMAND, { lua: CALLER_HISTORY_LUA });
    }
    const command = commands[CALLER_HISTORY_COMMAND] as HistoryCommand;
    this.command = command.bind(redis);
  }

  /** the keys one fetch touches, in the script's KEYS order (the block key only when there is a block) */
  keysFor(query: Pick<CallerHistoryQuery, 'e164' | 'did' | 'blockDigits'>): string[] {
    const p = this.keyPrefix;
    const keys = [`${p}reputation`, `${p}vel:n:${query.e164}`, `${p}captcha:${query.e164}`, `${p}last:${query.did}:${query.e164}`];
    const block = numberBlock(query.e164, query.blockDigits);
    if (block !== null) keys.push(`${p}vel:b:${block}`);
    return keys;
  }

  async fetch(query: CallerHistoryQuery): Promise<CallerHistory> {
    if (!Number.isFinite(query.at)) throw new RangeError(`caller history: call time ${query.at} is not a number`);
    const at = Math.trunc(query.at);
    const keys = this.keysFor(query);
    const hasBlock = keys.length === 5;
    const numberWindowsMs = query.numberWindowsSeconds.map(secondsToMs);
    const blockWindowsMs = hasBlock ? query.blockWindowsSeconds.map(secondsToMs) : [];
    const reply = await this.command(
      keys.length, ...keys,
      query.e164, String(at), query.callId, query.record ? '1' : '0', `${at}:${query.callId}`, String(secondsToMs(query.repeatWithinSeconds)),
      ...velocitySection(at, numberWindowsMs), ...velocitySection(at, blockWindowsMs),
    );
    return parseReply(reply, query, numberWindowsMs, blockWindowsMs);
  }

  async recordCaptchaOutcome(e164: string, outcome: 'passed' | 'failed', at: number): Promise<void> {
    if (!Number.isFinite(at)) throw new RangeError(`caller history: CAPTCHA time ${at} is not a number`);
    const key = `${this.keyPrefix}captcha:${e164}`;
    const tx = this.redis.multi();
    if (outcome === 'passed') tx.hset(key, 'passedAt', String(Math.trunc(at)), 'failures', '0');
    else tx.hset(key, 'failedAt', String(Math.trunc(at))).hincrby(key, 'failures', 1);
    tx.pexpire(key, CAPTCHA_TTL_MS);
    const results = await tx.exec();
    if (results === null) throw new Error(`caller history: CAPTCHA outcome for ${e164} was not written (transaction aborted)`);
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

/** the script's arguments for one sorted set: count, trimMax, ttlMs, then each non-empty window's lower bound */
function velocitySection(at: number, windowsMs: readonly number[]): string[] {
  const windows = windowsMs.filter((ms) => ms > 0);
  if (windows.length === 0) return ['0', '0', '0'];
  const longest = Math.max(...windows);
  return [String(windows.length), String(at - longest), String(longest + VELOCITY_TTL_SLACK_MS), ...windows.map((ms) => `(${at - ms}`)];
}

function parseReply(reply: unknown, query: CallerHistoryQuery, numberWindowsMs: readonly number[], blockWindowsMs: readonly number[]): CallerHistory {
  if (!Array.isArray(reply) || reply.length !== 5) throw new Error('caller history: unexpected reply from the Redis script');
  const [reputation, captchaFields, last, numberCounts, blockCounts] = reply as unknown[];
  const [passedAt, failedAt, failures] = Array.isArray(captchaFields) ? (captchaFields as unknown[]) : [];
  const captcha: CaptchaHistory = { failures: Math.max(0, toInteger(failures) ?? 0) };
  const lastPassedAt = toInteger(passedAt);
  const lastFailedAt = toInteger(failedAt);
  if (lastPassedAt !== undefined) captcha.lastPassedAt = lastPassedAt;
  if (lastFailedAt !== undefined) captcha.lastFailedAt = lastFailedAt;
  const history: CallerHistory = {
    reputation: typeof reputation === 'string' ? parseReputationEntry(reputation) : null,
    numberCalls: windowCounts(query.numberWindowsSeconds, numberWindowsMs, numberCounts),
    blockCalls: windowCounts(query.blockWindowsSeconds, blockWindowsMs, blockCounts),
    captcha,
  };
  const previousAt = previousCall(last, query.callId);
  if (previousAt !== undefined) history.previousCallToDidAt = previousAt;
  return history;
}

/** "<ms>:<callId>" -> ms, unless it is the call being fetched (a refetch is not its own previous call) */
function previousCall(stored: unknown, callId: string): number | undefined {
  if (typeof stored !== 'string') return undefined;
  const sep = stored.indexOf(':');
  if (sep < 0 || stored.slice(sep + 1) === callId) return undefined;
  return toInteger(stored.slice(0, sep));
}

/** the script counted only the non-empty windows, in order; empty ones (and a skipped block) are 0 */
function windowCounts(windowsSeconds: readonly number[], windowsMs: readonly number[], counts: unknown): WindowCount[] {
  const list = Array.isArray(counts) ? (counts as unknown[]) : [];
  let next = 0;
  return windowsSeconds.map((windowSeconds, i) => {
    const counted = (windowsMs[i] ?? 0) > 0;
    return { windowSeconds, calls: counted ? (toInteger(list[next++]) ?? 0) : 0 };
  });
}

function toInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/** read exactly like RedisReputationStore: invalid JSON or no numeric score = unlisted */
export function parseReputationEntry(raw: string): ReputationEntry | null {
  try {
    const v = JSON.parse(raw) as Partial<ReputationEntry> | null;
    if (v === null || typeof v !== 'object' || typeof v.score !== 'number' || !Number.isFinite(v.score)) return null;
    const entry: ReputationEntry = { score: v.score, reports: typeof v.reports === 'number' ? v.reports : 0 };
    if (typeof v.category === 'string') entry.category = v.category;
    if (typeof v.source === 'string') entry.source = v.source;
    if (typeof v.firstSeenAt === 'number' && Number.isFinite(v.firstSeenAt)) entry.firstSeenAt = v.firstSeenAt;
    if (typeof v.lastSeenAt === 'number' && Number.isFinite(v.lastSeenAt)) entry.lastSeenAt = v.lastSeenAt;
    return entry;
  } catch {
    return null;
  }
}
