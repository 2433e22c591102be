/**
 * One fetch of one feed, by whoever runs it (`callscreen feeds update`, which the daemon's scheduler
 * also starts): take the feed's lock, download (conditional), read the list with the feed's format
 * options, check the shrink guard, import it as a new generation of the source (the switch is atomic; a
 * failed import leaves the old generation live), and record the outcome in the feed's shared status.
 *
 * The lock (a TTL, extended while the work goes on) makes one runner at a time fetch a feed when several
 * daemons and cron share a Redis: the others report `locked` and do nothing. A runner that loses its lock
 * midway (its Redis stalled past the TTL) stops before importing.
 *
 * Outcomes: imported, unchanged (304, or the same file: only the status changes), locked, refused (the
 * shrink guard, or no numbers; the old list stays), failed (download, parse or Redis; the old list stays).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { FeedSettings } from '../../config/feeds-schema';
import { errorText } from '../../errors/error-text';
import { FeedRefusedError } from '../../errors/feed-refused-error';
import type { FeedStatus, FeedSubscriptionStore } from '../../ports/feed-subscriptions';
import type { Logger } from '../../ports/logger';
import { redactUrl } from '../../ports/log-redaction';
import { downloadFeed, type DownloadRequest, type DownloadResult } from './feed-download';
import { readFeedEntries, type FeedEntryDefaults } from './feed-entries';
import { MINUTE_MS, nextRunAt } from './feed-schedule';

/** the lock's TTL; the runner extends it every third of it while it works */
export const LOCK_TTL_MS = 2 * MINUTE_MS;
/** a status's lastError is cut to this many characters */
const MAX_ERROR_LENGTH = 500;

export type FeedRunOutcome =
  | { outcome: 'imported'; entries: number; added: number | undefined; removed: number | undefined; gen: number }
  | { outcome: 'unchanged'; entries: number | undefined }
  | { outcome: 'locked' }
  | { outcome: 'refused'; error: string }
  | { outcome: 'failed'; error: string };

export interface FeedRunnerDeps {
  store: FeedSubscriptionStore;
  logger: Logger;
  /** where headersEnv values are read */
  env: NodeJS.ProcessEnv;
  defaults: FeedEntryDefaults;
  now?: () => number;
  /** the download (tests may replace it) */
  download?: (request: DownloadRequest) => Promise<DownloadResult>;
  lockTtlMs?: number;
}

export interface FeedRunOptions {
  /** take a download the shrink guard would refuse (an admin's deliberate choice) */
  allowShrink?: boolean;
  /** stops a download in progress (the daemon closing) */
  signal?: AbortSignal;
}

