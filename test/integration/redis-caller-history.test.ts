/**
 * RedisCallerHistoryStore against a real, private redis-server: sliding windows, the number block,
 * `check` writing nothing, the repeat caller and the calls that reached a person, the distinct DIDs
 * called, reputation (the number's entries and its block's counts) and CAPTCHA history, the amortised
 * maintenance of the sorted sets (trim and TTL once per epoch, never a key without a TTL, bookkeeping
 * members never counted), Redis down, and that a fetch is one command on the wire.
 */
import type Redis from 'ioredis';
import { createRedisConnection } from '../../src/adapters/redis/redis-connection';
import {
  CAPTCHA_TTL_MS,
  RedisCallerHistoryStore,
  VELOCITY_TTL_SLACK_MS,
  maintenanceIntervalMs,
} from '../../src/adapters/redis/redis-caller-history-store';
import type { CallerHistoryQuery } from '../../src/ports/caller-history-store';
import { PrivateRedis } from '../support/redis-server';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { ReputationSourceTable } from '../../src/adapters/redis/reputation-source-table';
import {
  numberField,
  sourceBlockKey,
  sourceBucketKey,
  sourcesKey,
  type SourceRecord,
} from '../../src/adapters/redis/reputation-layout';
import {
  dayOf,
  dayStartMs,
  encodeBlockCount,
  encodeFeedbackEntry,
  encodeFeedEntry,
  type FeedEntry,
} from '../../src/domain/reputation-entry';

jest.setTimeout(20_000);

const PREFIX = 'callscreen:';
/** long enough that "at about the timeout" and "at once" (well under it) stay apart on a loaded machine */
const COMMAND_TIMEOUT_MS = 1_000;
const T = 1_700_000_000_000;
const HOUR = 3_600_000;
/** the default query's sets: number windows [60 s, 3600 s] and repeat 300 s keep calls an hour; block [60 s] a minute */
const NUMBER_INTERVAL = maintenanceIntervalMs(HOUR);
const NUMBER_TTL = HOUR + NUMBER_INTERVAL + VELOCITY_TTL_SLACK_MS;
const BLOCK_INTERVAL = maintenanceIntervalMs(60_000);
const BLOCK_TTL = 60_000 + BLOCK_INTERVAL + VELOCITY_TTL_SLACK_MS;
/** the start of an epoch of both sets (their intervals divide each other) */
const T0 = Math.ceil(T / NUMBER_INTERVAL) * NUMBER_INTERVAL;
const E164 = '+12015550123';
const NUMBER_KEY = `${PREFIX}caller:${E164}`;
const BLOCK_KEY = `${PREFIX}vel:b:+120155501`;

const server = new PrivateRedis(16393);
let admin: Redis;
let conn: Redis;
let store: RedisCallerHistoryStore;
let callSeq = 0;

