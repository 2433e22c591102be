/**
 * When feeds are fetched: the pure schedule (src/reputation/subscriptions/feed-schedule.ts) and the
 * daemon's FeedScheduler with an in-memory store and a fake runner (which feeds run, in what order, what
 * is skipped, what a failing store or runner does, and close()).
 */
import pino from 'pino';
import { feedSchema, type FeedSettings } from '../../src/config/feeds-schema';
import type { FeedStatus, FeedSubscriptionStore } from '../../src/ports/feed-subscriptions';
import type { FeedRunOutcome } from '../../src/reputation/subscriptions/feed-runner';
import { isDue, nextRunAt, retryDelayMs } from '../../src/reputation/subscriptions/feed-schedule';
import { FeedScheduler } from '../../src/reputation/subscriptions/feed-scheduler';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2026, 11, 6, 8, 0);

describe('nextRunAt', () => {
  const status = (s: Partial<FeedStatus>): FeedStatus => ({ name: 'f', failures: 0, ...s });

  test('a feed never fetched is due at once', () => {
    expect(nextRunAt(undefined, DAY, T0)).toBe(T0);
    expect(isDue(undefined, DAY, T0)).toBe(true);
  });

  test('after a success: one interval after the last attempt', () => {
    const s = status({ lastAttemptAt: T0 - 3 * MIN, lastSuccessAt: T0 - 3 * MIN });
    expect(nextRunAt(s, 60 * MIN, T0)).toBe(T0 + 57 * MIN);
    expect(isDue(s, 60 * MIN, T0 + 56 * MIN)).toBe(false);
    expect(isDue(s, 60 * MIN, T0 + 57 * MIN)).toBe(true);
  });

  test('after failures: 5, 10, 20, 40 minutes ..., never later than the interval', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((f) => retryDelayMs(f, 6 * 60 * MIN) / MIN)).toEqual([
      5, 10, 20, 40, 80, 160, 320,
    ]);
    expect(retryDelayMs(9, 6 * 60 * MIN)).toBe(6 * 60 * MIN);
    expect(retryDelayMs(1000, DAY)).toBe(DAY);
    expect(nextRunAt(status({ lastAttemptAt: T0, failures: 2 }), DAY, T0)).toBe(T0 + 10 * MIN);
  });

  test('an attempt stamped by a clock ahead of ours delays the next fetch by the difference only', () => {
    const s = status({ lastAttemptAt: T0 + 10 * MIN });
    expect(nextRunAt(s, 60 * MIN, T0)).toBe(T0 + 70 * MIN);
  });
});

