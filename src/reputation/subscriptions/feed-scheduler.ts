/**
 * The daemon's feed schedule: every CHECK_EVERY_MS it reads the feeds' shared statuses (one HGETALL),
 * hands them to `onStatuses` (the metrics), and runs each feed that is due (feed-schedule.ts) and whose
 * lock no runner holds, one feed after another. Running is the caller's: the daemon starts `callscreen
 * feeds update NAME` as a child process, so a download and a large import never share the event loop
 * with the calls, and the lock inside it keeps a feed to one runner across daemons and cron.
 *
 * Never on the call path, never throws: a Redis that does not answer, or a run that fails, is logged and
 * the next check tries again. close() stops the checks and the run in progress (its signal).
 */
import type { FeedSettings } from '../../config/feeds-schema';
import { errorText } from '../../errors/error-text';
import type { FeedStatus, FeedSubscriptionStore } from '../../ports/feed-subscriptions';
import type { Logger } from '../../ports/logger';
import type { FeedRunOutcome } from './feed-runner';
import { isDue, MINUTE_MS, retryDelayMs } from './feed-schedule';

export const CHECK_EVERY_MS = MINUTE_MS;
/** the first check, a little after the start (the daemon connects first) */
export const FIRST_CHECK_MS = 5_000;

export interface FeedSchedulerOptions {
  feeds: readonly FeedSettings[];
  store: Pick<FeedSubscriptionStore, 'statuses' | 'lockHeld'>;
  /** fetch one feed; undefined when its outcome is not known (the runner said nothing) */
  run: (feed: FeedSettings, signal: AbortSignal) => Promise<FeedRunOutcome | undefined>;
  logger: Logger;
  /** every feed's status, after each check and each run */
  onStatuses?: (statuses: ReadonlyMap<string, FeedStatus>) => void;
  /** a run this daemon started ended */
  onRun?: (feed: string, outcome: FeedRunOutcome['outcome'] | 'unknown') => void;
  now?: () => number;
  checkEveryMs?: number;
  firstCheckMs?: number;
}

export class FeedScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly now: () => number;
  /**
   * runs that ended without an outcome (the runner failed before it could record one, so the shared
   * status does not move): retried after the same growing delay as a failed fetch, not every check
   */
  private readonly unrecorded = new Map<string, { failures: number; notBefore: number }>();

  constructor(private readonly options: FeedSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule(this.options.firstCheckMs ?? FIRST_CHECK_MS);
  }

  /** One check: read the statuses, run the feeds that are due. Resolves when their runs have ended. */
  tick(): Promise<void> {
    this.running ??= this.check().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.stop.abort(new Error('the daemon is closing'));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stop.signal.aborted) return;
    this.timer = setTimeout(() => {
      void this.tick().then(() => this.schedule(this.options.checkEveryMs ?? CHECK_EVERY_MS));
    }, delayMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const { feeds, logger } = this.options;
    let statuses = await this.readStatuses();
    if (!statuses) return;
    for (const feed of feeds) {
      if (this.stop.signal.aborted) return;
      const intervalMs = feed.intervalMinutes * MINUTE_MS;
      if (!isDue(statuses.get(feed.name), intervalMs, this.now())) continue;
      const held = this.unrecorded.get(feed.name);
      if (held && held.notBefore > this.now()) continue;
      try {
        if (await this.options.store.lockHeld(feed.name)) continue; // another runner is on it
      } catch (e) {
        logger.debug({ feed: feed.name, err: errorText(e) }, 'feeds: lock not readable; next check in a minute');
        return;
      }
      let outcome: FeedRunOutcome | undefined;
      try {
        outcome = await this.options.run(feed, this.stop.signal);
      } catch (e) {
        logger.warn({ feed: feed.name, err: errorText(e) }, 'feeds: the update could not run; next check in a minute');
      }
      this.options.onRun?.(feed.name, outcome?.outcome ?? 'unknown');
      if (outcome) this.unrecorded.delete(feed.name);
      else {
        const failures = (held?.failures ?? 0) + 1;
        this.unrecorded.set(feed.name, { failures, notBefore: this.now() + retryDelayMs(failures, intervalMs) });
      }
      statuses = (await this.readStatuses()) ?? statuses;
    }
  }

  private async readStatuses(): Promise<Map<string, FeedStatus> | undefined> {
    try {
      const statuses = await this.options.store.statuses();
      this.options.onStatuses?.(statuses);
      return statuses;
    } catch (e) {
      this.options.logger.debug({ err: errorText(e) }, 'feeds: statuses not readable; next check in a minute');
      return undefined;
    }
  }
}