async function storeConnection(): Promise<Redis> {
  const redis = createRedisConnection({
    url: server.url,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    connectionName: 'caller-history-test',
  });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

function query(overrides: Partial<CallerHistoryQuery> = {}): CallerHistoryQuery {
  return {
    e164: E164,
    did: '+12125550100',
    at: T,
    callId: `call-${++callSeq}`,
    numberWindowsSeconds: [60, 3600],
    blockWindowsSeconds: [60],
    blockDigits: 2,
    repeatWithinSeconds: 300,
    didWindowSeconds: 0,
    blockReputationDigits: 0,
    record: true,
    ...overrides,
  };
}

const counts = (w: ReadonlyArray<{ calls: number }>) => w.map((c) => c.calls);

/** the calls in a sorted set (positive scores), as times */
async function callTimes(key: string): Promise<number[]> {
  const flat = await admin.zrangebyscore(key, '(0', '+inf', 'WITHSCORES');
  return flat.filter((_, i) => i % 2 === 1).map(Number);
}

/** writes since start: every write command (PEXPIRE included) bumps it, reads never do */
async function writesSoFar(): Promise<number> {
  const info = await admin.info('persistence');
  const m = /rdb_changes_since_last_save:(\d+)/.exec(info);
  if (!m?.[1]) throw new Error('no rdb_changes_since_last_save in INFO');
  return Number(m[1]);
}

/** calls of a command so far; commands a script runs count too */
async function commandCalls(name: string): Promise<number> {
  const info = await admin.info('commandstats');
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
  return m?.[1] ? Number(m[1]) : 0;
}

async function maintenanceCalls(): Promise<{ pexpire: number; trim: number }> {
  return { pexpire: await commandCalls('pexpire'), trim: await commandCalls('zremrangebyscore') };
}

/** every key in the database has a TTL (PTTL -1 = none) */
async function keysWithoutTtl(): Promise<string[]> {
  const keys = await admin.keys('*');
  const ttls = await Promise.all(keys.map((k) => admin.pttl(k)));
  return keys.filter((_, i) => (ttls[i] ?? -1) < 0);
}

beforeAll(async () => {
  await server.start();
  admin = server.client();
  conn = await storeConnection();
  store = new RedisCallerHistoryStore(conn, PREFIX);
});

afterAll(async () => {
  // quit when connected (no lingering disconnect timer); disconnect if a failed test left Redis down
  await Promise.all([conn, admin].map((c) => c?.quit().catch(() => c.disconnect())));
  await server.kill();
});

beforeEach(async () => {
  await admin.flushall();
});

describe('velocity of the number (sliding windows)', () => {
  test('calls at t, t+10 s and t+70 s count [1,1], [2,2], [1,3] in windows [60 s, 3600 s]; the window is (at - w, at]', async () => {
    const a = await store.fetch(query({ at: T }));
    const b = await store.fetch(query({ at: T + 10_000 }));
    const c = await store.fetch(query({ at: T + 70_000 }));
    expect(a.numberCalls).toEqual([
      { windowSeconds: 60, calls: 1 },
      { windowSeconds: 3600, calls: 1 },
    ]);
    expect(counts(b.numberCalls)).toEqual([2, 2]);
    // t+10 s is exactly 60 s before t+70 s: out of the 60 s window
    expect(counts(c.numberCalls)).toEqual([1, 3]);
  });

  test('windows come back in the order of the query', async () => {
    await store.fetch(query({ at: T }));
    const h = await store.fetch(query({ at: T + 120_000, numberWindowsSeconds: [3600, 60, 600] }));
    expect(h.numberCalls).toEqual([
      { windowSeconds: 3600, calls: 2 },
      { windowSeconds: 60, calls: 1 },
      { windowSeconds: 600, calls: 2 },
    ]);
  });

  test('the same callId fetched again is counted once, keeps its first time, writes nothing and is not its own previous call', async () => {
    await store.fetch(query({ at: T, callId: 'first' }));
    const again = await store.fetch(query({ at: T + 5_000, callId: 'second' }));
    const writes = await writesSoFar();
    const refetch = await store.fetch(query({ at: T + 5_000, callId: 'second' }));
    const later = await store.fetch(query({ at: T + 9_000, callId: 'second' }));
    expect(await writesSoFar()).toBe(writes);
    expect(counts(again.numberCalls)).toEqual([2, 2]);
    expect(counts(refetch.numberCalls)).toEqual([2, 2]);
    expect(counts(later.numberCalls)).toEqual([2, 2]);
    expect(counts(refetch.blockCalls)).toEqual([2]);
    expect(again.previousCallToDidAt).toBe(T);
    expect(refetch.previousCallToDidAt).toBeUndefined();
    expect(later.previousCallToDidAt).toBeUndefined();
    expect(await callTimes(NUMBER_KEY)).toEqual([T, T + 5_000]);
    expect(await callTimes(BLOCK_KEY)).toEqual([T, T + 5_000]);
  });

  test('calls older than the longest window are trimmed once the next epoch starts, and the set then lives retention + interval + slack', async () => {
    await store.fetch(query({ at: T }));
    await store.fetch(query({ at: T + 10_000 }));
    const later = await store.fetch(query({ at: T + 3_605_000 }));
    // the hour window is (t+5 s, t+3605 s]: t is out (and trimmed), t+10 s is still in
    expect(counts(later.numberCalls)).toEqual([1, 2]);
    expect(await callTimes(NUMBER_KEY)).toEqual([T + 10_000, T + 3_605_000]);
    const ttl = await admin.pttl(NUMBER_KEY);
    expect(ttl).toBeGreaterThan(NUMBER_TTL - 1_000);
    expect(ttl).toBeLessThanOrEqual(NUMBER_TTL);
    expect(NUMBER_TTL).toBeLessThanOrEqual(HOUR + 6 * 60_000);
  });

  test('a window that is not a positive number counts nothing', async () => {
    const h = await store.fetch(query({ numberWindowsSeconds: [0, -5, Number.NaN, 60] }));
    expect(counts(h.numberCalls)).toEqual([0, 0, 0, 1]);
  });
});

describe('velocity of the number block', () => {
  test('counts calls from different numbers of the same block, not from another block', async () => {
    await store.fetch(query({ e164: '+12015550123', at: T }));
    await store.fetch(query({ e164: '+12015550188', at: T + 1_000 }));
    const same = await store.fetch(query({ e164: '+12015550199', at: T + 2_000 }));
    const other = await store.fetch(query({ e164: '+12015550223', at: T + 3_000 }));
    expect(same.blockCalls).toEqual([{ windowSeconds: 60, calls: 3 }]);
    expect(counts(same.numberCalls)).toEqual([1, 1]);
    expect(counts(other.blockCalls)).toEqual([1]);
    expect(await admin.exists(`${PREFIX}vel:b:+120155501`, `${PREFIX}vel:b:+120155502`)).toBe(2);
  });

  test('block calls age out of the block window like number calls', async () => {
    await store.fetch(query({ e164: '+12015550123', at: T }));
    const h = await store.fetch(query({ e164: '+12015550188', at: T + 60_000, blockWindowsSeconds: [60, 120] }));
    expect(counts(h.blockCalls)).toEqual([1, 2]);
  });

  test('blockDigits 0, or a number no longer than blockDigits, tracks no block: zeros and no block key', async () => {
    const off = await store.fetch(query({ blockDigits: 0, blockWindowsSeconds: [60, 3600] }));
    const short = await store.fetch(query({ e164: '+1234', blockDigits: 4, blockWindowsSeconds: [60] }));
    expect(off.blockCalls).toEqual([
      { windowSeconds: 60, calls: 0 },
      { windowSeconds: 3600, calls: 0 },
    ]);
    expect(short.blockCalls).toEqual([{ windowSeconds: 60, calls: 0 }]);
    expect(await admin.keys(`${PREFIX}vel:b:*`)).toEqual([]);
  });

  test('a hot block: calls of many numbers are all counted, each once', async () => {
    let last = await store.fetch(query({ e164: '+12015550100', at: T0 }));
    for (let i = 1; i < 40; i++)
      last = await store.fetch(query({ e164: `+120155501${String(i).padStart(2, '0')}`, at: T0 + i * 1_000 }));
    // the 60 s window at t0+39 s holds all 40 calls; the first number called once
    expect(counts(last.blockCalls)).toEqual([40]);
    expect(counts(last.numberCalls)).toEqual([1, 1]);
    expect((await callTimes(BLOCK_KEY)).length).toBe(40);
  });
});

describe('record=false (callscreen check) writes nothing', () => {
  test('a new number: counts include the call, yet no key is created and nothing is written', async () => {
    const writes = await writesSoFar();
    const h = await store.fetch(query({ record: false }));
    expect(counts(h.numberCalls)).toEqual([1, 1]);
    expect(counts(h.blockCalls)).toEqual([1]);
    expect(h.previousCallToDidAt).toBeUndefined();
    expect(await admin.dbsize()).toBe(0);
    expect(await writesSoFar()).toBe(writes);
  });

  test('a known number: counts as if recorded, previous call reported, sets and TTLs unchanged', async () => {
    await store.fetch(query({ at: T, callId: 'live' }));
    const snapshot = async () => ({
      number: await admin.zrange(NUMBER_KEY, 0, -1, 'WITHSCORES'),
      block: await admin.zrange(BLOCK_KEY, 0, -1, 'WITHSCORES'),
      dbsize: await admin.dbsize(),
    });
    const before = await snapshot();
    const writes = await writesSoFar();

    const h = await store.fetch(query({ at: T + 30_000, callId: 'check', record: false }));
    expect(counts(h.numberCalls)).toEqual([2, 2]);
    expect(counts(h.blockCalls)).toEqual([2]);
    expect(h.previousCallToDidAt).toBe(T);
    // in a later epoch a live call would maintain both sets; a check does not
    const due = await store.fetch(query({ at: T + 3_000_000, callId: 'check-2', record: false }));
    expect(counts(due.numberCalls)).toEqual([1, 2]);

    expect(await writesSoFar()).toBe(writes);
    expect(await snapshot()).toEqual(before);
  });

  test('checking a call that is already recorded does not count it twice', async () => {
    await store.fetch(query({ at: T, callId: 'live' }));
    const h = await store.fetch(query({ at: T, callId: 'live', record: false }));
    expect(counts(h.numberCalls)).toEqual([1, 1]);
    expect(counts(h.blockCalls)).toEqual([1]);
  });
});

describe('repeat caller (the previous call to the same DID)', () => {
  test('reports the previous call to this DID only, never a call to another DID', async () => {
    const first = await store.fetch(query({ at: T, did: '+12125550100' }));
    const otherDid = await store.fetch(query({ at: T + 1_000, did: '+12125550199' }));
    const sameDid = await store.fetch(query({ at: T + 2_000, did: '+12125550100' }));
    const third = await store.fetch(query({ at: T + 3_000, did: '+12125550100' }));
    expect(first.previousCallToDidAt).toBeUndefined();
    expect(otherDid.previousCallToDidAt).toBeUndefined();
    expect(sameDid.previousCallToDidAt).toBe(T);
    expect(third.previousCallToDidAt).toBe(T + 2_000);
  });

  test('a refetch of the same call does not report itself as its own previous call', async () => {
    await store.fetch(query({ at: T, callId: 'c1' }));
    const refetch = await store.fetch(query({ at: T, callId: 'c1' }));
    expect(refetch.previousCallToDidAt).toBeUndefined();
  });

  test('is forgotten once the call is more than repeatWithinSeconds after the previous one', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 1 }));
    const soon = await store.fetch(query({ at: T + 300, repeatWithinSeconds: 1 }));
    const edge = await store.fetch(query({ at: T + 1_300, repeatWithinSeconds: 1 }));
    const late = await store.fetch(query({ at: T + 2_301, repeatWithinSeconds: 1 }));
    expect(soon.previousCallToDidAt).toBe(T);
    expect(edge.previousCallToDidAt).toBe(T + 300);
    expect(late.previousCallToDidAt).toBeUndefined();
  });

  test('survives while the velocity windows are empty: the set lives as long as the repeat memory', async () => {
    const q = { numberWindowsSeconds: [60], blockWindowsSeconds: [], repeatWithinSeconds: 1_800 };
    await store.fetch(query({ ...q, at: T0 }));
    const ttl = await admin.pttl(NUMBER_KEY);
    expect(ttl).toBeGreaterThan(1_800_000);
    const h = await store.fetch(query({ ...q, at: T0 + 1_500_000 }));
    expect(counts(h.numberCalls)).toEqual([1]);
    expect(h.previousCallToDidAt).toBe(T0);
    // with no windows at all the repeat memory alone keeps the set
    const only = await store.fetch(query({ ...q, numberWindowsSeconds: [], at: T0 + 1_700_000 }));
    expect(only.previousCallToDidAt).toBe(T0 + 1_500_000);
  });

  test('stale d:<did> members are trimmed by maintenance; fresh ones are kept', async () => {
    const q = { numberWindowsSeconds: [60], blockWindowsSeconds: [], repeatWithinSeconds: 600 };
    await store.fetch(query({ ...q, at: T0, did: '+12125550100' }));
    await store.fetch(query({ ...q, at: T0 + 400_000, did: '+12125550199' }));
    // at t0+700 s (a new epoch) the call to ...100 is 700 s old: forgotten, and trimmed; ...199 is kept
    const check = await store.fetch(query({ ...q, at: T0 + 700_000, did: '+12125550100', record: false }));
    expect(check.previousCallToDidAt).toBeUndefined();
    await store.fetch(query({ ...q, at: T0 + 700_000, did: '+12125550150' }));
    const dids = (await admin.zrange(NUMBER_KEY, 0, -1)).filter((m) => m.startsWith('d:'));
    expect(dids.sort()).toEqual(['d:+12125550150', 'd:+12125550199']);
    expect(await admin.zscore(NUMBER_KEY, 'd:+12125550199')).toBe(String(-(T0 + 400_000)));
  });

  test('repeatWithinSeconds 0 remembers nothing', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 0 }));
    const h = await store.fetch(query({ at: T + 1_000, repeatWithinSeconds: 0 }));
    expect(h.previousCallToDidAt).toBeUndefined();
    expect((await admin.zrange(NUMBER_KEY, 0, -1)).filter((m) => m.startsWith('d:'))).toEqual([]);
  });
});