describe('FeedScheduler', () => {
  const silent = pino({ level: 'silent' });
  const feed = (name: string, intervalMinutes = 60): FeedSettings =>
    feedSchema.parse({ name, url: `https://lists.example/${name}.csv`, intervalMinutes });

  /** an in-memory store: statuses and held locks; `failing` makes every read throw */
  function memoryStore() {
    const statuses = new Map<string, FeedStatus>();
    const locks = new Set<string>();
    const store = {
      failing: false as boolean,
      statuses: async () => {
        if (store.failing) throw new Error('redis down');
        return new Map(statuses);
      },
      lockHeld: async (name: string) => locks.has(name),
    } satisfies Pick<FeedSubscriptionStore, 'statuses' | 'lockHeld'> & { failing: boolean };
    return { store, statuses, locks };
  }

  function scheduler(
    feeds: FeedSettings[],
    store: Pick<FeedSubscriptionStore, 'statuses' | 'lockHeld'>,
    run: (feed: FeedSettings, signal: AbortSignal) => Promise<FeedRunOutcome | undefined>,
    now: () => number,
  ) {
    const runs: string[] = [];
    const outcomes: Array<[string, string]> = [];
    const seen: Array<ReadonlyMap<string, FeedStatus>> = [];
    const s = new FeedScheduler({
      feeds,
      store,
      logger: silent,
      now,
      run: (f, signal) => {
        runs.push(f.name);
        return run(f, signal);
      },
      onRun: (name, outcome) => outcomes.push([name, outcome]),
      onStatuses: (statuses) => seen.push(statuses),
    });
    return { s, runs, outcomes, seen };
  }

  test('runs the feeds that are due, one after another, and reports the statuses after each run', async () => {
    const { store, statuses } = memoryStore();
    let now = T0;
    statuses.set('fresh', { name: 'fresh', failures: 0, lastAttemptAt: T0 - 10 * MIN }); // due at T0 + 50 min
    statuses.set('stale', { name: 'stale', failures: 0, lastAttemptAt: T0 - 61 * MIN });
    let active = 0;
    const { s, runs, outcomes, seen } = scheduler(
      [feed('fresh'), feed('stale'), feed('never')],
      store,
      async (f) => {
        active++;
        expect(active).toBe(1); // never two at once
        await new Promise((r) => setImmediate(r));
        statuses.set(f.name, { name: f.name, failures: 0, lastAttemptAt: now });
        active--;
        return { outcome: 'unchanged', entries: 10 };
      },
      () => now,
    );
    await s.tick();
    expect(runs).toEqual(['stale', 'never']);
    expect(outcomes).toEqual([
      ['stale', 'unchanged'],
      ['never', 'unchanged'],
    ]);
    expect(seen).toHaveLength(3);
    expect(seen[2]?.get('never')?.lastAttemptAt).toBe(T0);

    now = T0 + 50 * MIN;
    await s.tick();
    expect(runs).toEqual(['stale', 'never', 'fresh']);
  });

  test('a feed whose lock another runner holds is left to it', async () => {
    const { store, locks } = memoryStore();
    locks.add('busy');
    const { s, runs } = scheduler(
      [feed('busy'), feed('free')],
      store,
      async () => ({ outcome: 'imported', entries: 1, added: 1, removed: 0, gen: 1 }),
      () => T0,
    );
    await s.tick();
    expect(runs).toEqual(['free']);
  });

  test('a Redis that does not answer: nothing runs, no error escapes, the next check tries again', async () => {
    const { store } = memoryStore();
    store.failing = true;
    const { s, runs } = scheduler(
      [feed('a')],
      store,
      async () => ({ outcome: 'locked' }),
      () => T0,
    );
    await expect(s.tick()).resolves.toBeUndefined();
    expect(runs).toEqual([]);
    store.failing = false;
    await s.tick();
    expect(runs).toEqual(['a']);
  });

  test('a run that ends without an outcome is retried after 5, then 10 minutes, not at every check', async () => {
    const { store } = memoryStore();
    let now = T0;
    const { s, runs, outcomes } = scheduler(
      [feed('broken')],
      store,
      async () => {
        throw new Error('spawn ENOENT');
      },
      () => now,
    );
    await s.tick();
    expect(outcomes).toEqual([['broken', 'unknown']]);
    now = T0 + 4 * MIN;
    await s.tick();
    expect(runs).toHaveLength(1);
    now = T0 + 5 * MIN;
    await s.tick();
    expect(runs).toHaveLength(2);
    now = T0 + 14 * MIN;
    await s.tick();
    expect(runs).toHaveLength(2);
    now = T0 + 15 * MIN;
    await s.tick();
    expect(runs).toHaveLength(3);
  });

  test('close() aborts the run in progress and waits for it; no run starts after it', async () => {
    const { store } = memoryStore();
    let aborted = false;
    const { s, runs } = scheduler(
      [feed('slow'), feed('next')],
      store,
      (_f, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ outcome: 'failed', error: 'stopped' });
          });
        }),
      () => T0,
    );
    const ticking = s.tick();
    await new Promise((r) => setImmediate(r));
    await s.close();
    await ticking;
    expect(aborted).toBe(true);
    expect(runs).toEqual(['slow']);
  });
});
