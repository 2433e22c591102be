/**
 * Agents' verdicts on numbers (`callscreen report`, POST /api/v1/feedback) in Redis.
 *
 * A report is two commands on two keys (on a Redis Cluster they live in different slots, so they
 * cannot share a script):
 *   1. EVALSHA of the feedback script on the number's bucket in the feedback source
 *      (<p>rep:feedback.<gen>:<bucket>, ./reputation-layout.ts): adds 1 to spam or ok, sets the last
 *      verdict and the first/last minute, atomically, and returns the new entry;
 *   2. XADD MAXLEN ~ 100000 to the audit stream <p>feedback: number, verdict, note, agent, host, at.
 * If the second fails after the first succeeded the verdict counts but has no audit entry; the error
 * is thrown all the same, so the caller sees it.
 *
 * The source table record of the feedback source is created on first use (HSETNX: a record someone
 * else wrote, e.g. with another generation, is never overwritten), and its gen and buckets are always
 * taken from the table, re-read at least every SOURCE_REFRESH_MS.
 */
import {
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
import type { FeedbackAuditEntry, FeedbackReport, FeedbackStore } from '../../ports/feedback-store';

/** approximate cap on the audit stream (XADD MAXLEN ~) */
export const FEEDBACK_STREAM_MAX_LENGTH = 100_000;
/** how many audit entries history() looks through at most, newest first */
const HISTORY_SCAN_LIMIT = 100_000;
const HISTORY_PAGE = 1_000;

type FeedbackCommand = (key: string, field: string, verdict: string, minute: string) => Promise<string>;

export class RedisFeedbackStore implements FeedbackStore {
  private readonly command: FeedbackCommand;
  private record: { value: SourceRecord; readAt: number } | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    const commands = redis as unknown as Record<string, unknown>;
    if (typeof commands[FEEDBACK_COMMAND] !== 'function')
      redis.defineCommand(FEEDBACK_COMMAND, { lua: FEEDBACK_LUA, numberOfKeys: 1 });
    this.command = (commands[FEEDBACK_COMMAND] as FeedbackCommand).bind(redis);
  }

  get streamKey(): string {
    return `${this.keyPrefix}feedback`;
  }

  async report(report: FeedbackReport): Promise<FeedbackEntry> {
    const source = await this.source();
    const field = numberField(report.e164);
    const value = await this.command(
      sourceBucketKey(this.keyPrefix, source, field),
      field,
      report.verdict === 'ok' ? 'o' : 's',
      String(Math.floor(report.at / 60_000)),
    );
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
    const source = await this.source();
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

  /** The feedback source's live record: created on first use, re-read at least every SOURCE_REFRESH_MS. */
  private async source(): Promise<SourceRecord> {
    const now = this.now();
    if (this.record && now - this.record.readAt < SOURCE_REFRESH_MS) return this.record.value;
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
      };
      await this.redis.hsetnx(key, FEEDBACK_SOURCE, JSON.stringify(fresh));
      json = await this.redis.hget(key, FEEDBACK_SOURCE); // whoever won the HSETNX
    }
    const { sources, problems } = parseSourceTable(json === null ? {} : { [FEEDBACK_SOURCE]: json });
    const record = sources[0];
    if (!record)
      throw new Error(
        `the source table has no usable record for "${FEEDBACK_SOURCE}"${problems.length ? `: ${problems.join('; ')}` : ''}`,
      );
    if (record.kind !== 'feedback')
      throw new Error(`source "${FEEDBACK_SOURCE}" in the source table is of kind ${record.kind}, not feedback`);
    this.record = { value: record, readAt: now };
    return record;
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
