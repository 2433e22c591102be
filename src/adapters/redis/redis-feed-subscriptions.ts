/**
 * FeedSubscriptionStore on Redis (src/ports/feed-subscriptions.ts):
 *
 *   <p>feeds:status         hash    field = feed name, value = JSON FeedStatus
 *   <p>feeds:lock:<name>    string  a runner's random token, with a TTL (SET NX PX)
 *
 * The lock is taken with SET NX PX and given back or extended only by the holder of its token (one Lua
 * script each, comparing the token first), so a runner whose lock expired while it worked never frees
 * or keeps the lock of the runner that took it over. A runner that dies leaves a lock that expires.
 * Imports go through writeFeedGeneration (./reputation-import.ts), as `callscreen import` does. Only
 * single-key commands: works on Redis Cluster too.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-connection';
import { listSources, writeFeedGeneration, type GenerationInput } from './reputation-import';
import type { PackedEntries } from '../../domain/reputation-entry';
import type { FeedImportResult, FeedLease, FeedStatus, FeedSubscriptionStore } from '../../ports/feed-subscriptions';

export function feedStatusKey(prefix: string): string {
  return `${prefix}feeds:status`;
}
export function feedLockKey(prefix: string, name: string): string {
  return `${prefix}feeds:lock:${name}`;
}

/** KEYS[1] the lock, ARGV[1] the token: delete it if it is still ours */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** KEYS[1] the lock, ARGV[1] the token, ARGV[2] the TTL in ms: extend it if it is still ours */
const EXTEND_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** what imports pass on to writeFeedGeneration besides the entries (e.g. the block size counted) */
export type FeedGenerationOptions = Omit<GenerationInput, 'source' | 'origin' | 'entries' | 'categories'>;

export class RedisFeedSubscriptionStore implements FeedSubscriptionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly generationOptions: FeedGenerationOptions = {},
  ) {}

  async statuses(): Promise<Map<string, FeedStatus>> {
    const raw = await this.redis.hgetall(feedStatusKey(this.prefix));
    const result = new Map<string, FeedStatus>();
    for (const [name, json] of Object.entries(raw)) {
      const status = parseStatus(name, json);
      if (status) result.set(name, status);
    }
    return result;
  }

  async status(name: string): Promise<FeedStatus | undefined> {
    const json = await this.redis.hget(feedStatusKey(this.prefix), name);
    return json === null ? undefined : parseStatus(name, json);
  }

  async saveStatus(status: FeedStatus): Promise<void> {
    await this.redis.hset(feedStatusKey(this.prefix), status.name, JSON.stringify(status));
  }

  async tryLock(name: string, ttlMs: number): Promise<FeedLease | undefined> {
    const key = feedLockKey(this.prefix, name);
    const token = randomBytes(16).toString('hex');
    const taken = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (taken !== 'OK') return undefined;
    const redis = this.redis;
    return {
      token,
      extend: async (ms) => Number(await redis.eval(EXTEND_LUA, 1, key, token, String(ms))) === 1,
      release: async () => {
        await redis.eval(RELEASE_LUA, 1, key, token);
      },
    };
  }

  async lockHeld(name: string): Promise<boolean> {
    return (await this.redis.exists(feedLockKey(this.prefix, name))) === 1;
  }

  async liveEntries(source: string): Promise<number | undefined> {
    const { sources } = await listSources(this.redis, this.prefix);
    return sources.find((s) => s.name === source)?.entries;
  }

  async importGeneration(
    source: string,
    origin: string,
    entries: PackedEntries,
    categories: string[],
  ): Promise<FeedImportResult> {
    const result = await writeFeedGeneration(this.redis, this.prefix, {
      ...this.generationOptions,
      source,
      origin,
      entries,
      categories,
    });
    return { entries: result.entries, added: result.added, removed: result.removed, gen: result.record.gen };
  }
}

/** a status written by an older or newer version keeps what it can; one that is not JSON is left out */
function parseStatus(name: string, json: string): FeedStatus | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const num = (key: string): number | undefined =>
    typeof v[key] === 'number' && Number.isFinite(v[key]) ? v[key] : undefined;
  const str = (key: string): string | undefined => (typeof v[key] === 'string' ? v[key] : undefined);
  const status: FeedStatus = { name, failures: num('failures') ?? 0 };
  for (const key of [
    'lastAttemptAt',
    'lastSuccessAt',
    'lastImportAt',
    'lastErrorAt',
    'entries',
    'httpStatus',
    'nextRunAt',
  ] as const) {
    const value = num(key);
    if (value !== undefined) status[key] = value;
  }
  for (const key of ['lastError', 'etag', 'lastModified', 'host'] as const) {
    const value = str(key);
    if (value !== undefined) status[key] = value;
  }
  return status;
}
