/**
 * `callscreen feeds update [NAME] [--allow-shrink]`: fetch the feeds of callscreen.yaml (`feeds:`), or
 * one of them, and import each that changed (src/reputation/subscriptions/feed-runner.ts), for cron or by
 * hand; the daemon runs the same command for each feed that is due. `callscreen feeds status`: each
 * feed's shared status (last success, last error, numbers, next run, last HTTP status).
 *
 * Exit codes: 0 every feed imported, unchanged, or being fetched by another runner right now; 1 a
 * download, a read or Redis failed, or the shrink guard refused a list (each feed's old list stays);
 * 2 bad configuration, no feeds configured, or a NAME that is not one of them.
 */
import pino from 'pino';
import type { Command } from 'commander';
import { createLogger } from '../adapters/logging/pino-logger';
import { type RedisClient, withCommandConnection } from '../adapters/redis/redis-connection';
import { RedisFeedSubscriptionStore } from '../adapters/redis/redis-feed-subscriptions';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { FeedUsageError } from '../reputation/feeds/feed-format';
import { runFeed, type FeedRunOutcome } from '../reputation/subscriptions/feed-runner';
import { feedStatusViews, type FeedStatusView } from '../reputation/subscriptions/feed-status-view';

/** an import's commands wait behind each other: a generous timeout (as `callscreen import`) */
const FEED_COMMAND_TIMEOUT_MS = 30_000;

export interface FeedsUpdateOptions {
  allowShrink?: boolean;
  json?: boolean;
  logJson?: boolean;
  config: string;
}

/** One feed's outcome as `feeds update --json` prints it (the daemon reads it). */
export type FeedUpdateReport = { feed: string } & FeedRunOutcome;

export function registerFeedsCommands(program: Command, defaultConfig: string): void {
  const feeds = program.command('feeds').description('feed subscriptions: spam lists fetched on a schedule (feeds:)');
  feeds
    .command('update [name]')
    .description('fetch the feeds (or feed NAME) now and import each one that changed')
    .option('--allow-shrink', 'take a list the shrink guard would refuse (needs NAME)')
    .option('--json', 'print one JSON array of outcomes')
    .option('--log-json', 'write the log (JSON lines, log.level) on stderr')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (name: string | undefined, opts: FeedsUpdateOptions) =>
      withFeedExitCodes(async () => {
        const reports = await updateFeeds(name, opts);
        if (opts.json) process.stdout.write(`${JSON.stringify(reports)}\n`);
        else
          for (const r of reports) (failedOutcome(r) ? process.stderr : process.stdout).write(`${renderUpdate(r)}\n`);
        if (reports.some(failedOutcome)) process.exitCode = 1;
      }),
    );
  feeds
    .command('status')
    .description("each feed's last success, last error, numbers, next run and last HTTP status")
    .option('--json', 'one JSON array')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { json?: boolean; config: string }) =>
      withFeedExitCodes(async () => {
        const loaded = loadConfig(opts.config);
        if (loaded.config.feeds.length === 0) throw noFeeds(loaded);
        const statuses = await withFeedRedis(loaded, (redis) =>
          new RedisFeedSubscriptionStore(redis, loaded.config.redis.keyPrefix).statuses(),
        );
        const views = feedStatusViews(loaded.config.feeds, statuses);
        process.stdout.write(opts.json ? `${JSON.stringify(views)}\n` : renderFeedStatuses(views));
      }),
    );
}

