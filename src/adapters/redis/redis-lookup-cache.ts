/**
 * The online lookup cache in Redis (LookupCache): one string per provider and number, JSON, with the
 * entry's own time to live (SET ... EX), shared by every daemon on the same Redis.
 *
 *   <p>lookup:{<E.164 digits>}:<provider>   string  JSON CachedLookup
 *
 * The number is the hash tag, so one number's entries for every provider sit in one slot and a read is
 * one MGET on Redis Cluster too. An entry that does not parse is treated as absent (and is overwritten
 * by the next answer).
 */
import type { CachedLookup, LookupCache } from '../../ports/lookup-cache';
import type { RedisClient } from './redis-connection';

export function lookupCacheKey(keyPrefix: string, e164: string, provider: string): string {
  return `${keyPrefix}lookup:{${e164.replace(/^\+/, '')}}:${provider}`;
}

export class RedisLookupCache implements LookupCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async read(e164: string, providers: readonly string[]): Promise<Map<string, CachedLookup>> {
    const found = new Map<string, CachedLookup>();
    if (providers.length === 0) return found;
    const values = await this.redis.mget(...providers.map((p) => lookupCacheKey(this.keyPrefix, e164, p)));
    providers.forEach((provider, i) => {
      const entry = parseEntry(values[i]);
      if (entry) found.set(provider, entry);
    });
    return found;
  }

  async write(e164: string, provider: string, entry: CachedLookup, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    await this.redis.set(lookupCacheKey(this.keyPrefix, e164, provider), JSON.stringify(entry), 'EX', ttlSeconds);
  }
}

function parseEntry(text: string | null | undefined): CachedLookup | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<CachedLookup> & Record<string, unknown>;
    if (typeof value !== 'object' || value === null || typeof value.at !== 'number') return undefined;
    if (value.status === 'answered' && typeof value.score === 'number') return value as CachedLookup;
    if (value.status === 'unknown') return { status: 'unknown', at: value.at };
    if (value.status === 'failed') return { status: 'failed', detail: String(value.detail ?? 'failed'), at: value.at };
    return undefined;
  } catch {
    return undefined;
  }
}
