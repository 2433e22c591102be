/**
 * bench/lookups: what online lookups cost a decision when the providers' answers are cached - the
 * common case for a number that calls again - and whether the cache read belongs beside the history
 * fetch or after it (docs/lookups.md).
 *
 *   no lookups        CallEvaluator as bench/decision runs it (no lookups: section)
 *   cache beside      lookups on, every caller's answer cached: the MGET of the cache is sent together
 *                     with the history script (as built), so both are one wait
 *   cache after       the same, but the cache read only once the history is known (a second round trip)
 *
 * Interleaved samples (one of each in turn) on a private Redis, so all three see the same machine.
 * Prints p50/p99 per variant and the bare GET floor. No provider is ever asked (all answers cached).
 */
import { createRedisConnection } from '../src/adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../src/adapters/redis/redis-caller-history-store';
import { RedisLookupCache } from '../src/adapters/redis/redis-lookup-cache';
import { CallEvaluator, type SettingsSnapshot } from '../src/calls/call-evaluator';
import { loadConfigText } from '../src/config/load-config';
import { compileRulesText } from '../src/config/rules-file';
import { LookupService, type LookupRequest } from '../src/reputation/lookups/lookup-service';
import { percentile } from './redis-floor';
import pino from 'pino';

const SAMPLES = Number(process.env.CALLSCREEN_BENCH_SAMPLES ?? 3000);
const POOL = 5000;
const PREFIX = 'callscreen-bench-lookups:';

async function main(): Promise<void> {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench -- lookups`');
  const yaml = (lookups: boolean): string =>
    [
      'numbers: { defaultRegion: US }',
      'screening: { deadlineMs: 1000, timeZone: UTC }',
      ...(lookups
        ? [
            'lookups:',
            '  budgetMs: 900',
            '  providers:',
            '    - { name: one, url: "http://127.0.0.1:9/{e164}", answer: { score: s } }',
            '    - { name: two, url: "http://127.0.0.1:9/{e164}", answer: { score: s } }',
          ]
        : []),
    ].join('\n');
  const plain = loadConfigText(yaml(false), 'callscreen.yaml', {});
  const withLookups = loadConfigText(yaml(true), 'callscreen.yaml', {});
  const rules = compileRulesText('allow: []\ndeny: []\n', 'rules.yaml', 'US');
  const snapshot = (l: typeof plain): SettingsSnapshot => ({ config: l.config, screening: l.screening, rules });

  const redis = createRedisConnection({ url, commandTimeoutMs: 1000, connectionName: 'callscreen-bench-lookups' });
  await redis.connect();
  await redis.flushdb();
  const history = new RedisCallerHistoryStore(redis, PREFIX);
  const cache = new RedisLookupCache(redis, PREFIX);
  const callers = Array.from({ length: POOL }, (_, i) => `+1312${200 + (i % 800)}${String(i).padStart(4, '0')}`);
  for (const e164 of callers) {
    await cache.write(e164, 'one', { status: 'answered', score: 0.2, reports: 3, at: Date.now() }, 3600);
    await cache.write(e164, 'two', { status: 'unknown', at: Date.now() }, 3600);
  }
  const service = new LookupService({
    config: withLookups.config.lookups,
    cache,
    logger: pino({ level: 'silent' }),
  });
  // the same service, but the cache read only after the history: prefetch does nothing, consult reads
  const readAfter = {
    enabled: true,
    prefetch: () => Promise.resolve(new Map()),
    consult: (r: LookupRequest) => service.consult({ ...r, cached: undefined }),
  } as unknown as LookupService;

  const variants = [
    { name: 'no lookups', evaluator: new CallEvaluator({ history }), snapshot: snapshot(plain), us: [] as number[] },
    {
      name: 'cache beside',
      evaluator: new CallEvaluator({ history, lookups: service }),
      snapshot: snapshot(withLookups),
      us: [] as number[],
    },
    {
      name: 'cache after',
      evaluator: new CallEvaluator({ history, lookups: readAfter }),
      snapshot: snapshot(withLookups),
      us: [] as number[],
    },
  ];
  const getUs: number[] = [];
  let n = 0;
  let looked = 0;
  const run = async (v: (typeof variants)[number], record: boolean): Promise<void> => {
    const i = n++;
    const start = process.hrtime.bigint();
    const { decision } = await v.evaluator.evaluate(
      { callerNumber: callers[i % POOL] as string, did: '+12125550100', at: new Date() },
      v.snapshot,
      { callId: `bench-${i}`, record: false },
    );
    if (record) v.us.push(Number(process.hrtime.bigint() - start) / 1000);
    if (decision.reasons.some((r) => r.code === 'lookup' && r.text.includes('(cached)'))) looked++;
  };
  for (let i = 0; i < 1000; i++) for (const v of variants) await run(v, false); // warm-up
  looked = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const start = process.hrtime.bigint();
    await redis.get('callscreen-bench-lookups:floor');
    getUs.push(Number(process.hrtime.bigint() - start) / 1000);
    for (const v of variants) await run(v, true);
  }
  await redis.flushdb();
  await redis.quit();

  const fmt = (x: number): string => x.toFixed(1).padStart(8);
  const out = [
    `bench/lookups  (Node ${process.version}, ${SAMPLES} interleaved samples per variant, 2 providers, every answer cached)`,
    '',
    '                    p50 us    p99 us',
    `bare GET (floor)  ${fmt(percentile(getUs, 50))}  ${fmt(percentile(getUs, 99))}`,
    ...variants.map((v) => `${v.name.padEnd(16)}  ${fmt(percentile(v.us, 50))}  ${fmt(percentile(v.us, 99))}`),
    '',
    `decisions with cached lookup answers: ${looked} of ${SAMPLES * 2} with lookups on (a provider was never asked)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'lookups',
      floor: { p50Us: percentile(getUs, 50), p99Us: percentile(getUs, 99) },
      variants: variants.map((v) => ({ name: v.name, p50Us: percentile(v.us, 50), p99Us: percentile(v.us, 99) })),
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/lookups: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