describe('maintenance of the sorted sets (amortised trim and TTL)', () => {
  test('runs once per epoch per set: new sets get their TTL at once, later calls of the epoch only ZADD', async () => {
    const start = await maintenanceCalls();
    // within one block epoch: 8 calls from 8 numbers of the block
    for (let i = 0; i < 8; i++)
      await store.fetch(query({ e164: `+120155501${i}0`, at: T0 + i * (BLOCK_INTERVAL / 8) }));
    let now = await maintenanceCalls();
    // one PEXPIRE per new number set and one for the new block set; nothing to trim yet
    expect(now.pexpire - start.pexpire).toBe(8 + 1);
    expect(now.trim - start.trim).toBe(0);

    // the next block epoch: the block set is maintained once more, the number sets are not
    await store.fetch(query({ e164: '+12015550100', at: T0 + BLOCK_INTERVAL }));
    await store.fetch(query({ e164: '+12015550110', at: T0 + BLOCK_INTERVAL + 1 }));
    now = await maintenanceCalls();
    expect(now.pexpire - start.pexpire).toBe(8 + 2);
    expect(now.trim - start.trim).toBe(1);

    // the next number epoch: that number's set is maintained too (and the block again)
    await store.fetch(query({ e164: '+12015550100', at: T0 + NUMBER_INTERVAL }));
    now = await maintenanceCalls();
    expect(now.pexpire - start.pexpire).toBe(8 + 4);
    expect(now.trim - start.trim).toBe(3);
  });

  test('trims old entries and refreshes the TTL when due, not before', async () => {
    await store.fetch(query({ at: T0 }));
    await admin.pexpire(NUMBER_KEY, 50_000);
    await admin.pexpire(BLOCK_KEY, 50_000);
    // same epoch of both sets: TTLs untouched
    await store.fetch(query({ at: T0 + 1_000 }));
    expect(await admin.pttl(NUMBER_KEY)).toBeLessThanOrEqual(50_000);
    expect(await admin.pttl(BLOCK_KEY)).toBeLessThanOrEqual(50_000);
    // a new epoch of the block set only
    await store.fetch(query({ at: T0 + BLOCK_INTERVAL }));
    expect(await admin.pttl(NUMBER_KEY)).toBeLessThanOrEqual(50_000);
    expect(await admin.pttl(BLOCK_KEY)).toBeGreaterThan(BLOCK_TTL - 1_000);
    // a new epoch of the number set, more than the block's retention later: old block calls trimmed
    const h = await store.fetch(query({ at: T0 + NUMBER_INTERVAL }));
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(NUMBER_TTL - 1_000);
    expect(await callTimes(BLOCK_KEY)).toEqual([T0 + NUMBER_INTERVAL]);
    expect(await callTimes(NUMBER_KEY)).toEqual([T0, T0 + 1_000, T0 + BLOCK_INTERVAL, T0 + NUMBER_INTERVAL]);
    expect(counts(h.numberCalls)).toEqual([1, 4]);
  });

  test('a clock that jumps back still maintains (any other epoch is due)', async () => {
    await store.fetch(query({ at: T0 }));
    await admin.pexpire(NUMBER_KEY, 50_000);
    await admin.pexpire(BLOCK_KEY, 50_000);
    await store.fetch(query({ at: T0 - 2 * NUMBER_INTERVAL }));
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(NUMBER_TTL - 1_000);
    expect(await admin.pttl(BLOCK_KEY)).toBeGreaterThan(BLOCK_TTL - 1_000);
  });

  test('no key is ever left without a TTL: new sets, sets a trim emptied, CAPTCHA-only sets, a mixed workload', async () => {
    await store.fetch(query({ at: T0 }));
    // three hours later every entry is stale: the trim empties both sets, the ZADD recreates them
    await store.fetch(query({ at: T0 + 3 * HOUR }));
    expect(await callTimes(NUMBER_KEY)).toEqual([T0 + 3 * HOUR]);
    expect(await keysWithoutTtl()).toEqual([]);

    await store.recordCaptchaOutcome('+12015550777', 'failed', T0);
    await store.fetch(query({ e164: '+12015550777', at: T0 }));

    // a deterministic mix of numbers, times, checks, refetches, DIDs and CAPTCHA outcomes
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let i = 0; i < 300; i++) {
      const e164 = `+1201555${String(rnd(40)).padStart(4, '0')}`;
      const at = T0 + rnd(4 * HOUR);
      if (rnd(10) === 0) await store.recordCaptchaOutcome(e164, rnd(2) === 0 ? 'passed' : 'failed', at);
      await store.fetch(
        query({ e164, at, did: `+1212555010${rnd(3)}`, record: rnd(5) !== 0, callId: `mix-${rnd(250)}` }),
      );
    }
    expect(await keysWithoutTtl()).toEqual([]);
  });

  test('bookkeeping members (d:<did>, ~m, ~e, CAPTCHA) never show up in window counts, even in a window reaching back before 1970', async () => {
    await store.recordCaptchaOutcome(E164, 'failed', T - 1_000);
    await store.recordCaptchaOutcome(E164, 'passed', T - 500);
    const q = { numberWindowsSeconds: [60, 3600, 1e11], blockWindowsSeconds: [60, 1e11] };
    await store.fetch(query({ ...q, at: T, did: '+12125550100' }));
    await store.fetch(query({ ...q, at: T + 1_000, did: '+12125550101' }));
    const live = await store.fetch(query({ ...q, at: T + 2_000, did: '+12125550102' }));
    const check = await store.fetch(query({ ...q, at: T + 3_000, did: '+12125550100', record: false }));
    expect(counts(live.numberCalls)).toEqual([3, 3, 3]);
    expect(counts(live.blockCalls)).toEqual([3, 3]);
    expect(counts(check.numberCalls)).toEqual([4, 4, 4]);
    expect(check.previousCallToDidAt).toBe(T);
    // the bookkeeping is there all the same
    const members = await admin.zrange(NUMBER_KEY, 0, -1);
    expect(members).toEqual(
      expect.arrayContaining(['~m', 'c:p', 'c:f', 'c:n', 'd:+12125550100', 'd:+12125550101', 'd:+12125550102']),
    );
    expect(await admin.zrange(BLOCK_KEY, 0, -1)).toEqual(expect.arrayContaining(['~e', '~m']));
    // a later epoch maintains both sets; with windows this long nothing is old enough to trim
    const next = await store.fetch(query({ ...q, at: T + HOUR, did: '+12125550100' }));
    expect(counts(next.numberCalls)).toEqual([1, 3, 4]);
    expect(counts(next.blockCalls)).toEqual([1, 4]);
    expect(next.captcha).toEqual({ failures: 0, lastPassedAt: T - 500, lastFailedAt: T - 1_000 });
  });

  test('callIds that look like bookkeeping members are calls like any other', async () => {
    const ids = ['~m', '~e', 'd:+12125550100', 'c:p', 'c:n', '-5', ''];
    await store.recordCaptchaOutcome(E164, 'failed', T - 1_000);
    let last = await store.fetch(query({ at: T, callId: 'plain' }));
    for (const [i, callId] of ids.entries()) last = await store.fetch(query({ at: T + (i + 1) * 1_000, callId }));
    expect(counts(last.numberCalls)).toEqual([ids.length + 1, ids.length + 1]);
    expect(counts(last.blockCalls)).toEqual([ids.length + 1]);
    expect(last.previousCallToDidAt).toBe(T + (ids.length - 1) * 1_000);
    expect(last.captcha).toEqual({ failures: 1, lastFailedAt: T - 1_000 });
    // each counted once when fetched again
    for (const callId of ids)
      expect(counts((await store.fetch(query({ at: T + 9_000, callId, record: false }))).numberCalls)).toEqual([
        ids.length + 1,
        ids.length + 1,
      ]);
  });
});

