/**
 * The daemon's feed subscriptions: a FeedScheduler (src/reputation/subscriptions/feed-scheduler.ts) whose
 * runs are `callscreen feeds update NAME --json --log-json` child processes. A child keeps the download,
 * the parse and the bucket writes of a large list off the daemon's event loop (calls never wait behind
 * an import), its memory goes back when it exits, and it runs exactly what cron runs, lock included.
 *
 * The child's log lines (JSON on its stderr) are written to the daemon's log at their own level, with a
 * `feed` field; its outcome (JSON on stdout) goes to the metrics. Closing the daemon stops the child
 * (SIGTERM: it gives the lock back and leaves the live list as it was; SIGKILL after KILL_AFTER_MS).
 * No feeds configured: nothing runs, Redis is never asked.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { RedisClient } from '../adapters/redis/redis-connection';
import { RedisFeedSubscriptionStore } from '../adapters/redis/redis-feed-subscriptions';
import type { FeedSettings } from '../config/feeds-schema';
import type { LoadedConfig } from '../config/load-config';
import type { CallscreenMetrics } from '../http-api/metrics';
import type { Logger } from '../ports/logger';
import type { FeedRunOutcome } from '../reputation/subscriptions/feed-runner';
import { FeedScheduler } from '../reputation/subscriptions/feed-scheduler';

/** after SIGTERM, a child that has not exited is killed this much later */
export const KILL_AFTER_MS = 3_000;
/** the most of a child's stdout kept (its outcome is a short JSON array) */
const MAX_STDOUT = 64 * 1024;
/** fields of a child's log line that the daemon's logger writes itself */
const OWN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg']);
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

/** `bin/callscreen.js` of this installation (dist/daemon/ and src/daemon/ both lie two folders below) */
export const CALLSCREEN_BIN = path.resolve(__dirname, '..', '..', 'bin', 'callscreen.js');

export interface FeedUpdatesOptions {
  loaded: LoadedConfig;
  redis: RedisClient;
  logger: Logger;
  metrics: CallscreenMetrics;
  /** the command the children run (tests); default: node CALLSCREEN_BIN */
  command?: { file: string; args: string[] };
  /** told of every update's outcome (notifications) */
  onRun?: (feed: string, outcome: string) => void;
}

export function startFeedUpdates(options: FeedUpdatesOptions): { close(): Promise<void> } {
  const { loaded, redis, logger, metrics } = options;
  const feeds = loaded.config.feeds;
  if (feeds.length === 0) return { close: async () => undefined };
  const store = new RedisFeedSubscriptionStore(redis, loaded.config.redis.keyPrefix);
  const command = options.command ?? { file: process.execPath, args: [CALLSCREEN_BIN] };
  const scheduler = new FeedScheduler({
    feeds,
    store,
    logger,
    run: (feed, signal) => runFeedProcess(feed, loaded.file, command, logger.child({ feed: feed.name }), signal),
    onStatuses: (statuses) =>
      metrics.feedStatuses(
        feeds.map((f) => f.name),
        statuses,
      ),
    onRun: (feed, outcome) => {
      metrics.feedRun(feed, outcome);
      options.onRun?.(feed, outcome);
    },
  });
  scheduler.start();
  logger.info(
    { feeds: feeds.map((f) => ({ name: f.name, intervalMinutes: f.intervalMinutes })) },
    'feed subscriptions scheduled',
  );
  return { close: () => scheduler.close() };
}

/** `callscreen feeds update NAME --json --log-json --config FILE` as a child; its outcome, if it said one */
export function runFeedProcess(
  feed: FeedSettings,
  configFile: string,
  command: { file: string; args: string[] },
  logger: Logger,
  signal: AbortSignal,
): Promise<FeedRunOutcome | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      command.file,
      [...command.args, 'feeds', 'update', feed.name, '--json', '--log-json', '--config', configFile],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < MAX_STDOUT) stdout += chunk;
    });
    createInterface({ input: child.stderr }).on('line', (line) => relog(logger, line));
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      killTimer.unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      const outcome = outcomeOf(stdout, feed.name);
      if (!outcome)
        logger.warn(
          { exitCode: code, signal: killedBy },
          'feeds: `callscreen feeds update` ended without an outcome; the live list stays',
        );
      resolve(outcome);
    });
  });
}

function outcomeOf(stdout: string, name: string): FeedRunOutcome | undefined {
  try {
    const reports = JSON.parse(stdout) as Array<FeedRunOutcome & { feed?: string }>;
    const report = Array.isArray(reports) ? reports.find((r) => r.feed === name) : undefined;
    return report && typeof report.outcome === 'string' ? report : undefined;
  } catch {
    return undefined;
  }
}

/** one line of the child's stderr into the daemon's log: a JSON log line at its level, anything else as a warning */
function relog(logger: Logger, line: string): void {
  if (line.trim() === '') return;
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // not a log line: a message of the command itself
  }
  if (!parsed) {
    logger.warn({ output: line.slice(0, 1000) }, 'feeds: callscreen feeds update said');
    return;
  }
  const level = typeof parsed.level === 'string' && LEVELS.has(parsed.level) ? parsed.level : 'info';
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) if (!OWN_FIELDS.has(key) && key !== 'feed') fields[key] = value;
  const message = typeof parsed.msg === 'string' ? parsed.msg : 'feeds';
  logger[level as 'info'](fields, message);
}
