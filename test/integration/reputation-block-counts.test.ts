/**
 * Block counts (issue 13, block reputation) on a real, private redis-server: built with each import
 * generation and switched and retired with it; kept current by live puts and agents' verdicts, once
 * per number however often and however concurrently it is written; counted once for a source that
 * had none.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { ReputationSourceTable } from '../../src/adapters/redis/reputation-source-table';
import { purgeStaleGenerations, writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import {
  blockField,
  bucketKey,
  bucketOf,
  FEEDBACK_SOURCE,
  LIVE_BUCKETS,
  MANUAL_SOURCE,
  numberField,
  parseSourceTable,
  RETIRE_GRACE_MS,
  sourceBlockKey,
  sourcesKey,
  type SourceRecord,
} from '../../src/adapters/redis/reputation-layout';
import { decodeBlockCount, encodeFeedEntry, type BlockCount } from '../../src/domain/reputation-entry';
import { FeedAggregate } from '../../src/reputation/feeds/feed-aggregate';
import { FeedParser, readFeedFile } from '../../src/reputation/feeds/reputation-feed';
import { PrivateRedis } from '../support/redis-server';

const PORT = 16571;
const PREFIX = 'blocks:';
const DAY_MS = 86_400_000;
const TODAY = Math.floor((Date.now() - Date.UTC(2000, 0, 1)) / DAY_MS);
const server = new PrivateRedis(PORT);
let redis: Redis;

beforeAll(async () => {
  await server.start();
  redis = server.client();
});
afterAll(async () => {
  redis.disconnect();
  await server.kill();
});
beforeEach(async () => {
  await redis.flushall();
});

function isoDay(daysAgo: number): string {
  return new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10);
}

/** a CSV feed read as `callscreen import` reads it (stale numbers: last seen more than 180 days ago) */
async function feed(rows: string[]): Promise<FeedAggregate> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'blocks-')), 'feed.csv');
  writeFileSync(file, ['phone_e164,score,last_seen', ...rows].join('\n') + '\n');
  const aggregate = new FeedAggregate({ defaultScore: 1, today: TODAY, maxAgeDays: 180 });
  const parser = new FeedParser({ region: 'US', today: TODAY, maps: [], skips: [] }, aggregate);
  await readFeedFile(file, parser);
  aggregate.finish(parser.plan?.complaints ?? false);
  return aggregate;
}

async function record(name: string): Promise<SourceRecord | undefined> {
  return parseSourceTable(await redis.hgetall(sourcesKey(PREFIX))).sources.find((s) => s.name === name);
}

/** what a reader finds for the block of `e164` in a source's live generation (null: no count there) */
async function blockCount(name: string, e164: string, blockDigits = 3): Promise<BlockCount | null | 'no counts'> {
  const source = await record(name);
  const field = blockField(e164, blockDigits);
  if (!source || field === null) return 'no counts';
  const key = sourceBlockKey(PREFIX, source, field, blockDigits);
  if (key === null) return 'no counts';
  const value = await redis.hget(key, field);
  return value === null ? null : decodeBlockCount(value);
}