describe('reputation sources', () => {
  const DAY = 86_400_000;
  /** a feed generation as an import leaves it: the source table record and the number's packed entry in its bucket */
  async function feed(
    name: string,
    gen: number,
    categories: string[],
    entries: Record<string, FeedEntry>,
  ): Promise<SourceRecord> {
    const record: SourceRecord = {
      name,
      kind: 'feed',
      gen,
      buckets: 4,
      entries: Object.keys(entries).length,
      categories,
      importedAt: T,
    };
    await admin.hset(sourcesKey(PREFIX), name, JSON.stringify(record));
    for (const [e164, entry] of Object.entries(entries))
      await admin.hset(sourceBucketKey(PREFIX, record, numberField(e164)), numberField(e164), encodeFeedEntry(entry));
    return record;
  }
  const withSources = () => new RedisCallerHistoryStore(conn, PREFIX, new ReputationSourceTable(conn, PREFIX));

  test('every source’s entry and the agents’ feedback come back from the one fetch, decoded', async () => {
    const day = dayOf(T);
    await feed('robocall', 7, ['Utility-SupplyCharges'], {
      [E164]: { score: 100, reports: 26, category: 1, firstDay: day - 10, lastDay: day - 1 },
    });
    await feed('ktipp', 9, [], { [E164]: { score: 80, reports: 1, category: 0, firstDay: day, lastDay: day } });
    const fb: SourceRecord = {
      name: 'feedback',
      kind: 'feedback',
      gen: 0,
      buckets: 8,
      entries: 1,
      categories: [],
      importedAt: T,
    };
    await admin.hset(sourcesKey(PREFIX), 'feedback', JSON.stringify(fb));
    await admin.hset(
      sourceBucketKey(PREFIX, fb, numberField(E164)),
      numberField(E164),
      encodeFeedbackEntry({ spam: 1, ok: 2, last: 'ok', firstAt: T - 2 * DAY, lastAt: T - DAY }),
    );
    const h = await withSources().fetch(query());
    expect(h.reputation.entries).toEqual([
      { source: 'ktipp', score: 0.8, reports: 1, firstSeenAt: dayStartMs(day), lastSeenAt: dayStartMs(day) },
      {
        source: 'robocall',
        score: 1,
        reports: 26,
        category: 'Utility-SupplyCharges',
        firstSeenAt: dayStartMs(day - 10),
        lastSeenAt: dayStartMs(day - 1),
      },
    ]);
    expect(h.reputation.feedback).toEqual({
      spam: 1,
      ok: 2,
      last: 'ok',
      firstAt: Math.floor((T - 2 * DAY) / 60_000) * 60_000,
      lastAt: Math.floor((T - DAY) / 60_000) * 60_000,
    });
    // another number in the same sources: not listed
    expect((await withSources().fetch(query({ e164: '+12015550999' }))).reputation).toEqual({ entries: [] });
  });

  test('a value that is not a packed entry and a source table field that does not parse are ignored, not fatal', async () => {
    const record = await feed('odd', 3, [], {});
    await admin.hset(sourceBucketKey(PREFIX, record, numberField(E164)), numberField(E164), 'not-a-number');
    await admin.hset(sourcesKey(PREFIX), 'Bad Name', '{}', 'broken', '{not json');
    const h = await withSources().fetch(query());
    expect(h.reputation).toEqual({ entries: [] });
    expect(counts(h.numberCalls)).toEqual([1, 1]);
  });

  test('entries written to a live source (manual) are read back through the store and the fetch alike', async () => {
    await new RedisReputationStore(conn, PREFIX).put('manual', [
      { e164: E164, score: 0.7, reports: 2, category: 'debt collector', at: T },
    ]);
    const [entry] = (await withSources().fetch(query())).reputation.entries;
    expect(entry).toMatchObject({
      source: 'manual',
      score: 0.7,
      reports: 2,
      category: 'debt collector',
      lastSeenAt: dayStartMs(dayOf(T)),
    });
    expect((await new RedisReputationStore(conn, PREFIX).lookup(E164)).entries).toEqual([entry]);
  });
});

