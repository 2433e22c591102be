/**
 * Agents' verdicts on numbers (`callscreen report`, POST /api/v1/feedback) in Redis.
 *
 * A report is two commands on two keys (on a Redis Cluster they live in different slots, so they
 * cannot share a script):
 *   1. EVALSHA of the feedback script on the number's bucket in the feedback source
 *      (<p>rep:feedback.<gen>:<bucket>, ./reputation-layout.ts): adds 1 to spam or ok, sets the last
 *      verdict and the first/last minute, moves the number's block count when the last verdict turns
 *      spam or ok, atomically, and returns the new entry (on a Cluster the block count is a separate
 *      command right after: ./feedback-script.ts);
 *   2. XADD MAXLEN ~ 100000 to the audit stream <p>feedback: number, verdict, note, agent, host, at.
 * If the second fails after the first succeeded the verdict counts but has no audit entry; the error
 * is thrown all the same, so the caller sees it.
 *
 * The source table record of the feedback source is created on first use (HSETNX: a record someone
 * else wrote, e.g. with another generation, is never overwritten), with block counts; its gen and
 * buckets are always taken from the table, re-read at least every SOURCE_REFRESH_MS (and at once when
 * the script finds it changed). A record without block counts (written before they existed) is
 * counted once, at the first report (./live-block-counts.ts; single Redis only).
 */
import {
  blockTarget,
  BlockCountScripts,
  liveBlockFields,
  rebuildBlockCounts,
  scriptCommand,
  type ReadRecord,
} from './live-block-counts';
import {
  DEFAULT_BLOCK_DIGITS,
  FEEDBACK_SOURCE,
  LIVE_BUCKETS,
  SOURCE_REFRESH_MS,
  numberField,
  parseSourceTable,
  sourceBucketKey,
  sourcesKey,
  type SourceRecord,
} from './reputation-layout';
import { decodeFeedbackEntry, type FeedbackEntry } from '../../domain/reputation-entry';
import { FEEDBACK_COMMAND, FEEDBACK_LUA } from './feedback-script';
import type { RedisClient } from './redis-connection';
import type {
  FeedbackAuditEntry,
  FeedbackAuditReader,
  FeedbackReport,
  FeedbackStore,
} from '../../ports/feedback-store';

/** approximate cap on the audit stream (XADD MAXLEN ~) */
export const FEEDBACK_STREAM_MAX_LENGTH = 100_000;
/** how many audit entries history() looks through at most, newest first */
const HISTORY_SCAN_LIMIT = 100_000;
const HISTORY_PAGE = 1_000;

type FeedbackCommand = (...args: Array<string | number>) => Promise<string[]>;
/** a report whose source record keeps changing under it gives up after this many reads */
const MAX_REPORT_ATTEMPTS = 5;

export class RedisFeedbackStore implements FeedbackStore, FeedbackAuditReader {
  private readonly command: FeedbackCommand;
  private readonly blocks: BlockCountScripts;
  private record: { value: ReadRecord; readAt: number } | undefined;