describe('block counts of an import generation', () => {
  test('count the listed numbers per block, leaving out zero scores and stale numbers', async () => {
    const aggregate = await feed([
      `+16062846001,1,${isoDay(1)}`,
      `+16062846002,0.8,${isoDay(2)}`,
      `+16062846999,0.5,${isoDay(3)}`,
      `+16062846003,0,${isoDay(1)}`, // score 0: stored, not counted
      `+16062846004,1,${isoDay(400)}`, // stale: not imported, not counted
      `+16062847001,0.9,${isoDay(1)}`, // the next block
    ]);
    expect(aggregate.size).toBe(5);
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'robocall',
      origin: 'feed.csv',
      entries: aggregate,
      categories: [],
    });
    expect(result.blocks).toBe(2);
    expect(await record('robocall')).toMatchObject({ blockDigits: 3, blockBuckets: 1 });
    expect(await blockCount('robocall', '+16062846555')).toEqual({ numbers: 3, scoreSum: 230 });
    expect(await blockCount('robocall', '+16062847123')).toEqual({ numbers: 1, scoreSum: 90 });
    expect(await blockCount('robocall', '+16062848000')).toBeNull();
    // the 100-block is another count: a reader asking for it finds none in this generation
    expect(await blockCount('robocall', '+16062846001', 2)).toBe('no counts');
  });

  test('the block size is an option; 0 writes no counts', async () => {
    const rows = [`+16062846001,1,${isoDay(1)}`, `+16062846101,1,${isoDay(1)}`];
    await writeFeedGeneration(redis, PREFIX, {
      source: 'hundreds',
      origin: 'a',
      entries: await feed(rows),
      categories: [],
      blockDigits: 2,
    });
    expect(await blockCount('hundreds', '+16062846050', 2)).toEqual({ numbers: 1, scoreSum: 100 });
    expect(await blockCount('hundreds', '+16062846050', 3)).toBe('no counts');
    await writeFeedGeneration(redis, PREFIX, {
      source: 'none',
      origin: 'a',
      entries: await feed(rows),
      categories: [],
      blockDigits: 0,
    });
    const none = await record('none');
    expect(none?.blockDigits).toBeUndefined();
    expect(await redis.keys(`${PREFIX}rep:none.${none?.gen}:k:*`)).toEqual([]);
  });

  test('a many-block feed spreads its counts over buckets of about 64 blocks, each found by its key', async () => {
    const rows = Array.from(
      { length: 3_000 },
      (_, i) => `+1212${String(1_000_000 + i * 1_000 + (i % 7)).padStart(7, '0')},1,${isoDay(1)}`,
    );
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'wide',
      origin: 'a',
      entries: await feed(rows),
      categories: [],
    });
    expect(result.blocks).toBe(3_000);
    expect(result.record.blockBuckets).toBe(64);
    for (const i of [0, 1, 999, 2_999])
      expect(await blockCount('wide', `+1212${String(1_000_000 + i * 1_000).padStart(7, '0')}`)).toEqual({
        numbers: 1,
        scoreSum: 100,
      });
  });

  test('a new generation switches the counts with the numbers, and the retired one takes its counts along', async () => {
    const first = await writeFeedGeneration(redis, PREFIX, {
      source: 'robocall',
      origin: 'a',
      entries: await feed([`+16062846001,1,${isoDay(1)}`, `+16062846002,1,${isoDay(1)}`]),
      categories: [],
    });
    const oldGen = first.record.gen;
    expect(await redis.keys(`${PREFIX}rep:robocall.${oldGen}:k:*`)).toHaveLength(1);

    const now = Date.now();
    const second = await writeFeedGeneration(redis, PREFIX, {
      source: 'robocall',
      origin: 'b',
      entries: await feed([`+16062846001,0.5,${isoDay(1)}`, `+17185550100,1,${isoDay(1)}`]),
      categories: [],
      now,
    });
    expect(await blockCount('robocall', '+16062846777')).toEqual({ numbers: 1, scoreSum: 50 });
    expect(await blockCount('robocall', '+17185550999')).toEqual({ numbers: 1, scoreSum: 100 });

    await purgeStaleGenerations(redis, PREFIX, now + RETIRE_GRACE_MS - 1);
    expect(await redis.keys(`${PREFIX}rep:robocall.${oldGen}:k:*`)).toHaveLength(1);
    await purgeStaleGenerations(redis, PREFIX, now + RETIRE_GRACE_MS + 1);
    expect(await redis.keys(`${PREFIX}rep:robocall.${oldGen}:*`)).toEqual([]);
    expect(second.record.blockBuckets).toBe(1);
    expect(await redis.hlen(`${PREFIX}rep:robocall.${second.record.gen}:k:0`)).toBe(2);
  });
});

