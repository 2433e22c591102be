/**
 * The screening data on a real three-master Redis Cluster (private, on this file's ports): a feed
 * import and its replacement, agents' feedback, the per-call history script with its hash tags
 * (velocity of the number and its block, the repeat caller and the calls that reached a person, the
 * DIDs called, CAPTCHA outcomes) and the reputation buckets and block counts read beside it, and the clean-up of a replaced generation, which has to visit every master.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { RedisCallerHistoryStore } from '../../src/adapters/redis/redis-caller-history-store';
import { createRedisClient, type RedisClient } from '../../src/adapters/redis/redis-connection';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import { purgeStaleGenerations, writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import { type PackedEntries } from '../../src/domain/reputation-entry';
import { generationPattern, numberField, RETIRE_GRACE_MS } from '../../src/adapters/redis/reputation-layout';
import { dayOf, encodeFeedEntry } from '../../src/domain/reputation-entry';
import { ReputationSourceTable } from '../../src/adapters/redis/reputation-source-table';
import { loadConfigText } from '../../src/config/load-config';
import type { CallerHistoryQuery } from '../../src/ports/caller-history-store';
import { ClusterTopology } from '../support/redis-topology';

jest.setTimeout(60_000);

const PORTS: [number, number, number] = [16470, 16471, 16472];
const BUS_PORTS: [number, number, number] = [17070, 17071, 17072];
const prefix = `cs-${randomUUID().slice(0, 8)}:`;
const T = Date.UTC(2026, 10, 23, 15, 0, 0);
const CALLER = '+12015550123';
const NEIGHBOUR = '+12015550177'; // same block (the number without its last 2 digits)

let cluster: ClusterTopology;
let client: RedisClient;

/** a feed as the import hands it to the writer: digits -> packed entry */
function entries(numbers: Record<string, { score: number; reports: number; category?: number }>): PackedEntries {
  const day = dayOf(T);
  const map = new Map<number, string>(
    Object.entries(numbers).map(([e164, e]) => [
      Number(numberField(e164)),
      encodeFeedEntry({
        score: e.score,
        reports: e.reports,
        category: e.category ?? 0,
        firstDay: day - 3,
        lastDay: day,
      }),
    ]),
  );
  return { size: map.size, get: (key) => map.get(key), forEach: (fn) => map.forEach((value, key) => fn(key, value)) };
}

function query(q: Partial<CallerHistoryQuery> = {}): CallerHistoryQuery {
  return {
    e164: CALLER,
    did: '+12125550100',
    at: T,
    callId: randomUUID(),
    numberWindowsSeconds: [60, 3600],
    blockWindowsSeconds: [60],
    blockDigits: 2,
    repeatWithinSeconds: 900,
    didWindowSeconds: 0,
    blockReputationDigits: 0,
    record: true,
    ...q,
  };
}

/** keys matching a pattern on every master */
async function keysOnCluster(pattern: string): Promise<string[]> {
  const found = await Promise.all((client as Cluster).nodes('master').map((node) => node.keys(pattern)));
  return found.flat();
}

