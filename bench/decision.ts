/**
 * bench/decision: what one screening decision costs, against the floor it cannot beat.
 *
 *   floor     a bare Redis GET round trip on the same kind of connection, measured in this run
 *   decision  CallEvaluator.evaluate() as a live call runs it: normalise the caller, resolve the DID's
 *             policies, one Lua round trip (reputation, velocity, CAPTCHA, repeat caller; the call is
 *             recorded), score, verdict
 *
 * Prints p50/p99 of both and their ratio, and decisions per second on one Redis connection at
 * concurrency 1, 10 and 100 (with bare GETs per second beside them). Targets: decision p50 <= 1.2x
 * the GET p50 (issue 16; issue 11 asked for 1.5x); >= 5,000 decisions/s. Uses the example config (config/callscreen.yaml, rules.yaml).
 */
import path from 'node:path';
import { createRedisConnection } from '../src/adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../src/adapters/redis/redis-caller-history-store';
import { ReputationSourceTable } from '../src/adapters/redis/reputation-source-table';
import { RedisReputationStore } from '../src/adapters/redis/redis-reputation-store';
import { CallEvaluator } from '../src/calls/call-evaluator';
import { loadConfig } from '../src/config/load-config';
import { loadRulesFile } from '../src/config/rules-file';
import type { Verdict } from '../src/domain/decision';
import { measureGetRoundTrip, measureThroughput, percentile } from './redis-floor';

const SAMPLES = Number(process.env.CALLSCREEN_BENCH_SAMPLES ?? 5000);
const SECONDS = Number(process.env.CALLSCREEN_BENCH_SECONDS ?? 3);
const POOL = 10_000;
const DIDS = ['+12125550100', '+12125550200', '+12125550201', '+16465550123'];

async function main(): Promise<void> {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench`');
  const loaded = loadConfig(path.join(__dirname, '..', '..', 'config', 'callscreen.yaml'), {
    CALLSCREEN_REDIS_URL: url,
  });
  const { config } = loaded;
  const prefix = 'callscreen-bench:';
  const redis = createRedisConnection({ url, commandTimeoutMs: 1000, connectionName: 'callscreen-bench' });
  await redis.connect();
  await redis.flushdb();

  // callers as trunks send them (national notation, normalised per call), spread over 800 exchanges
  // (number blocks) like real callers; a fifth are on the reputation list
  const e164s = Array.from(
    { length: POOL },
    (_, i) => `+1312${200 + (i % 800)}${String(Math.floor(i / 800)).padStart(4, '0')}`,
  );
  const callers = e164s.map((e) => `(312) ${e.slice(5, 8)}-${e.slice(8)}`);
  const listed = e164s
    .filter((_, i) => i % 5 === 0)
    .map((e164, i) => ({ e164, score: (i % 10) / 10, reports: i % 40, at: Date.now() - (i % 60) * 86_400_000 }));
  await new RedisReputationStore(redis, prefix).put('bench', listed);

  const rules = loadRulesFile(loaded.rulesFile, config.numbers.defaultRegion);
  const evaluator = new CallEvaluator({
    history: new RedisCallerHistoryStore(redis, prefix, new ReputationSourceTable(redis, prefix)),
  });
  // a generous deadline: a slow sample is measured as it is, not cut short and decided degraded
  const settings = {
    config: { ...config, screening: { ...config.screening, deadlineMs: 1000 } },
    screening: loaded.screening,
    rules,
  };
  let n = 0;
  const verdicts: Record<Verdict, number> = { allow: 0, challenge: 0, voicemail: 0, reject: 0 };
  let degraded = 0;
  const decide = async (): Promise<void> => {
    const i = n++;
    const { decision } = await evaluator.evaluate(
      { callerNumber: callers[i % POOL] as string, did: DIDS[i % DIDS.length] as string, at: new Date() },
      settings,
      { callId: `bench-${i}`, record: true },
    );
    verdicts[decision.verdict]++;
    if (decision.degraded) degraded++;
  };

  // warm up both paths (JIT, script cache) before measuring; then time a bare GET and a decision in
  // turn, so both see the same machine (other load, GC, Redis state) and their ratio is fair
  for (let i = 0; i < 2000; i++) await decide();
  await measureGetRoundTrip(redis, 200);
  await redis.config('RESETSTAT');
  const floorKey = 'callscreen:bench:floor';
  const getUs: number[] = [];
  const us: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    let start = process.hrtime.bigint();
    await redis.get(floorKey);
    getUs.push(Number(process.hrtime.bigint() - start) / 1000);
    start = process.hrtime.bigint();
    await decide();
    us.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const floor = { p50Us: percentile(getUs, 50), p99Us: percentile(getUs, 99) };
  // Redis' own time per script run (the rest of a decision's round trip is the network and the client)
  const stats = await redis.info('commandstats');
  const scriptUs = Number(/cmdstat_evalsha:.*usec_per_call=([0-9.]+)/.exec(stats)?.[1] ?? Number.NaN);
  const p50 = percentile(us, 50);
  const p99 = percentile(us, 99);

  const rows: Array<{ concurrency: number; decisions: number; gets: number }> = [];
  await redis.set('callscreen-bench:get', 'x');
  for (const concurrency of [1, 10, 100]) {
    const d = await measureThroughput(decide, concurrency, SECONDS * 1000);
    const g = await measureThroughput(() => redis.get('callscreen-bench:get'), concurrency, SECONDS * 1000);
    rows.push({ concurrency, decisions: Math.round(d.opsPerSecond), gets: Math.round(g.opsPerSecond) });
  }
  const info = await redis.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  await redis.flushdb();
  await redis.quit();

  const ratio = p50 / floor.p50Us;
  const fmt = (x: number): string => x.toFixed(1).padStart(8);
  const out = [
    `bench/decision  (Node ${process.version}, Redis ${version}, ${SAMPLES} sequential samples, ${SECONDS} s per throughput run)`,
    '',
    '                      p50 us    p99 us',
    `bare GET (floor)    ${fmt(floor.p50Us)}  ${fmt(floor.p99Us)}`,
    `decision            ${fmt(p50)}  ${fmt(p99)}      of which Redis runs the script: ${scriptUs.toFixed(1)} us (mean, INFO commandstats)`,
    `ratio               ${fmt(ratio)}  ${fmt(p99 / floor.p99Us)}      target p50 ratio <= 1.2: ${ratio <= 1.2 ? 'met' : 'MISSED'}`,
    '',
    'concurrency   decisions/s      GETs/s',
    ...rows.map(
      (r) =>
        `${String(r.concurrency).padStart(11)}   ${String(r.decisions).padStart(11)}  ${String(r.gets).padStart(10)}`,
    ),
    `target >= 5000 decisions/s: ${Math.max(...rows.map((r) => r.decisions)) >= 5000 ? 'met' : 'MISSED'}`,
    '',
    `verdicts over the run: ${Object.entries(verdicts)
      .map(([v, c]) => `${v} ${c}`)
      .join(', ')}; degraded ${degraded}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'decision', floor, decision: { p50Us: p50, p99Us: p99, scriptServerUs: scriptUs }, ratio, throughput: rows, degraded })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/decision: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
