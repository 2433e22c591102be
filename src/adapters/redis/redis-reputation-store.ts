/**
 * ReputationStore on Redis (layout: ./reputation-layout.ts). `lookup` reads the number's field in
 * every source's bucket (one pipelined round trip; the screening path reads the same buckets inside
 * its history script). `put` writes entries of a live source such as `manual`, each with its block
 * count in one script (./block-count-script.ts).
 */
import type { ReputationView } from '../../domain/reputation';
import type { LiveReputationEntry, ReputationStore } from '../../ports/reputation-store';
import { reputationView } from './redis-caller-history-store';
import type { RedisClient } from './redis-connection';
import {
  BlockCountScripts,
  liveBlockFields,
  readRecord,
  rebuildBlockCounts,
  recordJson,
  type ReadRecord,
} from './live-block-counts';
import {
  bucketKey,
  bucketOf,
  DEFAULT_BLOCK_DIGITS,
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
  private readonly scripts: BlockCountScripts;
  private readonly blockDigits: number;

  /** options.blockDigits: the block size a live source created (or first counted) here counts; 0 none */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    options: { blockDigits?: number } = {},
  ) {
    this.scripts = new BlockCountScripts(redis);
    this.blockDigits = options.blockDigits ?? DEFAULT_BLOCK_DIGITS;
  }

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
    let pending = entries;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_PUT_ATTEMPTS)
        throw new Error(
          `reputation: the record of source ${source} kept changing while ${pending.length} entries were written`,
        );
      const read = await this.liveSource(source, pending);
      const stale: LiveReputationEntry[] = [];
      await Promise.all(
        pending.map(async (e) => {
          if (!(await this.write(read, e))) stale.push(e);
        }),
      );
      pending = stale;
    }
    return entries.length;
  }

  /** one entry into the live source and its block count; false when the record changed meanwhile */
  private write(read: ReadRecord, e: LiveReputationEntry): Promise<boolean> {
    const { record } = read;
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
    const bucket = bucketKey(this.keyPrefix, record.name, record.gen, bucketOf(field, record.buckets));
    return this.scripts.put(this.keyPrefix, read, bucket, e.e164, field, value);
  }

  /**
   * the live source's record, created (generation 0, with block counts) when missing, with the
   * entries' categories added; a source without block counts (created before them) is counted first
   * (single Redis; on a Cluster it stays without)
   */
  private async liveSource(name: string, entries: readonly LiveReputationEntry[]): Promise<ReadRecord> {
    const key = sourcesKey(this.keyPrefix);
    const fresh: SourceRecord = {
      name,
      kind: 'live',
      gen: 0,
      buckets: LIVE_BUCKETS,
      entries: 0,
      categories: [],
      importedAt: Date.now(),
      ...liveBlockFields(this.blockDigits),
    };
    await this.redis.hsetnx(key, name, recordJson(fresh));
    let read = await readRecord(this.redis, this.keyPrefix, name);
    if (!read) throw new Error(`reputation: source ${name} is not readable in the source table`);
    if (read.record.kind !== 'live')
      throw new RangeError(
        `reputation: source ${name} is a ${read.record.kind} source; entries are added one by one only to live sources`,
      );
    if (read.record.blockDigits === undefined && this.blockDigits > 0 && !this.scripts.cluster) {
      await rebuildBlockCounts(this.redis, this.keyPrefix, read, this.blockDigits);
      read = (await readRecord(this.redis, this.keyPrefix, name)) ?? read;
    }
    const record = read.record;
    const added = [
      ...new Set(entries.map((e) => e.category).filter((c): c is string => !!c && !record.categories.includes(c))),
    ];
    if (added.length > 0 && record.categories.length < MAX_CATEGORIES) {
      const updated = { ...record, categories: [...record.categories, ...added].slice(0, MAX_CATEGORIES) };
      // only over the record read: a switch made meanwhile (block counts) is not written over
      const json = recordJson(updated);
      if ((await this.redis.eval(REPLACE_RECORD_LUA, 1, key, name, read.json, json)) === 1)
        read = { record: updated, json };
      else read = (await readRecord(this.redis, this.keyPrefix, name)) ?? read;
    }
    return read;
  }
}

/** HSET the record only if it is still the one read: KEYS[1] the table, ARGV name, read JSON, new JSON */
const REPLACE_RECORD_LUA = `if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;
/** a put whose source record keeps changing under it gives up after this many reads */
const MAX_PUT_ATTEMPTS = 5;
