import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { purgeStaleGenerations, removeSource, writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import {
  bucketKey,
  bucketOf,
  generationCounterKey,
  numberField,
  parseSourceTable,
  pendingKey,
  RETIRE_GRACE_MS,
  sourceBucketKey,
  sourcesKey,
  type SourceRecord,
} from '../../src/adapters/redis/reputation-layout';
import { decodeFeedEntry } from '../../src/domain/reputation-entry';
import { FeedAggregate } from '../../src/reputation/feeds/feed-aggregate';
import { FeedParser, readFeedFile } from '../../src/reputation/feeds/reputation-feed';
import { PrivateRedis } from '../support/redis-server';
import { repoRoot } from '../support/testbed';

jest.setTimeout(30_000); // the CLI tests start a node process per command

const PORT = 16451;
const DEAD_PORT = 16459;
const PREFIX = 'callscreen:';
const TODAY = Math.floor((Date.now() - Date.UTC(2000, 0, 1)) / 86_400_000);
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

async function aggregateOf(file: string, region: 'US' | 'CH' = 'US'): Promise<FeedAggregate> {
  const aggregate = new FeedAggregate({ defaultScore: 1, today: TODAY, maxAgeDays: 100_000 });
  const parser = new FeedParser({ region, today: TODAY }, aggregate);
  await readFeedFile(file, parser);
  aggregate.finish(parser.plan?.complaints ?? false);
  return aggregate;
}

function numbersFile(numbers: string[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'import-')), 'numbers.txt');
  writeFileSync(file, numbers.join('\n') + '\n');
  return file;
}

async function source(name: string): Promise<SourceRecord | undefined> {
  return parseSourceTable(await redis.hgetall(sourcesKey(PREFIX))).sources.find((s) => s.name === name);
}

/** the entry a reader finds for a number: source table -> bucket -> decoded value */
async function lookup(name: string, e164: string): Promise<ReturnType<typeof decodeFeedEntry> | undefined> {
  const record = await source(name);
  if (!record) return undefined;
  const value = await redis.hget(sourceBucketKey(PREFIX, record, numberField(e164)), numberField(e164));
  return value === null ? undefined : decodeFeedEntry(value);
}

