/**
 * bench/replay: `callscreen replay` over a million logged calls, against the floor the log itself sets.
 *
 *   records  a pool of 5,000 calls decided by the real evaluator against this Redis (a fifth of the callers
 *            on the reputation list, the example config and rules), their records (with the inputs the
 *            decisions used) appended round-robin until the log holds CALLSCREEN_BENCH_REPLAY_RECORDS (1M)
 *   floor    reading the whole log back in the replay's batches and parsing each record: what any replay
 *            pays before deciding anything, measured in this run
 *   replay   the real path: RedisCallLog.entries -> replayCall (pure core) -> ReplayReport, under a candidate
 *            that challenges from 20 points instead of 30
 *
 * Prints seconds, records per second and the process' peak RSS for both. Target (issue 15): 1M records in
 * under a minute on this machine, with memory bounded (not growing with the log).
 */
import path from 'node:path';
import { createRedisConnection } from '../src/adapters/redis/redis-connection';
import { entryFields, RedisCallLog } from '../src/adapters/redis/redis-call-log';
import { RedisCallerHistoryStore } from '../src/adapters/redis/redis-caller-history-store';
import { RedisReputationStore } from '../src/adapters/redis/redis-reputation-store';
import { ReputationSourceTable } from '../src/adapters/redis/reputation-source-table';
import { CallEvaluator } from '../src/calls/call-evaluator';
import { loadConfig, loadConfigText } from '../src/config/load-config';
import { loadRulesFile } from '../src/config/rules-file';
import type { ScreenedCallRecord } from '../src/ports/call-log';
import { replayCall } from '../src/replay/replay-call';
import { ReplayReport } from '../src/replay/replay-report';

const RECORDS = Number(process.env.CALLSCREEN_BENCH_REPLAY_RECORDS ?? 1_000_000);
const POOL = 5000;
const BATCH = 2000;
const DIDS = ['+12125550100', '+12125550200', '+12125550201', '+16465550123'];

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;

