/**
 * bench/summary: the review console's 24-hour summary at a call centre's volume, from the per-hour counts the
 * daemon keeps as it logs, against the same summary read from the log's entries (the way it was made before
 * the counts: at most 50,000 entries scanned).
 *
 *   counts   computeSummary over 24 hours of counts for 1,000 and for 1,000,000 calls a day (the 1M day's counts
 *            written straight into the counts' keys: 24 hashes and 24 spam sets of 20,000 callers each)
 *   entries  the same summary from 50,000 logged entries (what the console read per request before)
 *
 * Prints ms per summary (median of 50). Target (issue 16): the same cost at 1M calls a day as at 1k.
 */
import { createRedisConnection } from '../src/adapters/redis/redis-connection';
import { RedisCallLog } from '../src/adapters/redis/redis-call-log';
import { HOUR_MS } from '../src/domain/call-counts';
import { normalisePhoneNumber } from '../src/domain/phone-number';
import { computeSummary } from '../src/http-api/console-routes';
import type { ScreenedCallRecord } from '../src/ports/call-log';
import { percentile } from './redis-floor';

async function timeSummary(log: RedisCallLog, nowMs: number, runs = 50): Promise<{ ms: number; calls: number }> {
  const times: number[] = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    calls = (await computeSummary(log, 24, nowMs)).calls;
    times.push(performance.now() - start);
  }
  return { ms: percentile(times, 50), calls };
}

function record(i: number, atMs: number): ScreenedCallRecord {
  const at = new Date(atMs).toISOString();
  const spam = i % 4 === 0;
  return {
    callId: `b-${i}`,
    at,
    channel: 'PJSIP/t',
    decision: {
      verdict: spam ? 'voicemail' : 'allow',
      score: spam ? 70 : 0,
      reasons: spam ? [{ code: 'reputation.listed', text: 'listed', points: 70 }] : [],
      degraded: false,
      policies: [],
      caller: normalisePhoneNumber(`+1312${String(2000000 + (i % 50_000))}`, 'US'),
      did: normalisePhoneNumber('+12125550100', 'US'),
      at,
    },
    routedTo: spam ? 'voicemail' : 'agents',
    decisionMs: 1,
    host: 'bench',
  };
}

async function main(): Promise<void> {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench`');
  const redis = createRedisConnection({ url, commandTimeoutMs: 30_000, connectionName: 'callscreen-bench' });
  await redis.connect();
  await redis.flushdb();
  const now = Date.now();
  const firstHour = Math.floor(now / HOUR_MS) - 23;

  // 1k calls a day through the real append path (entries and counts)
  const small = new RedisCallLog(redis, 'bench-1k:', 'calls', 1_000_000);
  for (let i = 0; i < 1000; i++) await small.append(record(i, (firstHour - 1) * HOUR_MS + 1 + i * 90_000));
  // as if the daemon had counted since the day before (these records were appended just now)
  await redis.set(`${small.key}:counted-since`, String(firstHour - 1));
  const counts1k = await timeSummary(small, now);

  // 1M calls a day: the counts' keys written directly (the append path would take minutes to fill them)
  const big = new RedisCallLog(redis, 'bench-1m:', 'calls', 1_000_000);
  await redis.set(`${big.key}:counted-since`, String(firstHour - 1));
  for (let h = firstHour; h < firstHour + 24; h++) {
    const p = redis.pipeline();
    p.hset(`${big.key}:hour:${h}`, 'v:allow', 31_250, 'v:challenge', 4_000, 'v:voicemail', 6_000, 'v:reject', 416);
    p.hset(`${big.key}:hour:${h}`, 'c:passed', 2_500, 'c:failed', 1_000, 'c:other', 500);
    const members: Array<string | number> = [];
    for (let i = 0; i < 20_000; i++) members.push(1 + (i % 7), `+1312${String(3000000 + h * 20_000 + i).slice(-7)}`);
    p.zadd(`${big.key}:spam:${h}`, ...members);
    await p.exec();
  }
  const counts1m = await timeSummary(big, now);

  // before the counts: 50,000 entries read and counted per summary
  const scanned = new RedisCallLog(redis, 'bench-scan:', 'calls', 1_000_000);
  for (let i = 0; i < 50_000; i += 1000) {
    const p = redis.pipeline();
    for (let j = i; j < i + 1000; j++) {
      const r = record(j, now - 23 * HOUR_MS + j * 1500);
      p.xadd(scanned.key, `${Date.parse(r.at)}-0`, 'record', JSON.stringify(r));
    }
    await p.exec();
  }
  const scan = await timeSummary(scanned, now, 5);
  await redis.flushdb();
  await redis.quit();
  const line = (what: string, r: { ms: number; calls: number }): string =>
    `  ${what.padEnd(44)}${r.ms.toFixed(2).padStart(9)} ms   (${r.calls.toLocaleString('en')} calls)`;
  process.stdout.write(
    [
      "summary: the console's 24-hour summary, median of the runs",
      line('counts, 1,000 calls a day', counts1k),
      line('counts, 1,000,000 calls a day', counts1m),
      line('entries read (before the counts), 50,000', scan),
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench summary failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
