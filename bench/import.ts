/**
 * bench/import: `callscreen import` of a million numbers, against the floor Redis itself sets.
 *
 *   floor   redis-benchmark -P 16 -n 1000000 -t set -r 1000000: SETs per second on this Redis, this run
 *   import  the real code path (FeedParser -> FeedAggregate -> writeFeedGeneration, auto-pipelined
 *           client) on a generated CSV of 1M numbers (mostly random NANP, some European), first into an
 *           empty source, then again over itself (the re-import also compares with the old generation)
 *
 * Targets: 1M lines in < 10 s (parse, normalise, write); entries/s >= 0.5x the SET floor.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedisClient } from '../src/adapters/redis/redis-connection';
import { writeFeedGeneration, type GenerationResult } from '../src/adapters/redis/reputation-import';
import { dayOf } from '../src/domain/reputation-entry';
import { FeedAggregate } from '../src/reputation/feeds/feed-aggregate';
import { FeedParser, readFeedFile } from '../src/reputation/feeds/reputation-feed';

export const LINES = Number(process.env.CALLSCREEN_BENCH_IMPORT_LINES ?? 1_000_000);
const PREFIX = 'callscreen-bench:';

/** mulberry32: the same numbers every run */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A robocall-list-like CSV of `lines` rows in a temp dir: ~95% NANP numbers, the rest Swiss, German, French, British. */
export function generateFeed(lines: number): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'callscreen-bench-'));
  const file = path.join(dir, 'feed.csv');
  const rnd = random(42);
  const digits = (n: number): string => String(Math.floor(rnd() * 10 ** n)).padStart(n, '0');
  const categories = ['Warranty', 'Debt', 'Medicare', 'Utility-SupplyCharges', 'Imposter'];
  const parts: string[] = ['phone_e164,scam_category,total_hits,likely_admin\n'];
  for (let i = 0; i < lines; i++) {
    const r = rnd();
    const n =
      r < 0.95
        ? `+1${200 + Math.floor(rnd() * 800)}${200 + Math.floor(rnd() * 800)}${digits(4)}`
        : r < 0.965
          ? `+4144${digits(7)}`
          : r < 0.98
            ? `+4930${digits(8)}`
            : r < 0.99
              ? `+331${digits(8)}`
              : `+4420${digits(8)}`;
    parts.push(`${n},${i % 5 === 0 ? categories[i % categories.length] : ''},${1 + Math.floor(rnd() * 40)},no\n`);
  }
  writeFileSync(file, parts.join(''));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ImportRun {
  result: GenerationResult;
  readMs: number;
  totalMs: number;
  rows: number;
}

/** the import as the CLI runs it, minus printing */
export async function runImport(url: string, file: string, source: string): Promise<ImportRun> {
  const t0 = performance.now();
  const today = dayOf(Date.now());
  const aggregate = new FeedAggregate({ defaultScore: 1, today, maxAgeDays: 180 });
  const parser = new FeedParser({ region: 'US', today }, aggregate);
  await readFeedFile(file, parser);
  aggregate.finish(parser.plan?.complaints ?? false);
  const readMs = performance.now() - t0;
  const redis = createRedisClient(
    { url, keyPrefix: PREFIX, commandTimeoutMs: 30_000 } as Parameters<typeof createRedisClient>[0],
    { connectionName: 'callscreen-bench-import', reconnect: false, autoPipelining: false, commandTimeoutMs: 30_000 },
  );
  await redis.connect();
  try {
    const result = await writeFeedGeneration(redis, PREFIX, {
      source,
      origin: path.basename(file),
      entries: aggregate,
      categories: aggregate.categories,
      // block counts (issue 13); CALLSCREEN_BENCH_BLOCK_DIGITS=0 measures the import without them
      blockDigits: Number(process.env.CALLSCREEN_BENCH_BLOCK_DIGITS ?? 3),
    });
    return { result, readMs, totalMs: performance.now() - t0, rows: aggregate.counts.rows };
  } finally {
    await redis.quit();
  }
}

export function benchRedisPort(): { url: string; port: number } {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench`');
  return { url, port: Number(new URL(url).port) };
}

export function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  const { url, port } = benchRedisPort();
  const flush = (): void => void execFileSync('redis-cli', ['-p', String(port), 'flushall']);
  flush();
  const floorText = execFileSync(
    'redis-benchmark',
    ['-p', String(port), '-P', '16', '-n', '1000000', '-t', 'set', '-r', '1000000', '-q'],
    { encoding: 'utf8' },
  );
  const floor = Number(/SET: ([0-9.]+) requests per second/.exec(floorText.replace(/\r/g, '\n'))?.[1] ?? Number.NaN);
  flush();
  const { file, cleanup } = generateFeed(LINES);
  try {
    const first = await runImport(url, file, 'bench');
    const again = await runImport(url, file, 'bench');
    const rate = (entries: number, ms: number): string => Math.round(entries / (ms / 1000)).toLocaleString('en');
    const s = (ms: number): string => (ms / 1000).toFixed(2);
    console.log(
      `\nbench/import: ${LINES.toLocaleString('en')} lines, ${first.result.entries.toLocaleString('en')} distinct numbers, ${first.result.record.buckets} buckets`,
    );
    console.log(
      table([
        ['phase', 'first import s', 'entries/s', 're-import s', 'entries/s'],
        [
          'read + parse + normalise + merge',
          s(first.readMs),
          rate(first.rows, first.readMs),
          s(again.readMs),
          rate(again.rows, again.readMs),
        ],
        [
          'write buckets (HSET)',
          s(first.result.writeMs),
          rate(first.result.entries, first.result.writeMs),
          s(again.result.writeMs),
          rate(again.result.entries, again.result.writeMs),
        ],
        [
          'compare with old generation',
          s(first.result.diffMs),
          '-',
          s(again.result.diffMs),
          rate(again.result.entries, again.result.diffMs),
        ],
        [
          'total',
          s(first.totalMs),
          rate(first.result.entries, first.totalMs),
          s(again.totalMs),
          rate(again.result.entries, again.totalMs),
        ],
      ]),
    );
    const writeRate = first.result.entries / (first.result.writeMs / 1000);
    const totalRate = first.result.entries / (first.totalMs / 1000);
    console.log(
      table([
        ['against the floor', 'value', 'target'],
        ['redis-benchmark SET -P 16 (floor)', `${Math.round(floor).toLocaleString('en')}/s`, ''],
        ['write entries/s / floor', `${(writeRate / floor).toFixed(2)}x`, '>= 0.5x'],
        ['whole import entries/s / floor', `${(totalRate / floor).toFixed(2)}x`, ''],
        ['1M lines, first import', `${s(first.totalMs)} s`, '< 10 s'],
        ['1M lines, re-import (with compare)', `${s(again.totalMs)} s`, '< 10 s'],
      ]),
    );
  } finally {
    cleanup();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