export async function runFeed(
  feed: FeedSettings,
  deps: FeedRunnerDeps,
  options: FeedRunOptions = {},
): Promise<FeedRunOutcome> {
  const now = deps.now ?? Date.now;
  const ttl = deps.lockTtlMs ?? LOCK_TTL_MS;
  const log = deps.logger.child({ feed: feed.name });
  const lease = await deps.store.tryLock(feed.name, ttl);
  if (!lease) {
    log.info('feed: another runner is fetching it now; skipped');
    return { outcome: 'locked' };
  }
  const lost = new AbortController();
  const stop = AbortSignal.any([lost.signal, ...(options.signal ? [options.signal] : [])]);
  const heartbeat = setInterval(
    () => {
      lease.extend(ttl).then(
        (held) => held || lost.abort(new Error('the feed lock expired and another runner took it')),
        (e: unknown) => log.warn({ err: errorText(e) }, 'feed: extending the lock failed; trying again'),
      );
    },
    Math.floor(ttl / 3),
  );
  heartbeat.unref();
  let directory: string | undefined;
  const previous = await deps.store.status(feed.name).catch(() => undefined);
  const status: FeedStatus = { ...(previous ?? { name: feed.name, failures: 0 }), name: feed.name, host: hostname() };
  try {
    const live = await deps.store.liveEntries(feed.name);
    directory = await mkdtemp(path.join(tmpdir(), 'callscreen-feed-'));
    const download = await (deps.download ?? downloadFeed)({
      feed: feed.name,
      url: feed.url,
      headers: headerValues(feed, deps.env),
      // validators only while the list they stand for is live (a flushed Redis must get the whole list again)
      ...(live !== undefined && { etag: previous?.etag, lastModified: previous?.lastModified }),
      allowInsecureHttp: feed.allowInsecureHttp,
      maxBytes: feed.maxBytes,
      timeoutMs: feed.timeoutSeconds * 1000,
      directory,
      signal: stop,
    });
    if (download.kind === 'not-modified') {
      succeeded(status, now(), download.httpStatus, live);
      await save(deps.store, status, feed, now());
      log.info({ httpStatus: download.httpStatus, entries: live }, 'feed: not modified since the last import');
      return { outcome: 'unchanged', entries: live };
    }
    const { aggregate, counts, problems } = await readFeedEntries(download.file, feed, deps.defaults, now());
    if (aggregate.size === 0)
      throw new FeedRefusedError({
        feed: feed.name,
        refusal: 'empty',
        entries: 0,
        liveEntries: live,
        detail: `no numbers in the download (${counts.rejected} rejected, ${counts.skipped} skipped, ${counts.stale} stale${problems[0] ? `; ${problems[0]}` : ''}); the live list stays`,
      });
    const minRatio = feed.shrinkGuard.minRatio;
    if (live !== undefined && minRatio > 0 && aggregate.size < live * minRatio) {
      if (!options.allowShrink)
        throw new FeedRefusedError({
          feed: feed.name,
          refusal: 'shrink',
          entries: aggregate.size,
          liveEntries: live,
          detail: `the download has ${aggregate.size} numbers, the live list ${live}: fewer than shrinkGuard.minRatio ${minRatio} of it; the live list stays (take it with: callscreen feeds update ${feed.name} --allow-shrink)`,
        });
      log.warn({ entries: aggregate.size, liveEntries: live }, 'feed: a shrunken list taken (--allow-shrink)');
    }
    if (stop.aborted) throw stop.reason;
    const result = await deps.store.importGeneration(feed.name, download.origin, aggregate, aggregate.categories);
    succeeded(status, now(), download.httpStatus, result.entries);
    status.lastImportAt = now();
    setOrDelete(status, 'etag', download.etag);
    setOrDelete(status, 'lastModified', download.lastModified);
    await save(deps.store, status, feed, now());
    log.info(
      {
        entries: result.entries,
        added: result.added,
        removed: result.removed,
        gen: result.gen,
        bytes: download.bytes,
        rejected: counts.rejected,
        skipped: counts.skipped + counts.stale,
        ...(problems.length > 0 && { firstRejected: problems }),
      },
      'feed: imported',
    );
    return { outcome: 'imported', ...result };
  } catch (e) {
    const refused = e instanceof FeedRefusedError;
    const error = redactUrl(errorText(e)).slice(0, MAX_ERROR_LENGTH);
    status.failures = (previous?.failures ?? 0) + 1;
    status.lastAttemptAt = now();
    status.lastError = error;
    status.lastErrorAt = now();
    const httpStatus = (e as { httpStatus?: unknown }).httpStatus;
    if (typeof httpStatus === 'number') status.httpStatus = httpStatus;
    await save(deps.store, status, feed, now()).catch((saveError: unknown) =>
      log.warn({ err: errorText(saveError) }, 'feed: its status could not be saved'),
    );
    log[refused ? 'warn' : 'error'](
      { err: error, failures: status.failures },
      refused ? 'feed: download refused; the live list stays' : 'feed: fetch failed; the live list stays',
    );
    return refused ? { outcome: 'refused', error } : { outcome: 'failed', error };
  } finally {
    clearInterval(heartbeat);
    if (directory) await rm(directory, { recursive: true, force: true }).catch(() => undefined);
    await lease.release().catch((e: unknown) => log.warn({ err: errorText(e) }, 'feed: releasing the lock failed'));
  }
}

/**
 * The feed's headers with their values from the environment. A variable that is not set fails the fetch
 * naming the variable (never a value).
 */
function headerValues(feed: FeedSettings, env: NodeJS.ProcessEnv): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, variable] of Object.entries(feed.headersEnv)) {
    const value = env[variable];
    if (value === undefined || value === '')
      throw new Error(`headersEnv.${name}: the environment variable ${variable} is not set`);
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

function succeeded(status: FeedStatus, at: number, httpStatus: number | undefined, entries: number | undefined): void {
  status.lastAttemptAt = at;
  status.lastSuccessAt = at;
  status.failures = 0;
  delete status.lastError;
  delete status.lastErrorAt;
  setOrDelete(status, 'httpStatus', httpStatus);
  setOrDelete(status, 'entries', entries);
}

async function save(store: FeedSubscriptionStore, status: FeedStatus, feed: FeedSettings, at: number): Promise<void> {
  status.nextRunAt = nextRunAt(status, feed.intervalMinutes * MINUTE_MS, at);
  await store.saveStatus(status);
}

function setOrDelete<K extends 'etag' | 'lastModified' | 'httpStatus' | 'entries'>(
  status: FeedStatus,
  key: K,
  value: FeedStatus[K] | undefined,
): void {
  if (value === undefined) delete status[key];
  else status[key] = value;
}
