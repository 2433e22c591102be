/**
 * bench/quality: how much spam reaches the agents and how many legit callers are bothered, over one
 * generated business day of a call centre (issue 13).
 *
 *   traffic   bench/quality/traffic.ts: customers with a caller ID (some ring twice), withheld callers,
 *             hotline repeat callers, robocallers on the imported half of the public robocall list and on
 *             the other half, block neighbours of listed numbers, neighbour spoofing, one-number bursts,
 *             DID walkers, impossible numbers; seeded (CALLSCREEN_BENCH_SEED, default 13)
 *   the list  half of the robocall list (bench/data/robocall-caller-ids.csv, or CALLSCREEN_BENCH_ROBOCALL_LIST)
 *             imported as source "robocall" by `callscreen import`, as an admin would
 *   provider  bench/quality/provider.ts: a local HTTP service that knows part of the spam numbers (and some
 *             legit ones as clean), answers in 50-800 ms, fails some requests (503) and never answers some;
 *             configured through callscreen.yaml's lookups: (when this build has online lookups), with the
 *             default lookups.budgetMs and weight, or CALLSCREEN_BENCH_LOOKUP_BUDGET_MS (the deadline made room
 *             for it) and CALLSCREEN_BENCH_LOOKUP_WEIGHT
 *   decisions the real path: CallEvaluator, RedisCallerHistoryStore, the lookup service, on a private Redis,
 *             with the example config (config/callscreen.yaml: thresholds, signals, the crisis-hotline and
 *             sales policies) and no rules; outcomes played as the daemon records them (bench/quality/runner.ts)
 *
 * Prints, per kind of caller, the share of calls that reached the agents, were challenged, ended in
 * voicemail or were rejected, without and with the provider, and the headline figures with their targets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseCsv } from 'csv-parse/sync';
import pino from 'pino';
import { parseDocument } from 'yaml';
import { createRedisConnection, type RedisClient } from '../src/adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../src/adapters/redis/redis-caller-history-store';
import { ReputationSourceTable } from '../src/adapters/redis/reputation-source-table';
import { CallEvaluator, type CallEvaluatorDeps } from '../src/calls/call-evaluator';
import { loadConfig } from '../src/config/load-config';
import { loadRulesFile } from '../src/config/rules-file';
import { BenchProvider, type ProviderStats } from './quality/provider';
import { headlineTable, kindTable, scoredList, summarise, unknownSpamLine, type RunFigures } from './quality/report';
import { DayClock, runDay, type OutcomeRecorder } from './quality/runner';
import { generateTraffic, spamNothingKnows, type CompanyLines, type Traffic } from './quality/traffic';

const SEED = Number(process.env.CALLSCREEN_BENCH_SEED ?? 13);
/** lookups.budgetMs of the run with the provider; unset: the default */
const LOOKUP_BUDGET_MS = process.env.CALLSCREEN_BENCH_LOOKUP_BUDGET_MS;
/** the provider's weight in the run with the provider; unset: the default */
const LOOKUP_WEIGHT = process.env.CALLSCREEN_BENCH_LOOKUP_WEIGHT;
/** the day (10 hours) replays in about 40 s */
const SPEEDUP = Number(process.env.CALLSCREEN_BENCH_SPEEDUP ?? 900);
const ROOT = path.join(__dirname, '..', '..');
const SOURCE = 'robocall';

/** the example config's DIDs: the hotline, sales, two support lines and billing (not the shadow-mode 0201) */
const LINES: CompanyLines = {
  hotline: '+12125550100',
  dids: [
    { did: '+12125550100', share: 0.08 },
    { did: '+12125550200', share: 0.25 },
    { did: '+12125550300', share: 0.35 },
    { did: '+12125550301', share: 0.2 },
    { did: '+16465550123', share: 0.12 },
  ],
};

interface ListRow {
  e164: string;
  admin: boolean;
  raw: string;
}

