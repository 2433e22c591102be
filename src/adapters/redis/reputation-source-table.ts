/**
 * The reputation sources a reader knows about: the source table (<p>rep:{meta}:sources, see
 * ./reputation-layout.ts) read at start and then every SOURCE_REFRESH_MS, so a feed that was
 * re-imported or a source that was added is consulted within a second. Between reads the last good
 * table is used; a read that fails keeps it (and is retried at the next tick). The table always has
 * the feedback source: the daemon's reader creates its record when it is missing; a read-only reader
 * (`callscreen check`) uses the same record in memory and writes nothing.
 *
 * With `watch` (the daemon), each read is also compared with what was expected (see
 * src/domain/vanished-sources.ts): a source table re-created empty, or a feed whose buckets are gone,
 * is reported to watch.onIncidents once, when found (and at the first read, the incidents still open
 * from before), and the new expectation to watch.onExpected when it changed. Buckets are probed every
 * BUCKET_PROBE_MS, not per read: EXISTS on the first few bucket keys of each feed source with numbers.
 */
import type { Logger } from 'pino';
import type { ReputationSourceList } from './redis-caller-history-store';
import type { RedisClient } from './redis-connection';
import {
  expectedSourcesText,
  watchSources,
  type ExpectedSources,
  type SourceWatchStep,
} from '../../domain/vanished-sources';
import { liveBlockFields } from './live-block-counts';
import {
  bucketKey,
  FEEDBACK_SOURCE,
  LIVE_BUCKETS,
  parseSourceTable,
  SOURCE_REFRESH_MS,
  sourcesKey,
  type SourceRecord,
} from './reputation-layout';

/** how often the buckets of feed sources are probed for a vanished list */
export const BUCKET_PROBE_MS = 60_000;
/** bucket keys probed per source: a feed's buckets each hold ~TARGET_PER_BUCKET numbers, so all of them empty means gone */
const PROBED_BUCKETS = 4;

export interface SourceTableOptions {
  /** write nothing: a missing feedback source record is assumed, not created */
  readOnly?: boolean;
  /** notice a vanished list (the daemon) */
  watch?: SourceTableWatch;
  /** the block size a feedback record created here counts (default none: the feedback store's, at its first report) */
  blockDigits?: number;
}

export interface SourceTableWatch {
  /** what was expected before the first read (the daemon's state file; nothing on a first start) */
  expected: ExpectedSources;
  /** the expectation changed: keep it where a Redis that loses its data cannot take it */
  onExpected?(expected: ExpectedSources): void;
  /** sources found vanished or back; at the first read also the ones still vanished from before */
  onIncidents?(step: SourceWatchStep): void;
  /** default BUCKET_PROBE_MS */
  bucketProbeMs?: number;
  /** default Date.now */
  now?(): number;
}

export class ReputationSourceTable implements ReputationSourceList {
  private current: readonly SourceRecord[] | undefined;
  private reading: Promise<readonly SourceRecord[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reported = '';
  private expected: ExpectedSources | undefined;
  private watchedOnce = false;
  private probedAt = Number.NEGATIVE_INFINITY;
  /** feed sources whose buckets were found gone: name -> the generation probed */
  private readonly bucketsGone = new Map<string, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger?: Logger,
    private readonly options: SourceTableOptions = {},
  ) {}

  /** the table as last read; the first call waits for a read */
  sources(): readonly SourceRecord[] | Promise<readonly SourceRecord[]> {
    return this.current ?? this.refresh();
  }

  /** read the table now (concurrent callers share one read) */
  refresh(): Promise<readonly SourceRecord[]> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** keep the table fresh in the background */
  start(intervalMs = SOURCE_REFRESH_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
    this.refresh().catch(() => undefined);
  }