beforeAll(async () => {
  cluster = new ClusterTopology(PORTS, BUS_PORTS);
  await cluster.start();
  const config = loadConfigText(
    `redis:\n  keyPrefix: "${prefix}"\n  cluster:\n    nodes: [${cluster.clusterNodes.map((n) => `"${n}"`).join(', ')}]\n`,
    'callscreen.yaml',
    {},
  ).config;
  client = createRedisClient(config.redis, { connectionName: 'cluster-screening-test', commandTimeoutMs: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  expect((client as Cluster).isCluster).toBe(true);
});

afterAll(async () => {
  await client?.quit().catch(() => client.disconnect());
  await cluster?.stop();
});

test('a feed import, an agent’s verdict and a call’s history all come back from one fetch on a Cluster', async () => {
  const imported = await writeFeedGeneration(client, prefix, {
    source: 'robocall',
    origin: 'robocall.csv',
    entries: entries({ [CALLER]: { score: 100, reports: 26, category: 1 }, '+18336317911': { score: 90, reports: 3 } }),
    categories: ['warranty'],
    now: T,
  });
  expect(imported.entries).toBe(2);
  await new RedisFeedbackStore(client, prefix, () => T).report({ e164: CALLER, verdict: 'spam', at: T, host: 'test' });

  const store = new RedisCallerHistoryStore(client, prefix, new ReputationSourceTable(client, prefix));
  const first = await store.fetch(query());
  expect(first.reputation.entries).toEqual([
    expect.objectContaining({ source: 'robocall', score: 1, reports: 26, category: 'warranty' }),
  ]);
  expect(first.reputation.feedback).toMatchObject({ spam: 1, ok: 0, last: 'spam' });
  expect(first.numberCalls.map((w) => w.calls)).toEqual([1, 1]);

  // the number's set and the block's set share the block's slot: counts go on across calls
  await store.fetch(query({ at: T + 1_000 }));
  const neighbour = await store.fetch(query({ e164: NEIGHBOUR, at: T + 2_000 }));
  expect(neighbour.blockCalls.map((w) => w.calls)).toEqual([3]);
  expect(neighbour.reputation.entries).toEqual([]);
  const third = await store.fetch(query({ at: T + 3_000, did: '+12125550100' }));
  expect(third.numberCalls.map((w) => w.calls)).toEqual([3, 3]);
  expect(third.previousCallToDidAt).toBe(T + 1_000);

  // a CAPTCHA outcome lands in the same set the next fetch reads
  await store.recordCaptchaOutcome(CALLER, 'failed', T + 4_000);
  expect((await store.fetch(query({ at: T + 5_000, record: false }))).captcha).toEqual({
    failures: 1,
    lastFailedAt: T + 4_000,
  });
});

test('a re-import replaces the source at once; the replaced generation is deleted from every master after its grace', async () => {
  const first = await writeFeedGeneration(client, prefix, {
    source: 'ftc',
    origin: 'a.csv',
    entries: entries(
      Object.fromEntries(
        Array.from({ length: 300 }, (_, i) => [`+1201555${String(1000 + i)}`, { score: 80, reports: 1 }]),
      ),
    ),
    categories: [],
    now: T,
  });
  const oldKeys = await keysOnCluster(generationPattern(prefix, 'ftc', first.record.gen));
  expect(oldKeys.length).toBe(first.record.buckets + (first.record.blockBuckets ?? 0)); // numbers, block counts
  const second = await writeFeedGeneration(client, prefix, {
    source: 'ftc',
    origin: 'b.csv',
    entries: entries({ '+12015551000': { score: 60, reports: 2 } }),
    categories: [],
    now: T,
  });
  expect(second.removed).toBe(299);

  const store = new RedisCallerHistoryStore(client, prefix, new ReputationSourceTable(client, prefix));
  expect((await store.fetch(query({ e164: '+12015551000', record: false }))).reputation.entries).toEqual([
    expect.objectContaining({ source: 'ftc', score: 0.6, reports: 2 }),
  ]);
  expect((await store.fetch(query({ e164: '+12015551001', record: false }))).reputation.entries).toEqual([]);

  expect((await purgeStaleGenerations(client, prefix, T)).generations).toBe(0); // still in its grace
  const purged = await purgeStaleGenerations(client, prefix, T + RETIRE_GRACE_MS + 1);
  expect(purged.keys).toBe(oldKeys.length);
  expect(await keysOnCluster(generationPattern(prefix, 'ftc', first.record.gen))).toEqual([]);
  expect((await keysOnCluster(generationPattern(prefix, 'ftc', second.record.gen))).length).toBe(
    second.record.buckets + (second.record.blockBuckets ?? 0),
  );
});

test('block counts of an imported feed are read beside the script; the DIDs called and the calls that reached a person share the number’s slot', async () => {
  // five listed numbers of the 1000-block +1 201 555 2xxx; the caller itself is not listed
  await writeFeedGeneration(client, prefix, {
    source: 'blocks',
    origin: 'blocks.csv',
    entries: entries(
      Object.fromEntries(
        Array.from({ length: 5 }, (_, i) => [`+120155520${String(10 + i)}`, { score: 80 + i, reports: 1 }]),
      ),
    ),
    categories: [],
    now: T,
    blockDigits: 3,
  });
  const caller = '+12015552999';
  const store = new RedisCallerHistoryStore(client, prefix, new ReputationSourceTable(client, prefix));
  const q = (extra: Partial<CallerHistoryQuery>) =>
    query({ e164: caller, blockReputationDigits: 3, didWindowSeconds: 600, ...extra });
  const first = await store.fetch(q({ at: T, did: '+12125550100' }));
  expect(first.reputation.entries).toEqual([]);
  expect(first.block?.counts).toEqual([{ source: 'blocks', numbers: 5, scoreSum: 80 + 81 + 82 + 83 + 84 }]);
  expect(first.didsCalled).toBe(1);

  await store.recordReachedHuman(caller, '+12125550100', T + 500);
  await store.fetch(q({ at: T + 1_000, did: '+12125550200' }));
  const third = await store.fetch(q({ at: T + 2_000, did: '+12125550300' }));
  expect(third.didsCalled).toBe(3);
  const back = await store.fetch(q({ at: T + 3_000, did: '+12125550100', record: false }));
  expect(back).toMatchObject({ didsCalled: 3, reachedHumanAt: T + 500, previousCallToDidAt: T });
});
