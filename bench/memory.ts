/**
 * bench/memory: what a million imported numbers cost in Redis. INFO memory used_memory before and
 * after one import into an empty Redis, bytes per entry, keys, and the encoding of sampled buckets
 * (listpack expected: see src/adapters/redis/reputation-layout.ts). Target: <= 40 bytes per entry.
 */
import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { bucketKey } from '../src/adapters/redis/reputation-layout';
import { benchRedisPort, generateFeed, LINES, runImport, table } from './import';

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

async function main(): Promise<void> {
  const { url, port } = benchRedisPort();
  execFileSync('redis-cli', ['-p', String(port), 'flushall']);
  const redis = new Redis(url);
  const { file, cleanup } = generateFeed(LINES);
  try {
    const before = await usedMemory(redis);
    const keysBefore = await redis.dbsize();
    const { result } = await runImport(url, file, 'bench');
    const after = await usedMemory(redis);
    const keys = (await redis.dbsize()) - keysBefore;
    const encodings = new Map<string, number>();
    const sample = Math.min(200, result.record.buckets);
    let largest = 0;
    for (let i = 0; i < sample; i++) {
      const b = Math.floor((i * result.record.buckets) / sample);
      const key = bucketKey('callscreen-bench:', 'bench', result.record.gen, b);
      const encoding = String(await redis.object('ENCODING', key));
      encodings.set(encoding, (encodings.get(encoding) ?? 0) + 1);
      largest = Math.max(largest, await redis.hlen(key));
    }
    const perEntry = (after - before) / result.entries;
    console.log(`\nbench/memory: ${result.entries.toLocaleString('en')} numbers imported into an empty Redis`);
    console.log(
      table([
        ['measure', 'value', 'target'],
        ['used_memory before', `${(before / 1e6).toFixed(1)} MB`, ''],
        ['used_memory after', `${(after / 1e6).toFixed(1)} MB`, ''],
        ['bytes per entry', perEntry.toFixed(1), '<= 40'],
        ['keys (buckets + metadata)', keys.toLocaleString('en'), ''],
        [
          'numbers per bucket (mean / largest sampled)',
          `${(result.entries / result.record.buckets).toFixed(1)} / ${largest}`,
          '< 128',
        ],
        [
          'blocks counted (block-count buckets)',
          `${result.blocks.toLocaleString('en')} (${result.record.blockBuckets ?? 0})`,
          '',
        ],
        [`encoding of ${sample} sampled buckets`, [...encodings].map(([e, n]) => `${e} ${n}`).join(', '), 'listpack'],
      ]),
    );
  } finally {
    cleanup();
    redis.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