/** the lookup service's parts, where this build has them (not before issue 13) */
interface LookupParts {
  LookupService: new (options: Record<string, unknown>) => {
    readonly enabled: boolean;
    idle(): Promise<void>;
    close(): Promise<void>;
  };
  RedisLookupCache: new (redis: RedisClient, keyPrefix: string) => unknown;
}

async function main(): Promise<void> {
  const url = process.env.CALLSCREEN_BENCH_REDIS_URL;
  if (!url) throw new Error('CALLSCREEN_BENCH_REDIS_URL is not set: run this through `npm run bench`');
  const started = performance.now();
  const listFile =
    process.env.CALLSCREEN_BENCH_ROBOCALL_LIST ?? path.join(ROOT, 'bench', 'data', 'robocall-caller-ids.csv');
  const { header, rows } = readList(listFile);
  const example = readFileSync(path.join(ROOT, 'config', 'callscreen.yaml'), 'utf8');
  const timeZone = String(parseDocument(example).getIn(['screening', 'timeZone']) ?? 'America/New_York');
  const day = businessDay(timeZone, new Date());
  const traffic = generateTraffic({
    seed: SEED,
    opensAt: day.opensAt,
    closesAt: day.closesAt,
    robocallList: rows.filter((r) => !r.admin).map((r) => r.e164),
    lines: LINES,
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'callscreen-quality-'));
  const lookupParts = optionalLookupParts();
  const runs: Array<{ title: string; figures: RunFigures; seconds: number; provider?: ProviderStats }> = [];
  try {
    const feed = path.join(dir, 'robocall-half.csv');
    writeFileSync(feed, [header, ...rows.filter((r) => traffic.imported.has(r.e164)).map((r) => r.raw)].join('\n'));
    writeFileSync(path.join(dir, 'rules.yaml'), '# no rules: the bench measures the scoring\nallow: []\ndeny: []\n');

    runs.push(await run('without provider', { dir, example, url, feed, traffic }));
    if (lookupParts) {
      const provider = new BenchProvider({ knowledge: traffic.provider, seed: SEED + 1 });
      const template = await provider.start();
      try {
        runs.push({
          ...(await run('with provider', {
            dir,
            example,
            url,
            feed,
            traffic,
            lookups: { parts: lookupParts, template },
          })),
          provider: provider.stats,
        });
      } finally {
        await provider.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const spam = traffic.calls.filter((c) => c.spam).length;
  const floor = spamNothingKnows(traffic);
  const out = [
    `bench/quality  (Node ${process.version}, seed ${SEED}, ${day.label} ${timeZone}, ${traffic.calls.length} calls: ${traffic.calls.length - spam} legit, ${spam} spam;`,
    `               ${traffic.imported.size} of ${rows.filter((r) => !r.admin).length} robocall-list numbers imported as source ${SOURCE}; ${(
      (performance.now() - started) /
      1000
    ).toFixed(0)} s)`,
    '',
    'share of calls per kind: reached the agents / challenged (CAPTCHA) / ended in voicemail or rejected',
    kindTable(runs),
    '',
    headlineTable(runs),
    unknownSpamLine(floor),
    lookupParts ? '' : '\nno online lookups in this build (src/reputation/lookups/): measured without a provider only',
  ];
  for (const r of runs) {
    out.push(
      `${r.title}: ${r.figures.headline.calls} calls in ${r.seconds.toFixed(1)} s, ${r.figures.headline.degraded} decided degraded`,
    );
    out.push(`  spam that reached the agents scored: ${scoredList(r.figures.spamThrough.slice(0, 6)) || 'none'}`);
    if (r.figures.legitShutOut.length > 0)
      out.push(`  legit calls shut out scored: ${scoredList(r.figures.legitShutOut)}`);
    if (r.figures.customersChallenged.length > 0)
      out.push(`  customers challenged scored: ${scoredList(r.figures.customersChallenged)}`);
    if (r.provider) {
      const p = r.provider;
      out.push(
        `  provider: ${p.requests} requests (${p.known} known, ${p.unknown} unknown, ${p.errors} 503, ${p.hung} never answered); lookup reasons: ${r.figures.lookups
          .slice(0, 6)
          .map((l) => `${l.calls}x ${l.what}`)
          .join('; ')}`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'quality',
      seed: SEED,
      calls: traffic.calls.length,
      spamNothingKnows: floor.calls,
      runs: runs.map((r) => ({ title: r.title, headline: r.figures.headline, kinds: r.figures.kinds })),
    })}\n`,
  );
}

interface RunInput {
  dir: string;
  example: string;
  url: string;
  feed: string;
  traffic: Traffic;
  lookups?: { parts: LookupParts; template: string };
}

/** one replay of the day on an empty Redis: write the config, import the list, play every call */
async function run(title: string, input: RunInput): Promise<{ title: string; figures: RunFigures; seconds: number }> {
  const { dir, url, traffic } = input;
  const doc = parseDocument(input.example);
  if (input.lookups) {
    if (LOOKUP_BUDGET_MS !== undefined) {
      const budgetMs = Number(LOOKUP_BUDGET_MS);
      doc.setIn(['lookups', 'budgetMs'], budgetMs);
      doc.setIn(
        ['screening', 'deadlineMs'],
        Math.max(Number(doc.getIn(['screening', 'deadlineMs']) ?? 200), budgetMs + 50),
      );
    }
    doc.setIn(
      ['lookups', 'providers'],
      [
        {
          name: 'bench',
          url: input.lookups.template,
          answer: { score: 'score', reports: 'reports', category: 'category' },
          score: { min: 0, max: 100 },
          ...(LOOKUP_WEIGHT !== undefined ? { weight: Number(LOOKUP_WEIGHT) } : {}),
          // the day runs compressed while Redis' TTLs run in real seconds: the default 60 s for a failure
          // would outlive every later call of the number; 1 s is about the real time between them
          cache: { errorTtlSeconds: 1 },
        },
      ],
    );
  }
  const configFile = path.join(dir, 'callscreen.yaml');
  writeFileSync(configFile, doc.toString());
  const env = { CALLSCREEN_REDIS_URL: url };
  const loaded = loadConfig(configFile, env);
  const { config } = loaded;
  const prefix = config.redis.keyPrefix;

  const redis = createRedisConnection({ url, commandTimeoutMs: 1000, connectionName: 'callscreen-bench-quality' });
  await redis.connect();
  const clock = new DayClock(SPEEDUP);
  let service: InstanceType<LookupParts['LookupService']> | undefined;
  try {
    await redis.flushdb();
    importFeed(input.feed, configFile, url);
    const sources = new ReputationSourceTable(redis, prefix);
    const history = new RedisCallerHistoryStore(redis, prefix, sources);
    const deps: CallEvaluatorDeps = { history };
    if (input.lookups) {
      const { LookupService, RedisLookupCache } = input.lookups.parts;
      service = new LookupService({
        config: (config as unknown as { lookups: unknown }).lookups,
        cache: new RedisLookupCache(redis, prefix),
        logger: pino({ level: 'silent' }),
        now: clock.now,
      });
      if (service.enabled) Object.assign(deps, { lookups: service });
    }
    const evaluator = new CallEvaluator(deps);
    const snapshot = {
      config,
      screening: loaded.screening,
      rules: loadRulesFile(loaded.rulesFile, config.numbers.defaultRegion),
    };
    const startedAt = performance.now();
    const results = await runDay(
      traffic.calls,
      {
        evaluator,
        snapshot,
        recorder: history as OutcomeRecorder,
        speedup: SPEEDUP,
        // a lookup's longest life: the provider's timeout, and a little
        lateAllowanceMs: input.lookups ? lookupTimeoutMs(config) + 100 : 0,
      },
      clock,
    );
    const seconds = (performance.now() - startedAt) / 1000;
    return { title, figures: summarise(results), seconds };
  } finally {
    await service?.idle();
    await service?.close();
    await redis.flushdb();
    await redis.quit();
  }
}

function lookupTimeoutMs(config: object): number {
  const providers = (config as { lookups?: { providers?: Array<{ timeoutMs?: number }> } }).lookups?.providers ?? [];
  return Math.max(0, ...providers.map((p) => p.timeoutMs ?? 0));
}

/** `callscreen import FILE --source robocall --skip likely_admin=yes`, run as the command line runs it */
function importFeed(feed: string, configFile: string, url: string): void {
  const mainModule = path.join(__dirname, '..', 'src', 'main.js');
  const result = spawnSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(mainModule)}).main(process.argv)`,
      'callscreen',
      'import',
      feed,
      '--source',
      SOURCE,
      '--skip',
      'likely_admin=yes',
      '--config',
      configFile,
    ],
    { env: { ...process.env, CALLSCREEN_REDIS_URL: url }, encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(`callscreen import exited ${result.status}: ${result.stderr.trim() || result.stdout.trim()}`);
}

/** the robocall list: its header and rows (phone_e164, likely_admin, the row as written) */
function readList(file: string): { header: string; rows: ListRow[] } {
  if (!existsSync(file)) throw new Error(`robocall list ${file} not found (set CALLSCREEN_BENCH_ROBOCALL_LIST)`);
  const text = readFileSync(file, 'utf8');
  const records = parseCsv(text, { columns: true, raw: true, skip_empty_lines: true }) as Array<{
    record: Record<string, string>;
    raw: string;
  }>;
  const header = text.slice(0, text.indexOf('\n')).replace(/\r$/, '');
  const rows = records
    .filter(({ record }) => /^\+\d{8,15}$/.test(record.phone_e164 ?? ''))
    .map(({ record, raw }) => ({
      e164: record.phone_e164 as string,
      admin: record.likely_admin === 'yes',
      raw: raw.replace(/\r?\n$/, ''),
    }));
  return { header, rows };
}

/**
 * The next weekday (today included) in `timeZone`, 08:00 to 18:00 local time: the day's calls lie within
 * it, so the reputation list imported now is a day old at most, as a daily import would leave it.
 */
function businessDay(timeZone: string, now: Date): { opensAt: number; closesAt: number; label: string } {
  for (let d = 0; d < 7; d++) {
    const date = new Date(now.getTime() + d * 86_400_000);
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        weekday: 'short',
      })
        .formatToParts(date)
        .map((p) => [p.type, p.value]),
    );
    if (parts.weekday === 'Sat' || parts.weekday === 'Sun') continue;
    const ymd = [Number(parts.year), Number(parts.month), Number(parts.day)] as const;
    return {
      opensAt: zonedTime(ymd, 8, timeZone),
      closesAt: zonedTime(ymd, 18, timeZone),
      label: `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} 08:00-18:00`,
    };
  }
  throw new Error('no weekday within a week');
}