describe('called by us (known customers)', () => {
  const KEEP = 90 * 24 * HOUR;

  test('none recorded: absent; recorded: the latest call comes back, an earlier one does not replace it', async () => {
    expect((await store.fetch(query())).calledByUsAt).toBeUndefined();
    await store.recordCalledByUs(E164, T - 5_000, KEEP);
    await store.recordCalledByUs(E164, T - 9_000, KEEP); // reported late: the later call stays
    expect((await store.fetch(query({ at: T }))).calledByUsAt).toBe(T - 5_000);
  });

  test('the set lives as long as asked, and calls, maintenance and trims neither shorten it nor drop the memory', async () => {
    await store.recordCalledByUs(E164, T0 - 1_000, KEEP);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(KEEP - 60_000);
    const first = await store.fetch(query({ at: T0 }));
    expect(counts(first.numberCalls)).toEqual([1, 1]);
    const later = await store.fetch(query({ at: T0 + 3 * HOUR }));
    expect(later.calledByUsAt).toBe(T0 - 1_000);
    expect(await callTimes(NUMBER_KEY)).toEqual([T0 + 3 * HOUR]);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(KEEP - 60_000);
  });

  test('never shortens a longer TTL (a CAPTCHA outcome) nor is shortened by one', async () => {
    await store.recordCaptchaOutcome(E164, 'passed', T);
    await store.recordCalledByUs(E164, T, HOUR);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(CAPTCHA_TTL_MS - 60_000);
    const h = await store.fetch(query({ at: T + 1_000 }));
    expect(h).toMatchObject({ calledByUsAt: T, captcha: { failures: 0, lastPassedAt: T } });
  });
});

