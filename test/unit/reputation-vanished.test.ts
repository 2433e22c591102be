/**
 * A vanished reputation list is loud (issue 12): the pure watch (previous expectation + one read of the
 * source table -> incidents), the source table's watch on a fake Redis (a flush, buckets gone, a probe
 * once a minute), the alarm the daemon wires (one error line per incident, the gauge, the readiness
 * warning, the state file that survives a restart with Redis) and `callscreen reputation sources`.
 */
// fastify's inject loads the cookie package, which jest (CommonJS) cannot load as it ships; these
// requests carry no cookies (as in http-cache-headers.test.ts)
jest.mock('cookie', () => ({ stringifySetCookie: () => '' }));

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { bucketKey, sourcesKey, type SourceRecord } from '../../src/adapters/redis/reputation-layout';
import { ReputationSourceTable, type SourceTableWatch } from '../../src/adapters/redis/reputation-source-table';
import { renderSources, vanishedSources } from '../../src/cli/import-command';
import { vanishedListAlarm } from '../../src/daemon/vanished-list-alarm';
import {
  NO_EXPECTED_SOURCES,
  watchSources,
  type ExpectedSources,
  type SourceSeen,
  type SourceWatchStep,
} from '../../src/domain/vanished-sources';
import { registerHealthRoutes } from '../../src/http-api/health-routes';
import { CallscreenMetrics } from '../../src/http-api/metrics';
import { EXPECTED_SOURCES_FILE } from '../../src/reputation/expected-sources-file';
import { captureLogger } from '../support/fakes';

const BORN = 1_700_000_000_000;
const LATER = BORN + 3_600_000;
const robocall: SourceSeen = { name: 'robocall', kind: 'feed', gen: 12, entries: 1375, importedAt: BORN + 1000 };
const feedback: SourceSeen = { name: 'feedback', kind: 'feedback', gen: 0, entries: 0, importedAt: BORN };
const ftc: SourceSeen = { name: 'ftc', kind: 'feed', gen: 13, entries: 20, importedAt: BORN + 2000 };
const none = new Set<string>();

const expecting = (...sources: SourceSeen[]): ExpectedSources => ({ tableBornAt: BORN, sources });

describe('watchSources: previous expectation + one read of the table -> incidents', () => {
  test('a table re-created after Redis lost its data: every source that had numbers has vanished, once', () => {
    const step = watchSources(
      expecting(ftc, robocall),
      { tableBornAt: LATER, sources: [{ ...feedback, importedAt: LATER }], bucketsMissing: none },
      LATER,
    );
    expect(step.opened.map((s) => [s.name, s.entries, s.reason])).toEqual([
      ['ftc', 20, 'table-gone'],
      ['robocall', 1375, 'table-gone'],
    ]);
    expect(step.open).toEqual(step.opened);
    // the next read of the same new table: still vanished, nothing newly opened
    const again = watchSources(
      step.expected,
      { tableBornAt: LATER, sources: [{ ...feedback, importedAt: LATER }], bucketsMissing: none },
      LATER + 1000,
    );
    expect(again.opened).toEqual([]);
    expect(again.open.map((s) => [s.name, s.vanishedAt])).toEqual([
      ['ftc', LATER],
      ['robocall', LATER],
    ]);
  });

  test('no table at all (nobody re-created it yet) is a lost table too', () => {
    const step = watchSources(expecting(robocall), { tableBornAt: undefined, sources: [], bucketsMissing: none }, 5);
    expect(step.opened.map((s) => s.name)).toEqual(['robocall']);
    expect(step.expected.tableBornAt).toBe(BORN);
  });

  test('a source removed from the same table is forgotten, not an incident', () => {
    const step = watchSources(
      expecting(ftc, robocall),
      { tableBornAt: BORN, sources: [feedback, ftc], bucketsMissing: none },
      LATER,
    );
    expect(step.opened).toEqual([]);
    expect(step.expected.sources.map((s) => s.name)).toEqual(['ftc']);
  });

  test("a source whose record is there but whose buckets are gone has vanished, with the record's counts", () => {
    const step = watchSources(
      expecting(robocall),
      { tableBornAt: BORN, sources: [feedback, robocall], bucketsMissing: new Set(['robocall']) },
      LATER,
    );
    expect(step.opened).toEqual([{ ...robocall, vanishedAt: LATER, reason: 'buckets-gone' }]);
  });

  test('a vanished source is back once it is live again with numbers (re-imported)', () => {
    const gone = watchSources(
      expecting(robocall),
      { tableBornAt: LATER, sources: [feedback], bucketsMissing: none },
      LATER,
    );
    const reimported = { ...robocall, gen: 1, entries: 1370, importedAt: LATER + 5000 };
    const back = watchSources(
      gone.expected,
      { tableBornAt: LATER, sources: [feedback, reimported], bucketsMissing: none },
      LATER + 6000,
    );
    expect(back.resolved.map((s) => s.name)).toEqual(['robocall']);
    expect(back.open).toEqual([]);
    expect(back.expected).toEqual({ tableBornAt: LATER, sources: [reimported] });
  });

  test('sources without numbers are never expected; a first start with no expectation opens nothing', () => {
    const step = watchSources(
      NO_EXPECTED_SOURCES,
      { tableBornAt: BORN, sources: [feedback, { ...ftc, entries: 0 }], bucketsMissing: none },
      1,
    );
    expect(step).toEqual({ expected: { tableBornAt: BORN, sources: [] }, open: [], opened: [], resolved: [] });
  });
});

