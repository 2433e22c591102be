/**
 * ReputationStore on Redis: one hash, field = E.164 number, value = a compact JSON entry.
 * A lookup is one HGET, so a decision costs one round trip.
 */
import type { RedisClient } from './redis-connection';
import type { ReputationEntry } from '../../domain/reputation';
import type { ReputationStore } from '../../ports/reputation-store';
import { parseReputationEntry } from './redis-caller-history-store';

export class RedisReputationStore implements ReputationStore {
  readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
  ) {
    this.key = `${keyPrefix}reputation`;
  }

  async lookup(e164: string): Promise<ReputationEntry | null> {
    const raw = await this.redis.hget(this.key, e164);
    return raw === null ? null : parseReputationEntry(raw);
  }

  async put(entries: ReadonlyArray<{ e164: string; entry: ReputationEntry }>): Promise<number> {
    const chunk = 1000;
    for (let i = 0; i < entries.length; i += chunk) {
      const fields: string[] = [];
      for (const { e164, entry } of entries.slice(i, i + chunk)) fields.push(e164, JSON.stringify(entry));
      await this.redis.hset(this.key, ...fields);
    }
    return entries.length;
  }
}