describe('CAPTCHA history', () => {
  test('none recorded: no failures, no timestamps', async () => {
    expect((await store.fetch(query())).captcha).toEqual({ failures: 0 });
  });

  test('a failure increments failures, a pass resets them; both timestamps come back', async () => {
    await store.recordCaptchaOutcome(E164, 'failed', T);
    await store.recordCaptchaOutcome(E164, 'failed', T + 10_000);
    expect((await store.fetch(query({ at: T + 20_000 }))).captcha).toEqual({ failures: 2, lastFailedAt: T + 10_000 });

    await store.recordCaptchaOutcome(E164, 'passed', T + 30_000);
    expect((await store.fetch(query({ at: T + 40_000 }))).captcha).toEqual({
      failures: 0,
      lastPassedAt: T + 30_000,
      lastFailedAt: T + 10_000,
    });

    await store.recordCaptchaOutcome(E164, 'failed', T + 50_000);
    expect((await store.fetch(query({ at: T + 60_000 }))).captcha).toEqual({
      failures: 1,
      lastPassedAt: T + 30_000,
      lastFailedAt: T + 50_000,
    });
  });

  test('expires 90 days after the last outcome', async () => {
    await store.recordCaptchaOutcome(E164, 'failed', T);
    const ttl = await admin.pttl(NUMBER_KEY);
    expect(ttl).toBeGreaterThan(CAPTCHA_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(CAPTCHA_TTL_MS);
  });

  test('lives beside the calls: a CAPTCHA-only set counts the first call once, maintenance neither shortens its TTL nor trims it', async () => {
    await store.recordCaptchaOutcome(E164, 'passed', T0 - 1_000);
    const first = await store.fetch(query({ at: T0 }));
    expect(counts(first.numberCalls)).toEqual([1, 1]);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(CAPTCHA_TTL_MS - 60_000);
    // hours later every call is stale and trimmed; the CAPTCHA outcome stays, and so does the 90-day TTL
    const later = await store.fetch(query({ at: T0 + 3 * HOUR }));
    expect(counts(later.numberCalls)).toEqual([1, 1]);
    expect(later.captcha).toEqual({ failures: 0, lastPassedAt: T0 - 1_000 });
    expect(await callTimes(NUMBER_KEY)).toEqual([T0 + 3 * HOUR]);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(CAPTCHA_TTL_MS - 60_000);
  });

  test('an outcome recorded for a number with calls keeps its calls and its repeat memory', async () => {
    await store.fetch(query({ at: T }));
    await store.recordCaptchaOutcome(E164, 'failed', T + 1_000);
    const h = await store.fetch(query({ at: T + 2_000 }));
    expect(counts(h.numberCalls)).toEqual([2, 2]);
    expect(h.previousCallToDidAt).toBe(T);
    expect(h.captcha).toEqual({ failures: 1, lastFailedAt: T + 1_000 });
  });
});

describe('one round trip per fetch', () => {
  test('Redis sees exactly one command from the client per fetch: EVAL the first time on a connection, EVALSHA after; INFO commandstats agrees', async () => {
    const fresh = await storeConnection();
    // with reputation sources known (the table read before): still one command per fetch
    await admin.hset(
      sourcesKey(PREFIX),
      'robocall',
      JSON.stringify({ kind: 'feed', gen: 1, buckets: 4, entries: 0, categories: [], importedAt: T }),
      'manual',
      JSON.stringify({ kind: 'live', gen: 0, buckets: 1024, entries: 0, categories: [], importedAt: T }),
    );
    const sources = new ReputationSourceTable(fresh, PREFIX);
    expect((await sources.refresh()).map((s) => s.name)).toEqual(['feedback', 'manual', 'robocall']);
    const freshStore = new RedisCallerHistoryStore(fresh, PREFIX, sources);
    const address = `127.0.0.1:${fresh.stream.localPort}`;
    const base = server.client();
    const monitor = await base.monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === address) seen.push(args);
    });
    const drain = async (marker: string) => {
      const arrived = new Promise<void>((resolve) => {
        monitor.on('monitor', (_t: string, args: string[]) => {
          if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolve();
        });
      });
      await admin.echo(marker);
      await arrived;
    };
    try {
      await freshStore.fetch(query({ at: T }));
      await drain('after-first');
      expect(seen.map((a) => a[0]?.toLowerCase())).toEqual(['eval']);

      const evalshaBefore = await commandCalls('evalsha');
      seen.length = 0;
      const fetches = 5;
      for (let i = 1; i <= fetches; i++) {
        await freshStore.fetch(query({ at: T + i * 1_000, record: i % 2 === 0 }));
        await drain(`after-${i}`);
        expect(seen.map((a) => a[0]?.toLowerCase())).toEqual(['evalsha']);
        seen.length = 0;
      }
      expect((await commandCalls('evalsha')) - evalshaBefore).toBe(fetches);
    } finally {
      monitor.disconnect();
      base.disconnect();
      fresh.disconnect();
    }
  });

  test('after SCRIPT FLUSH a fetch still succeeds (EVALSHA answered NOSCRIPT, resent as EVAL)', async () => {
    await store.fetch(query({ at: T }));
    await admin.script('FLUSH');
    const h = await store.fetch(query({ at: T + 1_000 }));
    expect(counts(h.numberCalls)).toEqual([2, 2]);
  });
});

describe('reached a person (h:<did>): the repeat caller only for people', () => {
  const HOTLINE = '+12125550100';
  const SALES = '+12125550200';

  test('a call that reached a person is reported to the next call to that DID, not to a call to another DID', async () => {
    await store.fetch(query({ at: T, did: HOTLINE }));
    await store.recordReachedHuman(E164, HOTLINE, T + 20_000);
    const again = await store.fetch(query({ at: T + 120_000, did: HOTLINE }));
    const other = await store.fetch(query({ at: T + 130_000, did: SALES }));
    expect(again).toMatchObject({ previousCallToDidAt: T, reachedHumanAt: T + 20_000 });
    expect(other.reachedHumanAt).toBeUndefined();
  });

  test('an earlier call that reached nobody is a previous call, but not one that reached a person', async () => {
    await store.fetch(query({ at: T, did: HOTLINE }));
    const again = await store.fetch(query({ at: T + 60_000, did: HOTLINE }));
    expect(again.previousCallToDidAt).toBe(T);
    expect(again.reachedHumanAt).toBeUndefined();
  });

  test('is forgotten once the call is more than repeatWithinSeconds after it', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 300 }));
    await store.recordReachedHuman(E164, '+12125550100', T + 1_000);
    const soon = await store.fetch(query({ at: T + 301_000, repeatWithinSeconds: 300 }));
    const late = await store.fetch(query({ at: T + 301_001, repeatWithinSeconds: 300 }));
    expect(soon.reachedHumanAt).toBe(T + 1_000);
    expect(late.reachedHumanAt).toBeUndefined();
  });

  test('the latest time a person was reached wins, whatever order the writes arrive in', async () => {
    await store.fetch(query({ at: T }));
    await store.recordReachedHuman(E164, '+12125550100', T + 5_000);
    await store.recordReachedHuman(E164, '+12125550100', T + 1_000);
    expect((await store.fetch(query({ at: T + 10_000 }))).reachedHumanAt).toBe(T + 5_000);
  });

  test('the repeat caller off (withinMinutes 0): nothing is reported', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 0 }));
    await store.recordReachedHuman(E164, '+12125550100', T + 1_000);
    expect((await store.fetch(query({ at: T + 2_000, repeatWithinSeconds: 0 }))).reachedHumanAt).toBeUndefined();
  });

  test('never counted as a call, nor as a DID called, nor trimmed by the calls’ maintenance', async () => {
    const q = { numberWindowsSeconds: [60, 3600, 1e11], didWindowSeconds: 600 };
    await store.fetch(query({ ...q, at: T, did: HOTLINE }));
    await store.recordReachedHuman(E164, HOTLINE, T + 1_000);
    await store.recordReachedHuman(E164, SALES, T + 2_000);
    const h = await store.fetch(query({ ...q, at: T + 3_000, did: HOTLINE }));
    expect(counts(h.numberCalls)).toEqual([2, 2, 2]);
    expect(h.didsCalled).toBe(1);
    // a later epoch trims old calls and d: members; the h: members stay until their writer trims them
    await store.fetch(query({ ...q, at: T + 2 * HOUR, did: SALES }));
    expect(await admin.zscore(NUMBER_KEY, `h:${HOTLINE}`)).not.toBeNull();
  });

  test('recordReachedHuman trims h: members older than the repeat memory and keeps the set alive for it', async () => {
    const q = { numberWindowsSeconds: [60], blockWindowsSeconds: [], repeatWithinSeconds: 600 };
    await store.fetch(query({ ...q, at: T0, did: HOTLINE }));
    await store.recordReachedHuman(E164, HOTLINE, T0 + 1_000);
    await store.fetch(query({ ...q, at: T0 + 700_000, did: SALES }));
    await store.recordReachedHuman(E164, SALES, T0 + 702_000);
    const members = (await admin.zrange(NUMBER_KEY, 0, -1)).filter((m) => m.startsWith('h:'));
    expect(members).toEqual([`h:${SALES}`]);
    // retention 600 s: the set lives at least that long after the person was reached
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(600_000);
  });

  test('a set that expired before the write is created with a TTL, and the next call counts once', async () => {
    await store.fetch(query({ at: T }));
    await admin.del(NUMBER_KEY);
    await store.recordReachedHuman(E164, HOTLINE, T + 1_000);
    expect(await keysWithoutTtl()).toEqual([]);
    const h = await store.fetch(query({ at: T + 2_000, did: HOTLINE }));
    expect(counts(h.numberCalls)).toEqual([1, 1]);
    expect(h.reachedHumanAt).toBe(T + 1_000);
    expect(await keysWithoutTtl()).toEqual([]);
  });

  test('keeps the CAPTCHA memory: a set with CAPTCHA members keeps its 90-day TTL', async () => {
    await store.recordCaptchaOutcome(E164, 'passed', T);
    await store.recordReachedHuman(E164, HOTLINE, T + 1_000);
    expect(await admin.pttl(NUMBER_KEY)).toBeGreaterThan(CAPTCHA_TTL_MS - 60_000);
    expect((await store.fetch(query({ at: T + 2_000 }))).captcha.lastPassedAt).toBe(T);
  });
});

