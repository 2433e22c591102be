/**
 * Agents' feedback stored in a real Redis (a private redis-server): counts in the feedback source's
 * bucket, the audit stream, the source table record; and `callscreen report` end to end (the built
 * CLI), including promotion to the managed allow list.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import { bucketKey, bucketOf, LIVE_BUCKETS, sourcesKey } from '../../src/adapters/redis/reputation-layout';
import { encodeFeedbackEntry } from '../../src/domain/reputation-entry';
import { runCli, writeConfigDir } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(60_000);

const server = new PrivateRedis(16460);
let redis: Redis;

beforeAll(async () => {
  await server.start();
  redis = server.client();
});
afterAll(async () => {
  redis?.disconnect();
  await server.kill();
});

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 9, 30);

describe('RedisFeedbackStore', () => {
  test('a report counts in the number bucket, creates the source record and appends an audit entry', async () => {
    const prefix = 'fs1:';
    const store = new RedisFeedbackStore(redis, prefix, () => T0);
    const first = await store.report({
      e164: '+12125550147',
      verdict: 'spam',
      note: 'robot voice',
      agent: 'alice',
      at: T0,
      host: 'pbx1',
    });
    expect(first).toEqual({ spam: 1, ok: 0, last: 'spam', firstAt: T0, lastAt: T0 });
    const second = await store.report({
      e164: '+12125550147',
      verdict: 'ok',
      agent: 'bob',
      at: T0 + 5 * MIN,
      host: 'pbx2',
    });
    expect(second).toEqual({ spam: 1, ok: 1, last: 'ok', firstAt: T0, lastAt: T0 + 5 * MIN });

    const record = JSON.parse((await redis.hget(sourcesKey(prefix), 'feedback')) ?? 'null') as Record<string, unknown>;
    expect(record).toEqual({
      kind: 'feedback',
      gen: 0,
      buckets: LIVE_BUCKETS,
      entries: 0,
      categories: [],
      importedAt: T0,
      blockDigits: 3,
      blockBuckets: LIVE_BUCKETS,
    });
    const key = bucketKey(prefix, 'feedback', 0, bucketOf('12125550147', LIVE_BUCKETS));
    expect(await redis.hget(key, '12125550147')).toBe(encodeFeedbackEntry(second));
    expect(await store.lookup('+12125550147')).toEqual(second);
    expect(await store.lookup('+12125550148')).toBeNull();

    const stream = await redis.xrange(`${prefix}feedback`, '-', '+');
    expect(stream.map(([, f]) => f)).toEqual([
      [
        'number',
        '+12125550147',
        'verdict',
        'spam',
        'note',
        'robot voice',
        'agent',
        'alice',
        'host',
        'pbx1',
        'at',
        String(T0),
      ],
      [
        'number',
        '+12125550147',
        'verdict',
        'ok',
        'note',
        '',
        'agent',
        'bob',
        'host',
        'pbx2',
        'at',
        String(T0 + 5 * MIN),
      ],
    ]);
  });

  test('history lists one number audit entries, newest first, up to the limit', async () => {
    const prefix = 'fs2:';
    const store = new RedisFeedbackStore(redis, prefix);
    for (let i = 0; i < 5; i++) {
      await store.report({
        e164: '+13125550100',
        verdict: i % 2 ? 'ok' : 'spam',
        agent: `a${i}`,
        at: T0 + i * MIN,
        host: 'h',
      });
      await store.report({ e164: '+13125550199', verdict: 'ok', at: T0 + i * MIN, host: 'h' });
    }
    const history = await store.history('+13125550100', 3);
    expect(history.map((h) => [h.agent, h.verdict])).toEqual([
      ['a4', 'spam'],
      ['a3', 'ok'],
      ['a2', 'spam'],
    ]);
    expect(await store.history('+13125550100', 100)).toHaveLength(5);
  });

  test('the record in the source table decides gen and buckets (never assumed)', async () => {
    const prefix = 'fs3:';
    await redis.hset(
      sourcesKey(prefix),
      'feedback',
      JSON.stringify({ kind: 'feedback', gen: 7, buckets: 16, entries: 0, categories: [], importedAt: 1 }),
    );
    const store = new RedisFeedbackStore(redis, prefix);
    await store.report({ e164: '+12125550147', verdict: 'ok', at: T0, host: 'h' });
    const key = bucketKey(prefix, 'feedback', 7, bucketOf('12125550147', 16));
    expect(await redis.hget(key, '12125550147')).toMatch(/^0:1:o:/);
    expect(JSON.parse((await redis.hget(sourcesKey(prefix), 'feedback')) ?? '{}')).toMatchObject({
      gen: 7,
      buckets: 16,
    });
  });

  test('concurrent reports from two clients all count (one script per report)', async () => {
    const prefix = 'fs4:';
    const other = server.client();
    try {
      const stores = [new RedisFeedbackStore(redis, prefix), new RedisFeedbackStore(other, prefix)];
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          stores[i % 2]!.report({ e164: '+12125550147', verdict: i % 4 === 0 ? 'spam' : 'ok', at: T0, host: 'h' }),
        ),
      );
      expect(await stores[0]!.lookup('+12125550147')).toMatchObject({ spam: 25, ok: 75 });
      expect(await redis.xlen(`${prefix}feedback`)).toBe(100);
    } finally {
      other.disconnect();
    }
  });

  test('after SCRIPT FLUSH the script is loaded again', async () => {
    const store = new RedisFeedbackStore(redis, 'fs5:');
    await store.report({ e164: '+12125550147', verdict: 'ok', at: T0, host: 'h' });
    await redis.script('FLUSH');
    expect(await store.report({ e164: '+12125550147', verdict: 'ok', at: T0, host: 'h' })).toMatchObject({ ok: 2 });
  });
});

describe('callscreen report', () => {
  const config = (prefix: string) =>
    `numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "${prefix}"\nfeedback:\n  promoteAfter: 2\n`;
  const env = () => ({ CALLSCREEN_REDIS_URL: server.url });

  test('stores the verdict, prints the counts, promotes at promoteAfter and demotes on spam', async () => {
    const dir = writeConfigDir(config('cli1:'), 'allow: []\ndeny: []\n');
    const managed = path.join(dir, 'rules.managed.yaml');
    const report = (...args: string[]) => runCli(dir, ['report', ...args, '--config', 'callscreen.yaml'], env());

    const one = await report('(212) 555-0147', 'ok', '--agent', 'alice', '--note', 'our customer');
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toContain('+12125550147: reported ok; now spam 0, ok 1, last ok');
    expect(one.stdout).toContain('not on the managed allow list');
    expect(existsSync(managed)).toBe(false);

    const two = await report('+1 212 555 0147', 'ok', '--agent', 'bob');
    expect(two.code).toBe(0);
    expect(two.stdout).toContain('now spam 0, ok 2, last ok');
    expect(two.stdout).toMatch(/promoted: added to the managed allow list \(.*rules\.managed\.yaml\)/);
    expect(readFileSync(managed, 'utf8')).toMatch(
      /number: "\+12125550147"\n {4}label: "agents: not spam x2, last \d{4}-\d\d-\d\d by bob"/,
    );

    const audit = await redis.xrange('cli1:feedback', '-', '+');
    expect(audit.map(([, f]) => [f[1], f[3], f[5], f[7]])).toEqual([
      ['+12125550147', 'ok', 'our customer', 'alice'],
      ['+12125550147', 'ok', '', 'bob'],
    ]);
    expect(JSON.parse((await redis.hget(sourcesKey('cli1:'), 'feedback')) ?? '{}')).toMatchObject({
      kind: 'feedback',
      gen: 0,
      buckets: LIVE_BUCKETS,
    });

    const spam = await report('2125550147', 'spam', '--agent', 'carol');
    expect(spam.stdout).toContain('now spam 1, ok 2, last spam');
    expect(spam.stdout).toContain('demoted: removed from the managed allow list');
    expect(readFileSync(managed, 'utf8')).not.toContain('+12125550147');

    // rules validate shows both files
    const validate = await runCli(dir, ['rules', 'validate', '--config', 'callscreen.yaml']);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/rules\.managed\.yaml: ok, 0 allow rules \(managed allow list/);
  });

  test('a number that is not one: exit 2 with the reason, nothing stored', async () => {
    const dir = writeConfigDir(config('cli2:'), 'allow: []\ndeny: []\n');
    const r = await runCli(dir, ['report', 'call me maybe', 'spam', '--config', 'callscreen.yaml'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"call me maybe" contains characters other than digits and a leading +');
    expect(await redis.exists('cli2:feedback')).toBe(0);
  });

  test('a verdict other than spam or ok: exit 2', async () => {
    const dir = writeConfigDir(config('cli3:'), 'allow: []\ndeny: []\n');
    const r = await runCli(dir, ['report', '+12125550147', 'maybe', '--config', 'callscreen.yaml'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are spam, ok/);
  });
});