  /** idempotent */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<readonly SourceRecord[]> {
    const key = sourcesKey(this.keyPrefix);
    const raw = await this.redis.hgetall(key);
    if (raw[FEEDBACK_SOURCE] === undefined) {
      // the feedback source exists before the first report: a call right after an agent's first ever
      // verdict must already read it (the store that writes it creates the record the same way, HSETNX)
      const record: Omit<SourceRecord, 'name'> = {
        kind: 'feedback',
        gen: 0,
        buckets: LIVE_BUCKETS,
        entries: 0,
        categories: [],
        importedAt: Date.now(),
        // empty, so its block counts are complete from the start; without a block size here, the
        // feedback store counts it (for its configured size) at the first report
        ...(this.options.blockDigits ? liveBlockFields(this.options.blockDigits) : {}),
      };
      if (this.options.readOnly) {
        // the same lookups as with the record written: no feedback yet, so its buckets are empty
        raw[FEEDBACK_SOURCE] = JSON.stringify(record);
      } else {
        await this.redis.hsetnx(key, FEEDBACK_SOURCE, JSON.stringify(record));
        raw[FEEDBACK_SOURCE] = (await this.redis.hget(key, FEEDBACK_SOURCE)) ?? JSON.stringify(record);
      }
    }
    const { sources, problems } = parseSourceTable(raw);
    const report = problems.join('; ');
    if (report !== this.reported) {
      this.reported = report;
      if (report) this.logger?.warn({ problems }, 'reputation source table: entries skipped');
    }
    const changed = this.current === undefined || describe(this.current) !== describe(sources);
    this.current = Object.freeze(sources.map((s) => Object.freeze(s)));
    if (changed)
      this.logger?.info(
        { sources: sources.map((s) => `${s.name}.${s.gen} (${s.kind}, ${s.entries} numbers)`) },
        'reputation sources',
      );
    if (this.options.watch) await this.watch(this.options.watch, sources);
    return this.current;
  }

  /** compare this read with the expectation; tell the watcher what changed */
  private async watch(watch: SourceTableWatch, sources: readonly SourceRecord[]): Promise<void> {
    const now = watch.now?.() ?? Date.now();
    if (now - this.probedAt >= (watch.bucketProbeMs ?? BUCKET_PROBE_MS)) {
      this.probedAt = now;
      await this.probeBuckets(sources);
    }
    const previous = this.expected ?? watch.expected;
    const step = watchSources(
      previous,
      {
        tableBornAt: sources.find((s) => s.name === FEEDBACK_SOURCE)?.importedAt,
        sources,
        bucketsMissing: new Set(sources.filter((s) => this.bucketsGone.get(s.name) === s.gen).map((s) => s.name)),
      },
      now,
    );
    this.expected = step.expected;
    const first = !this.watchedOnce;
    this.watchedOnce = true;
    if (first || expectedSourcesText(step.expected) !== expectedSourcesText(previous))
      watch.onExpected?.(step.expected);
    if (step.opened.length > 0 || step.resolved.length > 0 || (first && step.open.length > 0))
      watch.onIncidents?.(first ? { ...step, opened: step.open } : step);
  }

  /** EXISTS on the first bucket keys of each feed source with numbers; a failed probe changes nothing */
  private async probeBuckets(sources: readonly SourceRecord[]): Promise<void> {
    const feeds = sources.filter((s) => s.kind === 'feed' && s.entries > 0);
    try {
      const found = await Promise.all(
        feeds.map((s) =>
          this.redis.exists(
            ...Array.from({ length: Math.min(s.buckets, PROBED_BUCKETS) }, (_, b) =>
              bucketKey(this.keyPrefix, s.name, s.gen, b),
            ),
          ),
        ),
      );
      this.bucketsGone.clear();
      feeds.forEach((s, i) => {
        if (found[i] === 0) this.bucketsGone.set(s.name, s.gen);
      });
    } catch {
      // Redis not answering: the next probe tells
    }
  }
}

function describe(sources: readonly SourceRecord[]): string {
  return sources.map((s) => `${s.name}.${s.gen}.${s.buckets}.${s.entries}`).join(',');
}
