/**
 * Where online lookup answers are kept between calls (src/reputation/lookups/): in Redis, shared by every
 * daemon on it, each entry with its own time to live (answers, "unknown" and failures live differently
 * long). The adapter: src/adapters/redis/redis-lookup-cache.ts.
 */

/** What a provider said about a number, as kept in the cache. */
export type CachedLookup =
  | { status: 'answered'; score: number; reports?: number; category?: string; name?: string; at: number }
  | { status: 'unknown'; at: number }
  | { status: 'failed'; detail: string; at: number };

export interface LookupCache {
  /** the cached answers for the number from these providers (a provider without one is absent); one round trip */
  read(e164: string, providers: readonly string[]): Promise<Map<string, CachedLookup>>;
  /** keep a provider's answer for ttlSeconds */
  write(e164: string, provider: string, entry: CachedLookup, ttlSeconds: number): Promise<void>;
}