/** The source table's commands on a Map: enough Redis for ReputationSourceTable. */
class FakeRedis {
  readonly hashes = new Map<string, Map<string, string>>();
  existsCalls = 0;
  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }
  async hget(key: string, field: string): Promise<string | null> {
    return this.hashes.get(key)?.get(field) ?? null;
  }
  async hsetnx(key: string, field: string, value: string): Promise<number> {
    const hash = this.hashes.get(key) ?? new Map<string, string>();
    this.hashes.set(key, hash);
    if (hash.has(field)) return 0;
    hash.set(field, value);
    return 1;
  }
  async exists(...keys: string[]): Promise<number> {
    this.existsCalls++;
    return keys.filter((k) => this.hashes.has(k)).length;
  }
  hset(key: string, field: string, value: string): void {
    const hash = this.hashes.get(key) ?? new Map<string, string>();
    this.hashes.set(key, hash);
    hash.set(field, value);
  }
  flushall(): void {
    this.hashes.clear();
  }
  asClient(): RedisClient {
    return this as unknown as RedisClient;
  }
}

const PREFIX = 't:';
/** a feed imported into the table; `born`: the table was created long ago (its feedback record) */
function importFeed(redis: FakeRedis, source: SourceSeen, buckets = 4, born = true): void {
  if (born)
    redis.hsetnx(sourcesKey(PREFIX), 'feedback', JSON.stringify({ ...feedback, buckets: 1024, categories: [] }));
  const record: Omit<SourceRecord, 'name'> = { ...source, kind: 'feed', buckets, categories: [] };
  redis.hset(sourcesKey(PREFIX), source.name, JSON.stringify(record));
  for (let b = 0; b < buckets; b++) redis.hset(bucketKey(PREFIX, source.name, source.gen, b), '12125550147', '1');
}

function watchedTable(redis: FakeRedis, clock: { now: number }, expected: ExpectedSources = NO_EXPECTED_SOURCES) {
  const steps: SourceWatchStep[] = [];
  const written: ExpectedSources[] = [];
  const watch: SourceTableWatch = {
    expected,
    onExpected: (e) => written.push(e),
    onIncidents: (s) => steps.push(s),
    now: () => clock.now,
  };
  return { table: new ReputationSourceTable(redis.asClient(), PREFIX, undefined, { watch }), steps, written };
}

describe('ReputationSourceTable: the watch', () => {
  test('Redis flushed under a running reader: the source is reported vanished once, then back after a re-import', async () => {
    const redis = new FakeRedis();
    const clock = { now: BORN };
    importFeed(redis, robocall);
    const { table, steps, written } = watchedTable(redis, clock);
    await table.refresh();
    expect(steps).toEqual([]);
    expect(written.at(-1)?.sources.map((s) => s.name)).toEqual(['robocall']);

    redis.flushall();
    clock.now += 1000;
    await table.refresh();
    await table.refresh();
    expect(steps).toHaveLength(1);
    expect(steps[0]!.opened.map((s) => [s.name, s.entries, s.reason])).toEqual([['robocall', 1375, 'table-gone']]);
    expect(written.at(-1)?.sources[0]).toMatchObject({ name: 'robocall', reason: 'table-gone' });

    importFeed(redis, { ...robocall, gen: 1, importedAt: clock.now }, 4, false);
    await table.refresh();
    expect(steps).toHaveLength(2);
    expect(steps[1]!.resolved.map((s) => s.name)).toEqual(['robocall']);
    expect(steps[1]!.open).toEqual([]);
  });

  test("a feed's buckets gone while its record stays: noticed by the probe, which runs once a minute, not per read", async () => {
    const redis = new FakeRedis();
    const clock = { now: BORN };
    importFeed(redis, robocall);
    const { table, steps } = watchedTable(redis, clock);
    await table.refresh();
    expect(redis.existsCalls).toBe(1);
    for (let b = 0; b < 4; b++) redis.hashes.delete(bucketKey(PREFIX, 'robocall', robocall.gen, b));
    for (let s = 0; s < 59; s++) {
      clock.now += 1000;
      await table.refresh();
    }
    expect(redis.existsCalls).toBe(1);
    expect(steps).toEqual([]);
    clock.now += 1000;
    await table.refresh();
    expect(redis.existsCalls).toBe(2);
    expect(steps[0]!.opened.map((s) => [s.name, s.reason])).toEqual([['robocall', 'buckets-gone']]);
  });

  test('a reader started on an empty Redis with the expectation of a source from before (a host reboot) reports it at the first read', async () => {
    const redis = new FakeRedis();
    const { table, steps } = watchedTable(redis, { now: LATER }, expecting(robocall));
    await table.refresh();
    expect(steps[0]!.opened.map((s) => s.name)).toEqual(['robocall']);
  });
});