describe('writeFeedGeneration', () => {
  test('an imported fixture reads back through the layout codecs', async () => {
    const aggregate = await aggregateOf(path.join(__dirname, '../fixtures/robocall-admin-sample.csv'));
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'robocall',
      origin: 'robocall-admin-sample.csv',
      entries: aggregate,
      categories: aggregate.categories,
    });
    expect(result).toMatchObject({ entries: aggregate.size, added: aggregate.size, updated: 0, removed: 0 });
    const record = await source('robocall');
    expect(record).toMatchObject({
      kind: 'feed',
      gen: result.record.gen,
      entries: aggregate.size,
      origin: 'robocall-admin-sample.csv',
      categories: ['Utility-SupplyCharges', 'Made-Up'],
    });
    expect(await lookup('robocall', '+17244428039')).toEqual({
      score: 100,
      reports: 20,
      category: 1,
      firstDay: TODAY,
      lastDay: TODAY,
    });
    expect(await redis.hlen(pendingKey(PREFIX))).toBe(0);
  });

  test('a re-import replaces the list: a number only in the old list is gone, one in both stays; counts say so', async () => {
    const first = await aggregateOf(numbersFile(['+12025550143', '+13125550178']));
    await writeFeedGeneration(redis, PREFIX, { source: 'feed-a', origin: 'a', entries: first, categories: [] });
    const second = await aggregateOf(numbersFile(['+12025550143', '+12025550143', '+16175550110']));
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'feed-a',
      origin: 'b',
      entries: second,
      categories: [],
    });
    expect(result).toMatchObject({ entries: 2, added: 1, updated: 1, removed: 1 });
    expect(await lookup('feed-a', '+13125550178')).toBeUndefined();
    expect(await lookup('feed-a', '+12025550143')).toMatchObject({ reports: 2 });
    expect(await lookup('feed-a', '+16175550110')).toMatchObject({ reports: 1 });
  });

  test('during a re-import a reader never misses a number in both lists and the source table switches once', async () => {
    const numbers = Array.from({ length: 20_000 }, (_, i) => `+1212${String(2_000_000 + i * 37).padStart(7, '0')}`);
    const watched = '+12122000000';
    await writeFeedGeneration(redis, PREFIX, {
      source: 'big',
      origin: 'a',
      entries: await aggregateOf(numbersFile(numbers)),
      categories: [],
    });
    const before = (await source('big'))?.gen;
    const next = await aggregateOf(
      numbersFile([...numbers.slice(0, 10_000), ...numbers.map((n) => n.replace('+1212', '+1646'))]),
    );

    const reader = server.client();
    let stop = false;
    let misses = 0;
    let reads = 0;
    const gens: number[] = [];
    const poll = (async () => {
      while (!stop) {
        const record = parseSourceTable(await reader.hgetall(sourcesKey(PREFIX))).sources.find((s) => s.name === 'big');
        if (!record) misses++;
        else {
          if (gens[gens.length - 1] !== record.gen) gens.push(record.gen);
          const value = await reader.hget(sourceBucketKey(PREFIX, record, numberField(watched)), numberField(watched));
          if (value === null) misses++;
        }
        reads++;
      }
    })();
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'big',
      origin: 'b',
      entries: next,
      categories: [],
      inFlight: 4,
    });
    await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await poll;
    reader.disconnect();
    expect(reads).toBeGreaterThan(10);
    expect(misses).toBe(0);
    expect(gens).toEqual([before, result.record.gen]);
  });

  test('the replaced generation is deleted once its grace period is over, not before', async () => {
    await writeFeedGeneration(redis, PREFIX, {
      source: 'feed-a',
      origin: 'a',
      entries: await aggregateOf(numbersFile(['+12025550143'])),
      categories: [],
    });
    const old = (await source('feed-a')) as SourceRecord;
    const now = Date.now();
    await writeFeedGeneration(redis, PREFIX, {
      source: 'feed-a',
      origin: 'b',
      entries: await aggregateOf(numbersFile(['+13125550178'])),
      categories: [],
      now,
    });
    const oldKey = bucketKey(PREFIX, 'feed-a', old.gen, 0);
    expect(await redis.exists(oldKey)).toBe(1);
    await purgeStaleGenerations(redis, PREFIX, now + RETIRE_GRACE_MS - 1);
    expect(await redis.exists(oldKey)).toBe(1);
    const purged = await purgeStaleGenerations(redis, PREFIX, now + RETIRE_GRACE_MS);
    expect(purged).toMatchObject({ generations: 1, keys: 2 }); // its bucket and its block counts' bucket
    expect(await redis.exists(oldKey)).toBe(0);
    expect(await lookup('feed-a', '+13125550178')).toBeDefined();
  });

  test('a crashed import (pending record and a partial generation left behind) is purged after 6 hours', async () => {
    const gen = await redis.incr(generationCounterKey(PREFIX));
    const startedAt = Date.now() - 6 * 3_600_000 - 1000;
    await redis.hset(pendingKey(PREFIX), 'crashed', JSON.stringify({ gen, startedAt, host: 'h', pid: 1 }));
    await redis.hset(bucketKey(PREFIX, 'crashed', gen, 0), '12025550143', '1');
    await redis.hset(bucketKey(PREFIX, 'crashed', gen, 5), '13125550178', '1');
    // a recent pending import (still running) stays
    await redis.hset(
      pendingKey(PREFIX),
      'running',
      JSON.stringify({ gen: gen + 1, startedAt: Date.now(), host: 'h', pid: 2 }),
    );
    await redis.hset(bucketKey(PREFIX, 'running', gen + 1, 0), '12025550143', '1');
    const purged = await purgeStaleGenerations(redis, PREFIX);
    expect(purged).toEqual({ generations: 1, keys: 2, crashed: 1 });
    expect(await redis.hkeys(pendingKey(PREFIX))).toEqual(['running']);
    expect(await redis.exists(bucketKey(PREFIX, 'running', gen + 1, 0))).toBe(1);
  });

  test('remove-source takes the source out of the table at once and its keys after the grace period', async () => {
    await writeFeedGeneration(redis, PREFIX, {
      source: 'feed-a',
      origin: 'a',
      entries: await aggregateOf(numbersFile(['+12025550143'])),
      categories: [],
    });
    const now = Date.now();
    expect(await removeSource(redis, PREFIX, 'feed-a', now)).toMatchObject({ name: 'feed-a', entries: 1 });
    expect(await source('feed-a')).toBeUndefined();
    expect(await removeSource(redis, PREFIX, 'feed-a', now)).toBeUndefined();
    await purgeStaleGenerations(redis, PREFIX, now + RETIRE_GRACE_MS);
    expect(await redis.keys(`${PREFIX}rep:feed-a.*`)).toEqual([]);
  });

  test('a source of another kind is not overwritten by an import', async () => {
    await redis.hset(
      sourcesKey(PREFIX),
      'manual',
      JSON.stringify({ kind: 'live', gen: 0, buckets: 1024, entries: 0, categories: [], importedAt: 0 }),
    );
    await expect(
      writeFeedGeneration(redis, PREFIX, {
        source: 'manual',
        origin: 'a',
        entries: await aggregateOf(numbersFile(['+12025550143'])),
        categories: [],
      }),
    ).rejects.toThrow(/live source/);
  });

  test('buckets of ~5,000 numbers stay listpack-encoded', async () => {
    const numbers = Array.from({ length: 5000 }, (_, i) => `+1${200 + (i % 800)}555${String(i).padStart(4, '0')}`);
    const result = await writeFeedGeneration(redis, PREFIX, {
      source: 'mem',
      origin: 'a',
      entries: await aggregateOf(numbersFile(numbers)),
      categories: [],
    });
    expect(result.record.buckets).toBe(128);
    const encodings = new Set<string>();
    for (let b = 0; b < result.record.buckets; b++)
      encodings.add(String(await redis.object('ENCODING', bucketKey(PREFIX, 'mem', result.record.gen, b))));
    expect([...encodings]).toEqual(['listpack']);
  });
});

