/**
 * ReputationStore on Redis (layout: ./reputation-layout.ts). `lookup` reads the number's field in
 * every source's bucket (one pipelined round trip; the screening path reads the same buckets inside
 * its history script). `put` writes entries of a live source such as `manual`.
 */
import type { ReputationView } from '../../domain/reputation';
import type { LiveReputationEntry, ReputationStore } from '../../ports/reputation-store';
import { reputationView } from './redis-caller-history-store';
import type { RedisClient } from './redis-connection';
import {
  bucketKey,
  bucketOf,
  LIVE_BUCKETS,
  numberField,
  parseSourceTable,
  SOURCE_NAME_PATTERN,
  sourceBucketKey,
  sourcesKey,
  type SourceRecord,
} from './reputation-layout';
import { dayOf, encodeFeedEntry, MAX_CATEGORIES } from '../../domain/reputation-entry';

export class RedisReputationStore implements ReputationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async sources(): Promise<SourceRecord[]> {
    return parseSourceTable(await this.redis.hgetall(sourcesKey(this.keyPrefix))).sources;
  }

  async lookup(e164: string): Promise<ReputationView> {
    const sources = await this.sources();
    const field = numberField(e164);
    const values = await Promise.all(
      sources.map((source) => this.redis.hget(sourceBucketKey(this.keyPrefix, source, field), field)),
    );
    return reputationView(sources, values);
  }

  async put(source: string, entries: readonly LiveReputationEntry[]): Promise<number> {
    if (!SOURCE_NAME_PATTERN.test(source))
      throw new RangeError(
        `reputation: ${JSON.stringify(source)} is not a source name (lower case letters, digits, - and _)`,
      );
    const record = await this.liveSource(source, entries);
    const writes = entries.map((e) => {
      const field = numberField(e.e164);
      const day = dayOf(e.at ?? Date.now());
      const index = e.category ? record.categories.indexOf(e.category) + 1 : 0;
      const value = encodeFeedEntry({
        score: e.score * 100,
        reports: e.reports ?? 1,
        category: index,
        firstDay: day,
        lastDay: day,
      });
      return this.redis.hset(
        bucketKey(this.keyPrefix, record.name, record.gen, bucketOf(field, record.buckets)),
        field,
        value,
      );
    });
    await Promise.all(writes);
    return entries.length;
  }

  /** the live source's record, created (generation 0) when missing, with the entries' categories added */
  private async liveSource(name: string, entries: readonly LiveReputationEntry[]): Promise<SourceRecord> {
    const key = sourcesKey(this.keyPrefix);
    const fresh: SourceRecord = {
      name,
      kind: 'live',
      gen: 0,
      buckets: LIVE_BUCKETS,
      entries: 0,
      categories: [],
      importedAt: Date.now(),
    };
    await this.redis.hsetnx(key, name, JSON.stringify(fresh));
    const record = (await this.sources()).find((s) => s.name === name);
    if (!record) throw new Error(`reputation: source ${name} is not readable in the source table`);
    if (record.kind !== 'live')
      throw new RangeError(
        `reputation: source ${name} is a ${record.kind} source; entries are added one by one only to live sources`,
      );
    const added = [
      ...new Set(entries.map((e) => e.category).filter((c): c is string => !!c && !record.categories.includes(c))),
    ];
    if (added.length > 0 && record.categories.length < MAX_CATEGORIES) {
      record.categories = [...record.categories, ...added].slice(0, MAX_CATEGORIES);
      await this.redis.hset(key, name, JSON.stringify({ ...record, name: undefined }));
    }
    return record;
  }
}
