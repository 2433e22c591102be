/**
 * CallLog on a Redis stream: XADD with an approximate MAXLEN cap, so the log stays bounded by count.
 * Each entry has a few flat fields for filtering (verdict, caller, did) and the whole record as JSON.
 *
 * Retention by age (data protection): startRetention() trims entries older than maxAgeDays once at
 * start and then every minute with XTRIM MINID. The trim is exact, not `~`: an approximate trim only
 * removes whole stream nodes (up to 100 entries each), and on a quiet line one node can span days, so
 * entries would outlive the promised age by that much. An exact MINID trim costs what it deletes (the
 * entries that aged out since the last run), which every minute is little.
 *
 * Reading (the `callscreen log` command): ranges by stream id, whose millisecond part is the append
 * time, so a time range is an XRANGE bound instead of a scan; batches of 1000 with an exclusive start.
 */
import type { RedisClient } from './redis-connection';
import type {
  CallLog,
  CallLogReader,
  IdRange,
  LoggedCall,
  ReadOptions,
  ScreenedCallRecord,
} from '../../ports/call-log';
import { describePhoneNumber } from '../../domain/phone-number';

const DAY_MS = 86_400_000;
const DEFAULT_BATCH = 1000;
export const RETENTION_INTERVAL_MS = 60_000;

export interface CallLogRetention {
  /** entries older than this are trimmed by startRetention() and prune() */
  maxAgeDays: number;
  /** how often the age trim runs (default 60 s) */
  intervalMs?: number;
  /** a trim that failed (Redis down): the next run tries again */
  onError?: (e: unknown) => void;
  /** a trim that removed entries */
  onTrimmed?: (removed: number) => void;
  /** ms since the epoch (tests) */
  now?: () => number;
}

export interface PruneResult {
  /** entries older than maxAgeDays */
  byAge: number;
  /** entries over maxLength (the oldest) */
  byCount: number;
  /** entries left */
  left: number;
}

type StreamEntry = [id: string, fields: string[]];

/** The fields one entry is written with (XADD ... <fields>). */
export function entryFields(record: ScreenedCallRecord): string[] {
  return [
    'verdict',
    record.decision.verdict,
    'caller',
    describePhoneNumber(record.decision.caller),
    'did',
    describePhoneNumber(record.decision.did),
    'record',
    JSON.stringify(record),
  ];
}

export class RedisCallLog implements CallLog, CallLogReader {
  readonly key: string;
  private timer: NodeJS.Timeout | undefined;
  private trimming: Promise<unknown> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    stream: string,
    private readonly maxLength: number,
    private readonly retention?: CallLogRetention,
  ) {
    this.key = `${keyPrefix}${stream}`;
  }

  async append(record: ScreenedCallRecord): Promise<void> {
    await this.redis.xadd(this.key, 'MAXLEN', '~', String(this.maxLength), '*', ...entryFields(record));
  }

  async recent(count: number): Promise<ScreenedCallRecord[]> {
    const entries = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count)) as StreamEntry[];
    const records: ScreenedCallRecord[] = [];
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (parsed) records.push(parsed.record);
    }
    return records;
  }

  // ---- retention ----

  private now(): number {
    return this.retention?.now?.() ?? Date.now();
  }

  /** Stream id below which entries are older than maxAgeDays. */
  private cutoffId(): string {
    if (!this.retention) throw new Error('RedisCallLog: no retention configured');
    return `${Math.max(0, Math.floor(this.now() - this.retention.maxAgeDays * DAY_MS))}-0`;
  }

  /** Remove every entry older than maxAgeDays (exact). Resolves with how many went. */
  async trimByAge(): Promise<number> {
    return Number(await this.redis.xtrim(this.key, 'MINID', this.cutoffId()));
  }

  /** Apply both limits now, exactly: age first, then the count cap. */
  async prune(): Promise<PruneResult> {
    const byAge = await this.trimByAge();
    const byCount = Number(await this.redis.xtrim(this.key, 'MAXLEN', String(this.maxLength)));
    const left = Number(await this.redis.xlen(this.key));
    return { byAge, byCount, left };
  }

  /** Trim by age now and then every intervalMs until close(). Idempotent. */
  startRetention(): void {
    if (this.timer || this.closing || !this.retention) return;
    const run = (): void => {
      if (this.trimming) return; // the last run still waits on Redis
      this.trimming = this.trimByAge()
        .then((removed) => removed > 0 && this.retention?.onTrimmed?.(removed))
        .catch((e: unknown) => this.retention?.onError?.(e))
        .finally(() => {
          this.trimming = undefined;
        });
    };
    this.timer = setInterval(run, this.retention.intervalMs ?? RETENTION_INTERVAL_MS);
    this.timer.unref();
    run();
  }

  /** Stop the retention job (waits for a trim in flight). Idempotent; the connection stays the caller's. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await this.trimming;
    })();
    return this.closing;
  }

  // ---- reading ----

  entries(range: IdRange, options: ReadOptions = {}): AsyncGenerator<LoggedCall> {
    return this.pages(range, options, 'oldest');
  }

  entriesNewestFirst(range: IdRange, options: ReadOptions = {}): AsyncGenerator<LoggedCall> {
    return this.pages(range, options, 'newest');
  }

  /** the range page by page (XRANGE or XREVRANGE, COUNT batchSize), each page starting after the last entry seen */
  private async *pages(range: IdRange, options: ReadOptions, first: 'oldest' | 'newest'): AsyncGenerator<LoggedCall> {
    const batch = options.batchSize ?? DEFAULT_BATCH;
    let { start, end } = range;
    for (;;) {
      const page = (
        first === 'oldest'
          ? await this.redis.xrange(this.key, start, end, 'COUNT', batch)
          : await this.redis.xrevrange(this.key, end, start, 'COUNT', batch)
      ) as StreamEntry[];
      for (const entry of page) {
        const parsed = parseEntry(entry);
        if (parsed) yield parsed;
        else options.onUnreadable?.(entry[0]);
      }
      const last = page[page.length - 1];
      if (page.length < batch || !last) return;
      if (first === 'oldest') start = `(${last[0]}`;
      else end = `(${last[0]}`;
    }
  }

  async readAfter(
    afterId: string,
    blockMs: number,
    count = DEFAULT_BATCH,
    options: Pick<ReadOptions, 'onUnreadable'> = {},
  ): Promise<{ calls: LoggedCall[]; lastId: string }> {
    const reply = (await this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, afterId)) as Array<
      [string, StreamEntry[]]
    > | null;
    const calls: LoggedCall[] = [];
    let lastId = afterId;
    for (const [, entries] of reply ?? []) {
      for (const entry of entries) {
        lastId = entry[0]; // an unreadable entry moves the reader on all the same
        const parsed = parseEntry(entry);
        if (parsed) calls.push(parsed);
        else options.onUnreadable?.(entry[0]);
      }
    }
    return { calls, lastId };
  }

  async lastId(): Promise<string> {
    const newest = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as StreamEntry[];
    return newest[0]?.[0] ?? '0-0';
  }
}

function parseEntry([id, fields]: StreamEntry): LoggedCall | undefined {
  const at = fields.indexOf('record');
  const json = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
  if (!json) return undefined;
  try {
    const record = JSON.parse(json) as ScreenedCallRecord;
    if (
      typeof record !== 'object' ||
      record === null ||
      typeof record.decision !== 'object' ||
      record.decision === null
    )
      return undefined;
    return { id, record };
  } catch {
    return undefined;
  }
}