  /** blockDigits: the block size a feedback source created (or first counted) here counts; 0 none */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly now: () => number = Date.now,
    private readonly blockDigits: number = DEFAULT_BLOCK_DIGITS,
  ) {
    this.command = scriptCommand(redis, FEEDBACK_COMMAND, FEEDBACK_LUA) as FeedbackCommand;
    this.blocks = new BlockCountScripts(redis);
  }

  get streamKey(): string {
    return `${this.keyPrefix}feedback`;
  }

  async report(report: FeedbackReport): Promise<FeedbackEntry> {
    const field = numberField(report.e164);
    let value: string | undefined;
    for (let attempt = 0; value === undefined; attempt++) {
      if (attempt >= MAX_REPORT_ATTEMPTS)
        throw new Error(`the record of source "${FEEDBACK_SOURCE}" kept changing while a verdict was stored`);
      const read = await this.source(attempt > 0);
      const block = blockTarget(this.keyPrefix, read.record, report.e164);
      const bucket = sourceBucketKey(this.keyPrefix, read.record, field);
      const cluster = this.blocks.cluster;
      const keys = cluster ? [bucket] : [bucket, sourcesKey(this.keyPrefix), ...(block ? [block.key] : [])];
      const reply = await this.command(
        keys.length,
        ...keys,
        field,
        report.verdict === 'ok' ? 'o' : 's',
        String(Math.floor(report.at / 60_000)),
        FEEDBACK_SOURCE,
        cluster ? '' : read.json,
        block?.field ?? '',
      );
      if (reply[0] !== 'ok') continue;
      value = reply[1] ?? '';
      await this.blocks.addOnCluster(block, reply[2]);
    }
    const entry = decodeFeedbackEntry(value);
    if (!entry) throw new Error(`feedback script returned an unreadable entry ${JSON.stringify(value)}`);
    await this.redis.xadd(
      this.streamKey,
      'MAXLEN',
      '~',
      String(FEEDBACK_STREAM_MAX_LENGTH),
      '*',
      'number',
      report.e164,
      'verdict',
      report.verdict,
      'note',
      report.note ?? '',
      'agent',
      report.agent ?? '',
      'host',
      report.host,
      'at',
      String(report.at),
    );
    return entry;
  }

  async lookup(e164: string): Promise<FeedbackEntry | null> {
    const source = (await this.source()).record;
    const field = numberField(e164);
    const value = await this.redis.hget(sourceBucketKey(this.keyPrefix, source, field), field);
    return value === null ? null : decodeFeedbackEntry(value);
  }

  /** The number's audit entries, newest first (looks through the newest HISTORY_SCAN_LIMIT entries). */
  async history(e164: string, limit: number): Promise<FeedbackAuditEntry[]> {
    const found: FeedbackAuditEntry[] = [];
    let end = '+';
    for (let scanned = 0; scanned < HISTORY_SCAN_LIMIT && found.length < limit;) {
      const page = await this.redis.xrevrange(this.streamKey, end, '-', 'COUNT', HISTORY_PAGE);
      for (const [id, fields] of page) {
        const entry = auditEntry(id, fields);
        if (entry?.e164 === e164) found.push(entry);
        if (found.length >= limit) break;
      }
      scanned += page.length;
      const last = page[page.length - 1];
      if (page.length < HISTORY_PAGE || !last) break;
      end = `(${last[0]}`;
    }
    return found;
  }

  /**
   * The audit stream in a time range, oldest first: XRANGE by the ids' millisecond part (the append
   * time), a page of batchSize per round trip, each page starting after the last id seen.
   */
  async *auditEntries(
    range: { fromMs: number; toMs?: number },
    batchSize = HISTORY_PAGE,
  ): AsyncGenerator<FeedbackAuditEntry> {
    let start = String(Math.max(0, Math.ceil(range.fromMs)));
    const end = range.toMs === undefined ? '+' : String(Math.max(0, Math.floor(range.toMs)));
    for (;;) {
      const page = await this.redis.xrange(this.streamKey, start, end, 'COUNT', batchSize);
      for (const [id, fields] of page) {
        const entry = auditEntry(id, fields);
        if (entry) yield entry;
      }
      const last = page[page.length - 1];
      if (page.length < batchSize || !last) return;
      start = `(${last[0]}`;
    }
  }

  /**
   * The feedback source's live record: created on first use, re-read at least every SOURCE_REFRESH_MS
   * (at once with `fresh`); counted once when it has no block counts (single Redis).
   */
  private async source(fresh = false): Promise<ReadRecord> {
    const now = this.now();
    if (!fresh && this.record && now - this.record.readAt < SOURCE_REFRESH_MS) return this.record.value;
    let read = await this.readSource(now);
    if (read.record.blockDigits === undefined && this.blockDigits > 0 && !this.blocks.cluster) {
      await rebuildBlockCounts(this.redis, this.keyPrefix, read, this.blockDigits);
      read = await this.readSource(now);
    }
    this.record = { value: read, readAt: now };
    return read;
  }

  private async readSource(now: number): Promise<ReadRecord> {
    const key = sourcesKey(this.keyPrefix);
    let json = await this.redis.hget(key, FEEDBACK_SOURCE);
    if (json === null) {
      const fresh: Omit<SourceRecord, 'name'> = {
        kind: 'feedback',
        gen: 0,
        buckets: LIVE_BUCKETS,
        entries: 0,
        categories: [],
        importedAt: now,
        ...liveBlockFields(this.blockDigits),
      };
      await this.redis.hsetnx(key, FEEDBACK_SOURCE, JSON.stringify(fresh));
      json = await this.redis.hget(key, FEEDBACK_SOURCE); // whoever won the HSETNX
    }
    const { sources, problems } = parseSourceTable(json === null ? {} : { [FEEDBACK_SOURCE]: json });
    const record = sources[0];
    if (!record || json === null)
      throw new Error(
        `the source table has no usable record for "${FEEDBACK_SOURCE}"${problems.length ? `: ${problems.join('; ')}` : ''}`,
      );
    if (record.kind !== 'feedback')
      throw new Error(`source "${FEEDBACK_SOURCE}" in the source table is of kind ${record.kind}, not feedback`);
    return { record, json };
  }
}

function auditEntry(id: string, fields: string[]): FeedbackAuditEntry | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const verdict = map.get('verdict');
  const e164 = map.get('number');
  if (!e164 || (verdict !== 'spam' && verdict !== 'ok')) return undefined;
  return {
    id,
    e164,
    verdict,
    note: map.get('note') ?? '',
    agent: map.get('agent') ?? '',
    host: map.get('host') ?? '',
    at: Number(map.get('at') ?? 0),
  };
}