describe('the alarm the daemon wires: log, metric, readiness, state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cs-vanished-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const gauge = async (metrics: CallscreenMetrics, source: string) =>
    (await metrics.registry.getSingleMetric('callscreen_reputation_source_vanished')!.get()).values.find(
      (v) => v.labels.source === source,
    )?.value;

  test('one error line per vanished source, the gauge at 1, a warning in /readyz (still 200); all cleared once it is back', async () => {
    const { logger, at } = captureLogger();
    const metrics = new CallscreenMetrics({ defaultMetrics: false });
    const alarm = vanishedListAlarm({ file: path.join(dir, 'callscreen.yaml') }, logger, metrics);
    const redis = new FakeRedis();
    const clock = { now: BORN };
    importFeed(redis, robocall);
    const table = new ReputationSourceTable(redis.asClient(), PREFIX, undefined, {
      watch: { ...alarm.watch, now: () => clock.now },
    });
    const app = Fastify();
    registerHealthRoutes(app, {
      metrics,
      readiness: () => ({ ari: 'connected', redis: 'ready', warnings: alarm.warnings() }),
    });
    await table.refresh();
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ ready: true, ari: 'connected', redis: 'ready' });

    redis.flushall();
    for (let i = 0; i < 3; i++) {
      clock.now += 1000;
      await table.refresh();
    }
    const errors = at('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ source: 'robocall', entries: 1375, reason: 'table-gone' });
    expect(errors[0]!.msg).toMatch(/^reputation list vanished: robocall \(feed, had 1375 numbers\)/);
    expect(await gauge(metrics, 'robocall')).toBe(1);
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      ready: true,
      ari: 'connected',
      redis: 'ready',
      warnings: [
        'reputation list vanished: robocall (feed, had 1375 numbers): the source table is gone (Redis lost its data)',
      ],
    });

    importFeed(redis, { ...robocall, gen: 1, importedAt: clock.now }, 4, false);
    await table.refresh();
    expect(await gauge(metrics, 'robocall')).toBe(0);
    expect(alarm.warnings()).toEqual([]);
    expect(at('info').map((l) => l.msg)).toContain('reputation source robocall is back');
    await app.close();
  });

  test('the expectation survives the daemon: a second daemon on the emptied Redis says the list vanished', async () => {
    const config = { file: path.join(dir, 'callscreen.yaml') };
    const first = vanishedListAlarm(config, captureLogger().logger, new CallscreenMetrics({ defaultMetrics: false }));
    const redis = new FakeRedis();
    importFeed(redis, robocall);
    await new ReputationSourceTable(redis.asClient(), PREFIX, undefined, { watch: first.watch }).refresh();
    await waitFor(() => readFileSync(path.join(dir, EXPECTED_SOURCES_FILE), 'utf8').includes('robocall'));

    redis.flushall(); // the host rebooted: Redis and the daemon start again
    const { logger, at } = captureLogger();
    const second = vanishedListAlarm(config, logger, new CallscreenMetrics({ defaultMetrics: false }));
    await new ReputationSourceTable(redis.asClient(), PREFIX, undefined, { watch: second.watch }).refresh();
    expect(at('error').map((l) => l.source)).toEqual(['robocall']);
    expect(second.warnings()).toHaveLength(1);
  });

  test('a daemon that never had a source with numbers leaves no state file behind', async () => {
    const alarm = vanishedListAlarm(
      { file: path.join(dir, 'callscreen.yaml') },
      captureLogger().logger,
      new CallscreenMetrics({ defaultMetrics: false }),
    );
    await new ReputationSourceTable(new FakeRedis().asClient(), PREFIX, undefined, { watch: alarm.watch }).refresh();
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(path.join(dir, EXPECTED_SOURCES_FILE))).toBe(false);
  });

  test('`callscreen reputation sources` leads with a loud line for a source the daemon expected and Redis lost', () => {
    writeFileSync(path.join(dir, EXPECTED_SOURCES_FILE), JSON.stringify({ tableBornAt: BORN, sources: [robocall] }));
    const vanished = vanishedSources(path.join(dir, 'callscreen.yaml'), []);
    expect(vanished.map((v) => v.name)).toEqual(['robocall']);
    const text = renderSources([], vanished);
    expect(text.split('\n')[0]).toMatch(
      /^REPUTATION LIST VANISHED: robocall \(feed, had 1375 numbers\): the source table is gone .*callscreen import --source robocall FILE\)$/,
    );
    expect(text).toContain('no reputation sources');
    // the same table with the source removed on purpose: nothing to say
    const table: SourceRecord[] = [{ ...feedback, kind: 'feedback', buckets: 1024, categories: [] }];
    expect(vanishedSources(path.join(dir, 'callscreen.yaml'), table)).toEqual([]);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // not there yet
    }
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