describe('callscreen import (CLI)', () => {
  // the example config, copied: the CLI keeps its state (reputation-expected.json) beside the config, and
  // the repository's config/ may hold one from `npm run demo`
  const configDir = mkdtempSync(path.join(tmpdir(), 'import-cli-'));
  for (const file of ['callscreen.yaml', 'rules.yaml'])
    copyFileSync(path.join(repoRoot, 'config', file), path.join(configDir, file));

  function cli(args: string[], port = PORT): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, 'bin', 'callscreen.js'), ...args, '--config', path.join(configDir, 'callscreen.yaml')],
        { cwd: repoRoot, env: { ...process.env, CALLSCREEN_REDIS_URL: `redis://127.0.0.1:${port}` } },
        (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  }
  const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', name);

  test('imports with rejected lines: exit 0, the summary on stdout, FILE:LINE: reason on stderr', async () => {
    const run = await cli([
      'import',
      fixture('robocall-admin-sample.csv'),
      '--source',
      'robocall',
      '--skip',
      'likely_admin=yes',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^imported 4 \(new 4, updated 0, removed 0\), rejected 1, skipped 3, duplicates 1 in \d+\.\d s\n/,
    );
    expect(run.stderr).toBe(
      `${fixture('robocall-admin-sample.csv')}:12: number "+1800555": +1800555 has a length no number in its country has\n`,
    );
    const again = await cli(['import', fixture('robocall-admin-sample.csv'), '--source', 'robocall']);
    expect(again.stdout).toMatch(/^imported 7 \(new 3, updated 0, removed 0\), rejected 1, skipped 0, duplicates 1/);
    const sources = await cli(['reputation', 'sources']);
    expect(sources.stdout).toMatch(
      /^NAME +KIND +ENTRIES +BUCKETS +BLOCKS +IMPORTED AT +ORIGIN\nrobocall +feed +7 +1 +3 digits +\d{4}-\d\d-\d\dT[\d:]+Z +robocall-admin-sample\.csv\n$/,
    );
  });

  test('reputation sources says which sources count blocks and how to count the others; rebuild-blocks counts a live one', async () => {
    await writeFeedGeneration(redis, PREFIX, {
      source: 'hundreds',
      origin: 'a',
      entries: await aggregateOf(numbersFile(['+16062846001'])),
      categories: [],
      blockDigits: 2,
    });
    const legacy = { kind: 'live', gen: 0, buckets: 1024, entries: 0, categories: [], importedAt: 1 };
    await redis.hset(sourcesKey(PREFIX), 'manual', JSON.stringify(legacy));
    await redis.hset(bucketKey(PREFIX, 'manual', 0, bucketOf('16062846002', 1024)), '16062846002', '100');
    const before = await cli(['reputation', 'sources']);
    expect(before.stdout).toMatch(/\nhundreds +feed +1 +1 +2 digits \(not 3\) /);
    expect(before.stdout).toMatch(/\nmanual +live +0 +1024 +none /);
    expect(before.stdout).toContain(
      'note: source hundreds counts blocks of 2 digits, the configuration 3: block reputation leaves it out until you re-import it (callscreen import FILE --source hundreds)\n',
    );
    expect(before.stdout).toContain('note: source manual has no block counts, the configuration 3:');

    const rebuilt = await cli(['reputation', 'rebuild-blocks', 'manual']);
    expect(rebuilt).toMatchObject({
      code: 0,
      stdout: 'source manual: 1 listed number counted in 1 block of 3 digits\n',
    });
    const after = await cli(['reputation', 'sources']);
    expect(after.stdout).toMatch(/\nmanual +live +0 +1024 +3 digits /);
    expect(after.stdout).not.toContain('note: source manual');
    expect(await cli(['reputation', 'rebuild-blocks', 'hundreds'])).toMatchObject({ code: 2 });
  });

  test('the Swiss layout with --region CH', async () => {
    const run = await cli(['import', fixture('ch-blocklist-layout.csv'), '--source', 'ktipp', '--region', 'CH']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^imported 5 \(new 5, updated 0, removed 0\), rejected 2, skipped 0, duplicates 1 in/);
    expect(
      run.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/: .*/, '')),
    ).toEqual([`${fixture('ch-blocklist-layout.csv')}:9`, `${fixture('ch-blocklist-layout.csv')}:10`]);
  });

  test('bad options and unreadable files exit 2 and leave the source alone; no Redis exits 1', async () => {
    expect(await cli(['import', fixture('numbers.txt'), '--source', 'x', '--format', 'xml'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--format "xml"'),
    });
    expect(await cli(['import', fixture('robocall-sample.csv'), '--source', 'x', '--skip', 'admin=yes'])).toMatchObject(
      { code: 2, stderr: expect.stringContaining('no column "admin"') },
    );
    expect(await cli(['import', fixture('nonexistent.csv'), '--source', 'x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('cannot read'),
    });
    expect(await cli(['import', fixture('numbers.txt'), '--source', 'Bad Name'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('source name'),
    });
    expect(await cli(['reputation', 'remove-source', 'nothing'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no source "nothing"'),
    });
    expect((await cli(['import', fixture('numbers.txt'), '--source', 'x'], DEAD_PORT)).code).toBe(1);
    expect(await redis.hlen(sourcesKey(PREFIX))).toBe(0);
  });
});
