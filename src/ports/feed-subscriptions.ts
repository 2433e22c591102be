/**
 * What feed subscriptions (src/reputation/subscriptions/) need of the shared store: each feed's status,
 * a lock so that one runner at a time fetches a feed when several daemons (and cron) share a Redis, and
 * the reputation list a download is imported into. Implemented on Redis by
 * src/adapters/redis/redis-feed-subscriptions.ts.
 */
import type { PackedEntries } from '../domain/reputation-entry';

/** What happened the last time a feed was fetched (shared by every runner on the store). */
export interface FeedStatus {
  name: string;
  /** epoch ms of the last fetch that ended (imported, unchanged, refused or failed) */
  lastAttemptAt?: number;
  /** epoch ms of the last fetch that imported the feed or found it unchanged */
  lastSuccessAt?: number;
  /** epoch ms of the last import (a new generation) */
  lastImportAt?: number;
  /** the last failure or refusal, while it is the latest outcome; absent after a success */
  lastError?: string;
  /** epoch ms of lastError */
  lastErrorAt?: number;
  /** failures and refusals in a row since the last success */
  failures: number;
  /** numbers in the live generation the feed imported */
  entries?: number;
  /** the HTTP status of the last answer (304: unchanged) */
  httpStatus?: number;
  /** validators of the imported download, sent back as If-None-Match / If-Modified-Since */
  etag?: string;
  lastModified?: string;
  /** epoch ms the runner that last fetched it plans the next fetch */
  nextRunAt?: number;
  /** the host that fetched it last */
  host?: string;
}

/** A held lock: extend it while the work goes on, release it when done (only the holder's token can). */
export interface FeedLease {
  readonly token: string;
  /** false when the lock expired meanwhile and another runner holds it now */
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

/** The result of importing a download as a new generation of the source. */
export interface FeedImportResult {
  entries: number;
  added: number | undefined;
  removed: number | undefined;
  gen: number;
}

export interface FeedSubscriptionStore {
  /** every feed's status, by name (feeds never fetched are absent) */
  statuses(): Promise<Map<string, FeedStatus>>;
  status(name: string): Promise<FeedStatus | undefined>;
  saveStatus(status: FeedStatus): Promise<void>;
  /** the lock for one feed, or undefined while another runner holds it */
  tryLock(name: string, ttlMs: number): Promise<FeedLease | undefined>;
  /** whether a runner holds the feed's lock now */
  lockHeld(name: string): Promise<boolean>;
  /** numbers in the source's live generation; undefined when there is none */
  liveEntries(source: string): Promise<number | undefined>;
  /** write the entries as a new generation of the source and switch to it atomically */
  importGeneration(
    source: string,
    origin: string,
    entries: PackedEntries,
    categories: string[],
  ): Promise<FeedImportResult>;
}