describe('block counts of a live source', () => {
  test('a number counts once however often it is put; a new score moves the sum; score 0 stops it counting', async () => {
    const store = new RedisReputationStore(redis, PREFIX);
    await store.put(MANUAL_SOURCE, [{ e164: '+16062846001', score: 0.9 }]);
    await store.put(MANUAL_SOURCE, [{ e164: '+16062846001', score: 0.9 }]);
    await store.put(MANUAL_SOURCE, [
      { e164: '+16062846001', score: 0.9 },
      { e164: '+16062846002', score: 0.6 },
    ]);
    expect(await record(MANUAL_SOURCE)).toMatchObject({ kind: 'live', blockDigits: 3, blockBuckets: LIVE_BUCKETS });
    expect(await blockCount(MANUAL_SOURCE, '+16062846500')).toEqual({ numbers: 2, scoreSum: 150 });
    await store.put(MANUAL_SOURCE, [{ e164: '+16062846001', score: 0.4 }]);
    expect(await blockCount(MANUAL_SOURCE, '+16062846500')).toEqual({ numbers: 2, scoreSum: 100 });
    await store.put(MANUAL_SOURCE, [{ e164: '+16062846002', score: 0 }]);
    expect(await blockCount(MANUAL_SOURCE, '+16062846500')).toEqual({ numbers: 1, scoreSum: 40 });
    await store.put(MANUAL_SOURCE, [{ e164: '+16062846001', score: 0 }]);
    expect(await blockCount(MANUAL_SOURCE, '+16062846500')).toBeNull();
  });

  test('two writers putting the same numbers at once count each number once', async () => {
    const other = server.client();
    try {
      const stores = [new RedisReputationStore(redis, PREFIX), new RedisReputationStore(other, PREFIX)];
      const numbers = Array.from({ length: 40 }, (_, i) => `+1606284${String(6000 + i).padStart(4, '0')}`);
      await Promise.all(
        Array.from({ length: 10 }, (_, round) =>
          stores[round % 2]!.put(
            MANUAL_SOURCE,
            numbers.map((e164) => ({ e164, score: 1 })),
          ),
        ),
      );
      expect(await blockCount(MANUAL_SOURCE, '+16062846999')).toEqual({ numbers: 40, scoreSum: 4_000 });
    } finally {
      other.disconnect();
    }
  });

  test('a live source written before block counts existed is counted at its next write, every block found by its key', async () => {
    // the record and entries as an earlier version wrote them: no blockDigits, no k: keys
    const numbers = Array.from(
      { length: 300 },
      (_, i) => `+1415${String(2_000_000 + i * 1_000 + (i % 10)).padStart(7, '0')}`,
    );
    await redis.hset(
      sourcesKey(PREFIX),
      MANUAL_SOURCE,
      JSON.stringify({ kind: 'live', gen: 0, buckets: LIVE_BUCKETS, entries: 0, categories: [], importedAt: 1 }),
    );
    for (const [i, e164] of numbers.entries()) {
      const field = numberField(e164);
      const score = i % 3 === 0 ? 0 : 70;
      await redis.hset(
        bucketKey(PREFIX, MANUAL_SOURCE, 0, bucketOf(field, LIVE_BUCKETS)),
        field,
        encodeFeedEntry({ score, reports: 1, category: 0, firstDay: TODAY, lastDay: TODAY }),
      );
    }
    expect(await blockCount(MANUAL_SOURCE, numbers[1]!)).toBe('no counts');

    await new RedisReputationStore(redis, PREFIX).put(MANUAL_SOURCE, [{ e164: '+14152000555', score: 1 }]);
    expect(await record(MANUAL_SOURCE)).toMatchObject({ blockDigits: 3, blockBuckets: LIVE_BUCKETS });
    // block 14152000: numbers[0] (score 0, not counted) and the new one
    expect(await blockCount(MANUAL_SOURCE, '+14152000999')).toEqual({ numbers: 1, scoreSum: 100 });
    for (const [i, e164] of numbers.entries())
      if (i > 0)
        expect(await blockCount(MANUAL_SOURCE, e164)).toEqual(i % 3 === 0 ? null : { numbers: 1, scoreSum: 70 });
  });
});