describe('distinct DIDs called (DID walking)', () => {
  const q = { didWindowSeconds: 600 };
  const did = (i: number) => `+1212555030${i}`;

  test('calls to three DIDs count 1, 2, 3; calling one of them again is still 3', async () => {
    const seen: Array<number | undefined> = [];
    for (const [i, d] of [0, 1, 2, 0].entries())
      seen.push((await store.fetch(query({ ...q, at: T + i * 10_000, did: did(d) }))).didsCalled);
    expect(seen).toEqual([1, 2, 3, 3]);
  });

  test('DIDs last called before the window drop out; the window is (at - window, at]', async () => {
    await store.fetch(query({ ...q, at: T, did: did(0) }));
    await store.fetch(query({ ...q, at: T + 100_000, did: did(1) }));
    const edge = await store.fetch(query({ ...q, at: T + 600_000, did: did(2) }));
    expect(edge.didsCalled).toBe(2);
  });

  test('callscreen check counts as if recorded and writes nothing; a refetch counts its DID once', async () => {
    await store.fetch(query({ ...q, at: T, did: did(0), callId: 'a' }));
    await store.fetch(query({ ...q, at: T + 1_000, did: did(1), callId: 'b' }));
    const writes = await writesSoFar();
    const check = await store.fetch(query({ ...q, at: T + 2_000, did: did(2), record: false }));
    const checkSame = await store.fetch(query({ ...q, at: T + 2_000, did: did(1), record: false }));
    expect(await writesSoFar()).toBe(writes);
    expect([check.didsCalled, checkSame.didsCalled]).toEqual([3, 2]);
    expect((await store.fetch(query({ ...q, at: T + 1_000, did: did(1), callId: 'b' }))).didsCalled).toBe(2);
  });

  test('off (didWindowSeconds 0): not counted, and no d: member written when the repeat caller is off too', async () => {
    const off = await store.fetch(query({ at: T, didWindowSeconds: 0 }));
    expect(off.didsCalled).toBeUndefined();
    await store.fetch(query({ at: T + 1_000, didWindowSeconds: 0, repeatWithinSeconds: 0 }));
    await admin.del(NUMBER_KEY);
    await store.fetch(query({ at: T + 2_000, didWindowSeconds: 0, repeatWithinSeconds: 0 }));
    expect((await admin.zrange(NUMBER_KEY, 0, -1)).filter((m) => m.startsWith('d:'))).toEqual([]);
    // the DID spread alone writes them
    const only = await store.fetch(query({ at: T + 3_000, didWindowSeconds: 600, repeatWithinSeconds: 0 }));
    expect(only.didsCalled).toBe(1);
    expect(await admin.zscore(NUMBER_KEY, 'd:+12125550100')).toBe(String(-(T + 3_000)));
  });

  test('d: members are kept as long as the DID window, even with short velocity windows and repeat memory', async () => {
    const short = {
      numberWindowsSeconds: [60],
      blockWindowsSeconds: [],
      repeatWithinSeconds: 60,
      didWindowSeconds: 1800,
    };
    await store.fetch(query({ ...short, at: T0, did: did(0) }));
    await store.fetch(query({ ...short, at: T0 + 1_500_000, did: did(1) }));
    expect((await store.fetch(query({ ...short, at: T0 + 1_700_000, did: did(2) }))).didsCalled).toBe(3);
  });

  test('only d: members count: calls, ~m, CAPTCHA and h: members never do, even for a call just after 1970', async () => {
    for (const at of [5_000, T]) {
      await admin.flushall();
      await store.recordCaptchaOutcome(E164, 'failed', at - 1_000);
      await store.recordCaptchaOutcome(E164, 'passed', at - 500);
      await store.fetch(query({ ...q, at, did: did(0) }));
      await store.recordReachedHuman(E164, did(0), at + 100);
      await store.recordReachedHuman(E164, did(5), at + 200);
      for (let i = 1; i <= 3; i++) await store.fetch(query({ ...q, at: at + i * 1_000, did: did(0), callId: `x${i}` }));
      expect((await store.fetch(query({ ...q, at: at + 9_000, did: did(0), record: false }))).didsCalled).toBe(1);
      expect((await store.fetch(query({ ...q, at: at + 9_000, did: did(1), record: false }))).didsCalled).toBe(2);
    }
  });
});