async function updateFeeds(name: string | undefined, opts: FeedsUpdateOptions): Promise<FeedUpdateReport[]> {
  const loaded = loadConfig(opts.config);
  const { config } = loaded;
  if (config.feeds.length === 0) throw noFeeds(loaded);
  const chosen = name === undefined ? config.feeds : config.feeds.filter((f) => f.name === name);
  if (chosen.length === 0)
    throw new FeedUsageError(
      `no feed ${JSON.stringify(name)} in ${loaded.file} (feeds: ${config.feeds.map((f) => f.name).join(', ')})`,
    );
  if (opts.allowShrink && name === undefined)
    throw new FeedUsageError('--allow-shrink takes one feed: callscreen feeds update NAME --allow-shrink');
  const logger = opts.logJson
    ? createLogger(config.log.level, pino.destination({ fd: 2, sync: true }))
    : createLogger('silent');
  // SIGTERM (the daemon closing) or Ctrl-C: stop the download; the lock is given back, the old list stays
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new Error('stopped by a signal'));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await withFeedRedis(loaded, async (redis) => {
      // block counts as `callscreen import` builds them (screening.signals.blockReputation.blockDigits; 0: none)
      const store = new RedisFeedSubscriptionStore(redis, config.redis.keyPrefix, {
        blockDigits: config.screening.signals.blockReputation.blockDigits,
      });
      const reports: FeedUpdateReport[] = [];
      for (const feed of chosen) {
        if (stop.signal.aborted) break;
        const outcome = await runFeed(
          feed,
          {
            store,
            logger,
            env: process.env,
            defaults: {
              region: config.numbers.defaultRegion,
              maxAgeDays: config.screening.signals.reputation.maxAgeDays,
            },
          },
          { allowShrink: opts.allowShrink === true, signal: stop.signal },
        );
        reports.push({ feed: feed.name, ...outcome });
      }
      return reports;
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function failedOutcome(report: FeedRunOutcome): boolean {
  return report.outcome === 'failed' || report.outcome === 'refused';
}

function renderUpdate(r: FeedUpdateReport): string {
  const n = (v: number | undefined): string => (v === undefined ? '?' : String(v));
  switch (r.outcome) {
    case 'imported':
      return `${r.feed}: imported ${r.entries} numbers (new ${n(r.added)}, removed ${n(r.removed)}), generation ${r.gen}`;
    case 'unchanged':
      return `${r.feed}: not modified since the last import; ${n(r.entries)} numbers stay`;
    case 'locked':
      return `${r.feed}: skipped: another runner is fetching it right now`;
    case 'refused':
      return `${r.feed}: refused: ${r.error}`;
    case 'failed':
      return `${r.feed}: failed: ${r.error}`;
  }
}

function noFeeds(loaded: LoadedConfig): FeedUsageError {
  return new FeedUsageError(`no feeds in ${loaded.file} (add a feeds: section; see docs/reputation.md)`);
}

async function withFeedExitCodes(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof FeedUsageError) {
      process.stderr.write(`callscreen: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

async function withFeedRedis<T>(loaded: LoadedConfig, run: (redis: RedisClient) => Promise<T>): Promise<T> {
  const { config } = loaded;
  return withCommandConnection(
    config.redis,
    { connectionName: 'callscreen-feeds', autoPipelining: false, commandTimeoutMs: FEED_COMMAND_TIMEOUT_MS },
    run,
  );
}

// ---- the status table, shared with `callscreen reputation sources` ----

const isoMinute = (ms: number | undefined): string =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace(/:\d\d\.\d+Z$/, 'Z');

/** NAME LAST SUCCESS ENTRIES HTTP NEXT RUN FAILURES LAST ERROR; a feed never fetched shows "never" */
export function renderFeedStatuses(views: readonly FeedStatusView[]): string {
  const rows = [
    ['FEED', 'LAST SUCCESS', 'ENTRIES', 'HTTP', 'NEXT RUN', 'FAILURES', 'LAST ERROR'],
    ...views.map(({ name, status: s }) => [
      name,
      s?.lastSuccessAt !== undefined ? isoMinute(s.lastSuccessAt) : s ? '-' : 'never',
      s?.entries !== undefined ? String(s.entries) : '-',
      s?.httpStatus !== undefined ? String(s.httpStatus) : '-',
      s ? isoMinute(s.nextRunAt) : 'due',
      String(s?.failures ?? 0),
      s?.lastError !== undefined ? `${isoMinute(s.lastErrorAt)} ${s.lastError}` : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) =>
            i === r.length - 1 ? cell : i === 2 || i === 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!),
          )
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
