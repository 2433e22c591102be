/**
 * Block counts on a real three-master Redis Cluster (issue 13): an entry and its block's count live in
 * different slots, so a live put or an agent's verdict sends the count's change as a second command;
 * the counts still come out once per number, and an import's counts are found where a reader looks.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { createRedisClient, type RedisClient } from '../../src/adapters/redis/redis-connection';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import {
  blockField,
  FEEDBACK_SOURCE,
  MANUAL_SOURCE,
  numberField,
  parseSourceTable,
  sourceBlockKey,
  sourcesKey,
} from '../../src/adapters/redis/reputation-layout';
import { decodeBlockCount, encodeFeedEntry, type BlockCount } from '../../src/domain/reputation-entry';
import { loadConfigText } from '../../src/config/load-config';
import { ClusterTopology } from '../support/redis-topology';

jest.setTimeout(60_000);

const PORTS: [number, number, number] = [16574, 16575, 16576];
const BUS_PORTS: [number, number, number] = [17174, 17175, 17176];
const prefix = `bc-${randomUUID().slice(0, 8)}:`;
const T = Date.UTC(2026, 11, 6, 9);

let cluster: ClusterTopology;
let client: RedisClient;

beforeAll(async () => {
  cluster = new ClusterTopology(PORTS, BUS_PORTS);
  await cluster.start();
  const config = loadConfigText(
    `redis:\n  keyPrefix: "${prefix}"\n  cluster:\n    nodes: [${cluster.clusterNodes.map((n) => `"${n}"`).join(', ')}]\n`,
    'callscreen.yaml',
    {},
  ).config;
  client = createRedisClient(config.redis, { connectionName: 'block-counts-cluster-test', commandTimeoutMs: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  expect((client as Cluster).isCluster).toBe(true);
});

afterAll(async () => {
  await client?.quit().catch(() => client.disconnect());
  await cluster?.stop();
});

async function blockCount(name: string, e164: string): Promise<BlockCount | null | 'no counts'> {
  const source = parseSourceTable(await client.hgetall(sourcesKey(prefix))).sources.find((s) => s.name === name);
  const field = blockField(e164, 3);
  const key = source && field !== null ? sourceBlockKey(prefix, source, field, 3) : null;
  if (key === null || field === null) return 'no counts';
  const value = await client.hget(key, field);
  return value === null ? null : decodeBlockCount(value);
}

test('an import counts its blocks on a Cluster, where a reader finds them', async () => {
  const day = Math.floor((T - Date.UTC(2000, 0, 1)) / 86_400_000);
  const map = new Map<number, string>(
    ['+16062846001', '+16062846002', '+17185550100'].map((e164, i) => [
      Number(numberField(e164)),
      encodeFeedEntry({ score: 50 + i * 10, reports: 1, category: 0, firstDay: day, lastDay: day }),
    ]),
  );
  await writeFeedGeneration(client, prefix, {
    source: 'robocall',
    origin: 'a',
    entries: { size: map.size, get: (k) => map.get(k), forEach: (fn) => map.forEach((v, k) => fn(k, v)) },
    categories: [],
    now: T,
  });
  expect(await blockCount('robocall', '+16062846999')).toEqual({ numbers: 2, scoreSum: 110 });
  expect(await blockCount('robocall', '+17185550999')).toEqual({ numbers: 1, scoreSum: 70 });
});

test('live puts on a Cluster count each number once, repeated and from two stores at once', async () => {
  const stores = [new RedisReputationStore(client, prefix), new RedisReputationStore(client, prefix)];
  const numbers = Array.from({ length: 12 }, (_, i) => `+1415555${String(2000 + i).padStart(4, '0')}`);
  await Promise.all(
    Array.from({ length: 6 }, (_, round) =>
      stores[round % 2]!.put(
        MANUAL_SOURCE,
        numbers.map((e164) => ({ e164, score: 0.5 })),
      ),
    ),
  );
  expect(await blockCount(MANUAL_SOURCE, '+14155552999')).toEqual({ numbers: 12, scoreSum: 600 });
  await stores[0]!.put(MANUAL_SOURCE, [{ e164: numbers[0]!, score: 0 }]);
  expect(await blockCount(MANUAL_SOURCE, '+14155552999')).toEqual({ numbers: 11, scoreSum: 550 });
});

test("agents' verdicts on a Cluster move the block's count as the last verdict turns", async () => {
  const store = new RedisFeedbackStore(client, prefix, () => T);
  const report = (e164: string, verdict: 'spam' | 'ok') => store.report({ e164, verdict, at: T, host: 'test' });
  await Promise.all([report('+12015550123', 'spam'), report('+12015550123', 'spam'), report('+12015550124', 'spam')]);
  expect(await blockCount(FEEDBACK_SOURCE, '+12015550999')).toEqual({ numbers: 2, scoreSum: 200 });
  await report('+12015550123', 'ok');
  expect(await blockCount(FEEDBACK_SOURCE, '+12015550999')).toEqual({ numbers: 1, scoreSum: 100 });
});