describe('block counts of the reputation sources (block reputation)', () => {
  const CALLER = '+16062846123';
  const FIELD = '16062846'; // the 1000-block's digits (+1 606 284 6xxx)
  async function source(record: SourceRecord): Promise<SourceRecord> {
    await admin.hset(sourcesKey(PREFIX), record.name, JSON.stringify(record));
    return record;
  }
  const feedRecord = (name: string, extra: Partial<SourceRecord> = {}): SourceRecord => ({
    name,
    kind: 'feed',
    gen: 3,
    buckets: 4,
    entries: 10,
    categories: [],
    importedAt: T,
    ...extra,
  });
  const withSources = () => new RedisCallerHistoryStore(conn, PREFIX, new ReputationSourceTable(conn, PREFIX));
  const blockQuery = (extra: Partial<CallerHistoryQuery> = {}) =>
    query({ e164: CALLER, blockReputationDigits: 3, ...extra });

  test('each source that counts 1000-blocks gives its count of the caller’s block, in the one script run', async () => {
    const robocall = await source(feedRecord('robocall', { blockDigits: 3, blockBuckets: 4 }));
    const manual = await source({ ...feedRecord('manual', { blockDigits: 3, blockBuckets: 1024 }), kind: 'live' });
    await admin.hset(
      sourceBlockKey(PREFIX, robocall, FIELD, 3) as string,
      FIELD,
      encodeBlockCount({ numbers: 3, scoreSum: 270 }),
    );
    await admin.hset(
      sourceBlockKey(PREFIX, manual, FIELD, 3) as string,
      FIELD,
      encodeBlockCount({ numbers: 1, scoreSum: 100 }),
    );
    const table = new ReputationSourceTable(conn, PREFIX);
    const reader = new RedisCallerHistoryStore(conn, PREFIX, table);
    await reader.fetch(blockQuery({ at: T - 1_000 })); // loads the script and the source table
    const known = await table.sources();
    const [evalsha, hget] = [await commandCalls('evalsha'), await commandCalls('hget')];
    const h = await reader.fetch(blockQuery());
    expect(h.block).toEqual({
      blockDigits: 3,
      counts: [
        { source: 'manual', numbers: 1, scoreSum: 100 },
        { source: 'robocall', numbers: 3, scoreSum: 270 },
      ],
    });
    expect(h.reputation).toEqual({ entries: [] });
    // one script run; its HGETs: the number in each source, the block in each that counts 1000-blocks
    expect((await commandCalls('evalsha')) - evalsha).toBe(1);
    expect((await commandCalls('hget')) - hget).toBe(known.length + known.filter((r) => r.blockDigits === 3).length);
  });

  test('a neighbour in another block, and the caller itself, are not the block', async () => {
    const robocall = await source(feedRecord('robocall', { blockDigits: 3, blockBuckets: 4 }));
    await admin.hset(
      sourceBlockKey(PREFIX, robocall, FIELD, 3) as string,
      FIELD,
      encodeBlockCount({ numbers: 4, scoreSum: 400 }),
    );
    expect((await withSources().fetch(blockQuery({ e164: '+16062847123' }))).block).toEqual({
      blockDigits: 3,
      counts: [],
    });
  });

  test('sources without block counts, or counting another block size, are not read as this size', async () => {
    const tenThousand = await source(feedRecord('wide', { blockDigits: 4, blockBuckets: 4 }));
    await source(feedRecord('plain'));
    await admin.hset(
      sourceBlockKey(PREFIX, tenThousand, '1606284', 4) as string,
      '1606284',
      encodeBlockCount({ numbers: 9, scoreSum: 900 }),
    );
    const h = await withSources().fetch(blockQuery());
    expect(h.block).toEqual({ blockDigits: 3, counts: [] });
    expect((await withSources().fetch(blockQuery({ blockReputationDigits: 4 }))).block?.counts).toEqual([
      { source: 'wide', numbers: 9, scoreSum: 900 },
    ]);
  });

  test('a value that is not a block count is ignored; blockReputationDigits 0 reads no block', async () => {
    const robocall = await source(feedRecord('robocall', { blockDigits: 3, blockBuckets: 4 }));
    await admin.hset(sourceBlockKey(PREFIX, robocall, FIELD, 3) as string, FIELD, 'garbage');
    expect((await withSources().fetch(blockQuery())).block).toEqual({ blockDigits: 3, counts: [] });
    expect((await withSources().fetch(blockQuery({ blockReputationDigits: 0 }))).block).toBeUndefined();
  });

  test('callscreen check reads the block counts and the DIDs and writes nothing', async () => {
    const robocall = await source(feedRecord('robocall', { blockDigits: 3, blockBuckets: 4 }));
    await admin.hset(
      sourceBlockKey(PREFIX, robocall, FIELD, 3) as string,
      FIELD,
      encodeBlockCount({ numbers: 2, scoreSum: 150 }),
    );
    const reader = new RedisCallerHistoryStore(
      conn,
      PREFIX,
      new ReputationSourceTable(conn, PREFIX, undefined, { readOnly: true }),
    );
    const writes = await writesSoFar();
    const keys = await admin.dbsize();
    const h = await reader.fetch(blockQuery({ record: false, didWindowSeconds: 600 }));
    expect(h.block?.counts).toEqual([{ source: 'robocall', numbers: 2, scoreSum: 150 }]);
    expect(h.didsCalled).toBe(1);
    expect(await writesSoFar()).toBe(writes);
    expect(await admin.dbsize()).toBe(keys);
  });
});

describe('bad input', () => {
  test('a call time that is not a positive epoch ms is refused before Redis is asked', async () => {
    await expect(store.fetch(query({ at: Number.NaN }))).rejects.toThrow(RangeError);
    await expect(store.fetch(query({ at: 0 }))).rejects.toThrow(RangeError);
    expect(await admin.dbsize()).toBe(0);
  });
});

describe('Redis not answering', () => {
  test('a hung Redis (SIGSTOP): fetch rejects at about commandTimeout, it does not hang', async () => {
    await store.fetch(query());
    server.pause();
    try {
      const started = performance.now();
      await expect(store.fetch(query())).rejects.toThrow(/timed out/i);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      expect(took).toBeLessThan(2 * COMMAND_TIMEOUT_MS);
    } finally {
      server.resume();
    }
  });

  test('Redis stopped: fetch and recordCaptchaOutcome reject at once; Redis back: fetch works again', async () => {
    await store.fetch(query());
    await server.kill();
    // wait until the client has noticed the connection is gone
    for (let i = 0; i < 100 && conn.status === 'ready'; i++) await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    await expect(store.fetch(query())).rejects.toThrow();
    await expect(store.recordCaptchaOutcome(E164, 'passed', T)).rejects.toThrow();
    // at once: both together under one command timeout (waiting for Redis would take two)
    expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS);

    // Redis back: the same store answers again once the connection is re-established
    await server.start();
    for (let i = 0; i < 500 && conn.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(counts((await store.fetch(query())).numberCalls)).toEqual([1, 1]);
  });
});