/** epoch ms of hour:00 on the given day in `timeZone` */
function zonedTime([year, month, day]: readonly [number, number, number], hour: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour);
  const offset = (at: number): number => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      })
        .formatToParts(at)
        .map((x) => [x.type, Number(x.value)]),
    );
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!) - Math.floor(at / 60_000) * 60_000;
  };
  const guess = asUtc - offset(asUtc);
  return asUtc - offset(guess);
}

/**
 * The online lookup service and its Redis cache, when this build has them: the bench also runs on the
 * commit before issue 13 (the "before" figures), where they do not exist yet.
 */
function optionalLookupParts(): LookupParts | undefined {
  const src = path.join(__dirname, '..', 'src');
  const service = path.join(src, 'reputation', 'lookups', 'lookup-service.js');
  const cache = path.join(src, 'adapters', 'redis', 'redis-lookup-cache.js');
  if (!existsSync(service) || !existsSync(cache)) return undefined;
  /* eslint-disable @typescript-eslint/no-require-imports -- feature detection: absent before issue 13 */
  const { LookupService } = require(service) as Pick<LookupParts, 'LookupService'>;
  const { RedisLookupCache } = require(cache) as Pick<LookupParts, 'RedisLookupCache'>;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { LookupService, RedisLookupCache };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/quality: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