async function main(): Promise<void> {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench`');
  const configFile = path.join(__dirname, '..', '..', 'config', 'callscreen.yaml');
  const loaded = loadConfig(configFile, { CALLSCREEN_REDIS_URL: url });
  const { config } = loaded;
  const prefix = 'callscreen-bench:';
  const redis = createRedisConnection({ url, commandTimeoutMs: 30_000, connectionName: 'callscreen-bench' });
  await redis.connect();
  await redis.flushdb();

  // the pool: callers in national notation over 800 number blocks, a fifth of them listed
  const e164s = Array.from(
    { length: POOL },
    (_, i) => `+1312${200 + (i % 800)}${String(Math.floor(i / 800)).padStart(4, '0')}`,
  );
  const listed = e164s
    .filter((_, i) => i % 5 === 0)
    .map((e164, i) => ({ e164, score: (i % 10) / 10, reports: i % 40, at: Date.now() - (i % 60) * 86_400_000 }));
  await new RedisReputationStore(redis, prefix).put('bench', listed);
  const rules = loadRulesFile(loaded.rulesFile, config.numbers.defaultRegion);
  const evaluator = new CallEvaluator({
    history: new RedisCallerHistoryStore(redis, prefix, new ReputationSourceTable(redis, prefix)),
  });
  const settings = {
    config: { ...config, screening: { ...config.screening, deadlineMs: 1000 } },
    screening: loaded.screening,
    rules,
  };
  const pool: ScreenedCallRecord[] = [];
  for (let i = 0; i < POOL; i++) {
    const e164 = e164s[i] as string;
    const at = new Date(Date.now() - (POOL - i) * 1000);
    const evaluation = await evaluator.evaluate(
      {
        callerNumber: i % 3 === 0 ? `(312) ${e164.slice(5, 8)}-${e164.slice(8)}` : e164,
        did: DIDS[i % DIDS.length] as string,
        at,
        ...(i % 7 === 0 ? { attestation: 'C' } : {}),
      },
      settings,
      { callId: `bench-${i}`, record: true },
    );
    pool.push({
      callId: `bench-${i}`,
      at: at.toISOString(),
      channel: `PJSIP/pstn-trunk-${i}`,
      decision: evaluation.decision,
      routedTo: evaluation.decision.verdict === 'allow' ? 'agents' : 'voicemail',
      decisionMs: 1.2,
      historyMs: 0.4,
      host: 'bench',
      inputs: evaluation.inputs,
    });
  }
  await redis.flushdb();

  // the log: 1M entries, appended as the daemon writes them (XADD with the record's fields), pipelined
  const log = new RedisCallLog(redis, prefix, config.callLog.stream, RECORDS * 2);
  const templates = pool.map(entryFields);
  const fill0 = performance.now();
  for (let i = 0; i < RECORDS; i += BATCH) {
    const pipeline = redis.pipeline();
    for (let j = i; j < Math.min(RECORDS, i + BATCH); j++)
      pipeline.xadd(log.key, '*', ...(templates[j % POOL] as string[]));
    await pipeline.exec();
  }
  const fillS = (performance.now() - fill0) / 1000;
  const bytes = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  const range = { start: '-', end: '+' };

  // floor: read and parse every record, nothing else
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  const floor0 = performance.now();
  let read = 0;
  for await (const entry of log.entries(range, { batchSize: BATCH })) if (entry.record.callId) read++;
  const floorS = (performance.now() - floor0) / 1000;
  const floorPeak = peakRss;

  // replay under a candidate: challenge from 20 points
  const candidateLoaded = loadConfigText(
    `numbers:\n  defaultRegion: ${config.numbers.defaultRegion}\nscreening:\n  thresholds: { challenge: 20 }\n`,
    'candidate.yaml',
    {},
  );
  const candidate = { model: candidateLoaded.screening, rules };
  peakRss = process.memoryUsage().rss;
  const replay0 = performance.now();
  const report = new ReplayReport(20);
  for await (const entry of log.entries(range, { batchSize: BATCH }))
    report.add(entry, replayCall(entry.record, candidate));
  const replayS = (performance.now() - replay0) / 1000;
  const summary = report.summary();

  // the pure core alone, on records already parsed
  const core0 = performance.now();
  const coreN = 200_000;
  for (let i = 0; i < coreN; i++) replayCall(pool[i % POOL] as ScreenedCallRecord, candidate);
  const coreUs = ((performance.now() - core0) * 1000) / coreN;

  const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  await redis.flushdb();
  await redis.quit();
  clearInterval(sampler);

  const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString('en')}/s`;
  const out = [
    `replay: ${RECORDS.toLocaleString('en')} logged calls (Redis ${version}, Node ${process.version}; the log took ${fillS.toFixed(1)} s to fill, ${mb(bytes)} in Redis)`,
    `  floor  read + parse every record:   ${floorS.toFixed(1)} s  ${rate(read, floorS)}  peak RSS ${mb(floorPeak)}`,
    `  replay read + decide again + sum:   ${replayS.toFixed(1)} s  ${rate(summary.calls, replayS)}  peak RSS ${mb(peakRss)}  (${(replayS / floorS).toFixed(2)}x the floor)`,
    `  core   replayCall alone:            ${coreUs.toFixed(1)} µs per call`,
    `  replayed ${summary.replayed.toLocaleString('en')}, changed ${summary.changed.toLocaleString('en')} (allow -> challenge ${summary.matrix.allow.challenge.toLocaleString('en')}), skipped ${summary.skipped}`,
    `  target: 1M in < 60 s: ${RECORDS >= 1_000_000 ? (replayS < 60 ? 'met' : 'MISSED') : 'n/a (fewer records)'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  clearInterval(sampler);
  process.stderr.write(`bench replay failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
