/**
 * RedisCallerHistoryStore against a real, private redis-server: sliding windows, the number block,
 * `check` writing nothing, the repeat caller, reputation and CAPTCHA history, Redis down, and that a
 * fetch is one command on the wire.
 */
import type Redis from 'ioredis';
import { createRedisConnection } from '../../src/adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../../src/adapters/redis/redis-caller-history-store';
import type { CallerHistoryQuery } from '../../src/ports/caller-history-store';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(20_000);

const PREFIX = 'callscreen:';
const COMMAND_TIMEOUT_MS = 100;
const T = 1_700_000_000_000;
const server = new PrivateRedis(16393);
let admin: Redis;
let conn: Redis;
let store: RedisCallerHistoryStore;
let callSeq = 0;

async function storeConnection(): Promise<Redis> {
  const redis = createRedisConnection({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS, connectionName: 'caller-history-test' });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

function query(overrides: Partial<CallerHistoryQuery> = {}): CallerHistoryQuery {
  return {
    e164: '+12015550123',
    did: '+12125550100',
    at: T,
    callId: `call-${++callSeq}`,
    numberWindowsSeconds: [60, 3600],
    blockWindowsSeconds: [60],
    blockDigits: 2,
    repeatWithinSeconds: 300,
    record: true,
    ...overrides,
  };
}

const counts = (w: ReadonlyArray<{ calls: number }>) => w.map((c) => c.calls);

/** writes since start: every write command (PEXPIRE included) bumps it, reads never do */
async function writesSoFar(): Promise<number> {
  const info = await admin.info('persistence');
  const m = /rdb_changes_since_last_save:(\d+)/.exec(info);
  if (!m?.[1]) throw new Error('no rdb_changes_since_last_save in INFO');
  return Number(m[1]);
}

async function commandCalls(name: string): Promise<number> {
  const info = await admin.info('commandstats');
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
  return m?.[1] ? Number(m[1]) : 0;
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
    expect(a.numberCalls).toEqual([{ windowSeconds: 60, calls: 1 }, { windowSeconds: 3600, calls: 1 }]);
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

  test('the same callId fetched twice is counted once', async () => {
    await store.fetch(query({ at: T, callId: 'first' }));
    const again = await store.fetch(query({ at: T + 5_000, callId: 'second' }));
    const refetch = await store.fetch(query({ at: T + 5_000, callId: 'second' }));
    expect(counts(again.numberCalls)).toEqual([2, 2]);
    expect(counts(refetch.numberCalls)).toEqual([2, 2]);
    expect(await admin.zcard(`${PREFIX}vel:n:+12015550123`)).toBe(2);
  });

  test('calls older than the longest window are trimmed, and the set expires after the longest window plus a minute', async () => {
    await store.fetch(query({ at: T }));
    await store.fetch(query({ at: T + 10_000 }));
    const later = await store.fetch(query({ at: T + 3_605_000 }));
    // the hour window is (t+5 s, t+3605 s]: t is out (and trimmed), t+10 s is still in
    expect(counts(later.numberCalls)).toEqual([1, 2]);
    const key = `${PREFIX}vel:n:+12015550123`;
    expect((await admin.zrange(key, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1)).toEqual([String(T + 10_000), String(T + 3_605_000)]);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(3_600_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000 + 60_000);
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
    expect(off.blockCalls).toEqual([{ windowSeconds: 60, calls: 0 }, { windowSeconds: 3600, calls: 0 }]);
    expect(short.blockCalls).toEqual([{ windowSeconds: 60, calls: 0 }]);
    expect(await admin.keys(`${PREFIX}vel:b:*`)).toEqual([]);
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

  test('a known number: counts as if recorded, previous call reported, sets, TTLs and the last call unchanged', async () => {
    await store.fetch(query({ at: T, callId: 'live' }));
    const keys = store.keysFor(query());
    const lastKey = `${PREFIX}last:+12125550100:+12015550123`;
    const before = { dbsize: await admin.dbsize(), last: await admin.get(lastKey), set: await admin.zrange(keys[1] ?? '', 0, -1, 'WITHSCORES'), writes: await writesSoFar() };

    const h = await store.fetch(query({ at: T + 30_000, callId: 'check', record: false }));
    expect(counts(h.numberCalls)).toEqual([2, 2]);
    expect(counts(h.blockCalls)).toEqual([2]);
    expect(h.previousCallToDidAt).toBe(T);

    expect(await writesSoFar()).toBe(before.writes);
    expect(await admin.dbsize()).toBe(before.dbsize);
    expect(await admin.get(lastKey)).toBe(before.last);
    expect(await admin.zrange(keys[1] ?? '', 0, -1, 'WITHSCORES')).toEqual(before.set);
  });

  test('checking a call that is already recorded does not count it twice', async () => {
    await store.fetch(query({ at: T, callId: 'live' }));
    const h = await store.fetch(query({ at: T, callId: 'live', record: false }));
    expect(counts(h.numberCalls)).toEqual([1, 1]);
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

  test('is forgotten repeatWithinSeconds after the last call (PEXPIRE)', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 1 }));
    const soon = await store.fetch(query({ at: T + 300, repeatWithinSeconds: 1 }));
    expect(soon.previousCallToDidAt).toBe(T);
    await new Promise((r) => setTimeout(r, 1_100));
    const late = await store.fetch(query({ at: T + 1_400, repeatWithinSeconds: 1 }));
    expect(late.previousCallToDidAt).toBeUndefined();
  });

  test('repeatWithinSeconds 0 remembers nothing', async () => {
    await store.fetch(query({ at: T, repeatWithinSeconds: 0 }));
    const h = await store.fetch(query({ at: T + 1_000, repeatWithinSeconds: 0 }));
    expect(h.previousCallToDidAt).toBeUndefined();
    expect(await admin.keys(`${PREFIX}last:*`)).toEqual([]);
  });
});

describe('reputation entry', () => {
  test('is read and parsed, firstSeenAt and lastSeenAt included', async () => {
    const entry = { score: 0.92, reports: 17, category: 'robocall', source: 'ftc', firstSeenAt: T - 86_400_000, lastSeenAt: T - 3_600_000 };
    await admin.hset(`${PREFIX}reputation`, '+12015550123', JSON.stringify(entry));
    const h = await store.fetch(query());
    expect(h.reputation).toEqual(entry);
  });

  test('an unlisted number, garbage JSON, or an entry without a numeric score is null', async () => {
    await admin.hset(`${PREFIX}reputation`, '+12015550124', '{not json', '+12015550125', '{"reports":3}', '+12015550126', 'null', '+12015550127', '{"score":"0.9"}');
    for (const e164 of ['+12015550123', '+12015550124', '+12015550125', '+12015550126', '+12015550127']) {
      expect((await store.fetch(query({ e164 }))).reputation).toBeNull();
    }
  });

  test('missing reports count as 0 and fields of the wrong type are dropped', async () => {
    await admin.hset(`${PREFIX}reputation`, '+12015550123', '{"score":0.5,"category":7,"lastSeenAt":"yesterday"}');
    expect((await store.fetch(query())).reputation).toEqual({ score: 0.5, reports: 0 });
  });
});

describe('CAPTCHA history', () => {
  test('none recorded: no failures, no timestamps', async () => {
    expect((await store.fetch(query())).captcha).toEqual({ failures: 0 });
  });

  test('a failure increments failures, a pass resets them; both timestamps come back', async () => {
    const e164 = '+12015550123';
    await store.recordCaptchaOutcome(e164, 'failed', T);
    await store.recordCaptchaOutcome(e164, 'failed', T + 10_000);
    expect((await store.fetch(query({ at: T + 20_000 }))).captcha).toEqual({ failures: 2, lastFailedAt: T + 10_000 });

    await store.recordCaptchaOutcome(e164, 'passed', T + 30_000);
    expect((await store.fetch(query({ at: T + 40_000 }))).captcha).toEqual({ failures: 0, lastPassedAt: T + 30_000, lastFailedAt: T + 10_000 });

    await store.recordCaptchaOutcome(e164, 'failed', T + 50_000);
    expect((await store.fetch(query({ at: T + 60_000 }))).captcha).toEqual({ failures: 1, lastPassedAt: T + 30_000, lastFailedAt: T + 50_000 });
  });

  test('expires 90 days after the last outcome', async () => {
    await store.recordCaptchaOutcome('+12015550123', 'failed', T);
    const ttl = await admin.pttl(`${PREFIX}captcha:+12015550123`);
    expect(ttl).toBeGreaterThan(90 * 86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(90 * 86_400_000);
  });
});

describe('one round trip per fetch', () => {
  test('Redis sees exactly one command from the client per fetch: EVAL the first time on a connection, EVALSHA after; INFO commandstats agrees', async () => {
    const fresh = await storeConnection();
    const freshStore = new RedisCallerHistoryStore(fresh, PREFIX);
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

describe('Redis not answering', () => {
  test('a hung Redis (SIGSTOP): fetch rejects at about commandTimeout, it does not hang', async () => {
    await store.fetch(query());
    server.pause();
    try {
      const started = performance.now();
      await expect(store.fetch(query())).rejects.toThrow(/timed out/i);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
      expect(took).toBeLessThan(COMMAND_TIMEOUT_MS + 150);
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
    await expect(store.recordCaptchaOutcome('+12015550123', 'passed', T)).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + 50);

    // Redis back: the same store answers again once the connection is re-established
    await server.start();
    for (let i = 0; i < 500 && conn.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(counts((await store.fetch(query())).numberCalls)).toEqual([1, 1]);
  });
});
