/**
 * The reputation sources a reader knows about: the source table (<p>rep:{meta}:sources, see
 * ./reputation-layout.ts) read at start and then every SOURCE_REFRESH_MS, so a feed that was
 * re-imported or a source that was added is consulted within a second. Between reads the last good
 * table is used; a read that fails keeps it (and is retried at the next tick). The table always has
 * the feedback source: the daemon's reader creates its record when it is missing; a read-only reader
 * (`callscreen check`) uses the same record in memory and writes nothing.
 */
import type { Logger } from 'pino';
import type { ReputationSourceList } from './redis-caller-history-store';
import type { RedisClient } from './redis-connection';
import {
  FEEDBACK_SOURCE,
  LIVE_BUCKETS,
  parseSourceTable,
  SOURCE_REFRESH_MS,
  sourcesKey,
  type SourceRecord,
} from './reputation-layout';

export interface SourceTableOptions {
  /** write nothing: a missing feedback source record is assumed, not created */
  readOnly?: boolean;
}

export class ReputationSourceTable implements ReputationSourceList {
  private current: readonly SourceRecord[] | undefined;
  private reading: Promise<readonly SourceRecord[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reported = '';

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
    return this.current;
  }
}

function describe(sources: readonly SourceRecord[]): string {
  return sources.map((s) => `${s.name}.${s.gen}.${s.buckets}.${s.entries}`).join(',');
}
