/**
 * When a feed is fetched next, from its shared status (src/ports/feed-subscriptions.ts): every runner
 * on the same Redis reads the same status, so a fetch by one daemon or by cron postpones the others'.
 * Pure: no I/O, no clock of its own.
 *
 *   never fetched              now
 *   last fetch succeeded       last attempt + interval
 *   last fetch(es) failed      last attempt + 5 min x 2^(failures - 1), at most the interval
 *
 * A runner whose clock is ahead of this one's delays the next fetch by at most the difference.
 */
import type { FeedStatus } from '../../ports/feed-subscriptions';

export const MINUTE_MS = 60_000;
/** the first retry after a failure; doubled for each further failure in a row */
export const RETRY_BASE_MS = 5 * MINUTE_MS;

export function retryDelayMs(failures: number, intervalMs: number): number {
  if (failures <= 0) return intervalMs;
  return Math.min(intervalMs, RETRY_BASE_MS * 2 ** Math.min(failures - 1, 20));
}

export function nextRunAt(status: FeedStatus | undefined, intervalMs: number, now: number): number {
  const last = status?.lastAttemptAt;
  if (last === undefined || !Number.isFinite(last)) return now;
  return last + retryDelayMs(status?.failures ?? 0, intervalMs);
}

export function isDue(status: FeedStatus | undefined, intervalMs: number, now: number): boolean {
  return nextRunAt(status, intervalMs, now) <= now;
}