describe("block counts of agents' verdicts", () => {
  const T = Date.UTC(2026, 11, 6, 9);
  const report = (store: RedisFeedbackStore, e164: string, verdict: 'spam' | 'ok') =>
    store.report({ e164, verdict, at: T, host: 'test' });

  test('a number counts in its block while its last verdict is spam', async () => {
    const store = new RedisFeedbackStore(redis, PREFIX, () => T);
    await report(store, '+16062846001', 'spam');
    expect(await record(FEEDBACK_SOURCE)).toMatchObject({ blockDigits: 3, blockBuckets: LIVE_BUCKETS });
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 1, scoreSum: 100 });
    await report(store, '+16062846001', 'spam');
    await report(store, '+16062846002', 'spam');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 2, scoreSum: 200 });
    await report(store, '+16062846001', 'ok');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 1, scoreSum: 100 });
    await report(store, '+16062846001', 'ok');
    await report(store, '+16062846002', 'ok');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toBeNull();
    await report(store, '+16062846002', 'spam');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 1, scoreSum: 100 });
  });

  test('agents on two daemons reporting at once leave the count the last verdicts say', async () => {
    const other = server.client();
    try {
      const stores = [new RedisFeedbackStore(redis, PREFIX, () => T), new RedisFeedbackStore(other, PREFIX, () => T)];
      const numbers = Array.from({ length: 20 }, (_, i) => `+1606284${String(6000 + i).padStart(4, '0')}`);
      // each number: spam from both daemons at once, then (the even ones) ok from both at once
      await Promise.all(numbers.flatMap((e164) => stores.map((s) => report(s, e164, 'spam'))));
      expect(await blockCount(FEEDBACK_SOURCE, '+16062846999')).toEqual({ numbers: 20, scoreSum: 2_000 });
      await Promise.all(
        numbers.filter((_, i) => i % 2 === 0).flatMap((e164) => stores.map((s) => report(s, e164, 'ok'))),
      );
      expect(await blockCount(FEEDBACK_SOURCE, '+16062846999')).toEqual({ numbers: 10, scoreSum: 1_000 });
    } finally {
      other.disconnect();
    }
  });

  test("the daemon's source table creates the feedback record; the first report counts it for the configured block size", async () => {
    await new ReputationSourceTable(redis, PREFIX).refresh();
    expect((await record(FEEDBACK_SOURCE))?.blockDigits).toBeUndefined();
    await report(new RedisFeedbackStore(redis, PREFIX, () => T, 2), '+16062846001', 'spam');
    expect(await record(FEEDBACK_SOURCE)).toMatchObject({ blockDigits: 2, blockBuckets: LIVE_BUCKETS });
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846055', 2)).toEqual({ numbers: 1, scoreSum: 100 });
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555', 3)).toBe('no counts');
  });

  test('a feedback source without block counts is counted at the next report, also by a store that read it before', async () => {
    const legacy = JSON.stringify({
      kind: 'feedback',
      gen: 0,
      buckets: LIVE_BUCKETS,
      entries: 0,
      categories: [],
      importedAt: 1,
    });
    await redis.hset(sourcesKey(PREFIX), FEEDBACK_SOURCE, legacy);
    // an earlier version's report: spam, no block count
    const field = numberField('+16062846001');
    await redis.hset(bucketKey(PREFIX, FEEDBACK_SOURCE, 0, bucketOf(field, LIVE_BUCKETS)), field, '2:0:s:100:200');
    const withoutCounts = new RedisFeedbackStore(redis, PREFIX, () => T, 0); // reads the record, counts nothing itself
    expect(await withoutCounts.lookup('+16062846001')).toMatchObject({ spam: 2 });

    await report(new RedisFeedbackStore(redis, PREFIX, () => T), '+16062846002', 'spam');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 2, scoreSum: 200 });
    // the first store's cached record is stale now: its report is counted all the same
    await report(withoutCounts, '+16062846003', 'spam');
    expect(await blockCount(FEEDBACK_SOURCE, '+16062846555')).toEqual({ numbers: 3, scoreSum: 300 });
  });
});
