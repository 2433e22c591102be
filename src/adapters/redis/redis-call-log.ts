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
 *
 * Every entry read back goes through decodeEntry: anything in the stream that is not a record as the
 * daemon writes it (an XADD by hand, a truncated write, an older or foreign writer) is skipped and
 * reported through onUnreadable, never thrown, so one bad entry can neither stop a read nor pass as a
 * Redis failure, and whatever the readers do with a record (tables, CSV, the console) can rely on its shape.
 */
import { callCountOf, HOUR_MS, type HourTally } from '../../domain/call-counts';
import type { RedisClient } from './redis-connection';
import type {
  CallLog,
  CallLogReader,
  IdRange,
  LoggedCall,
  ReadOptions,
  ScreenedCallRecord,
} from '../../ports/call-log';
import { VERDICTS } from '../../domain/decision';
import { describePhoneNumber } from '../../domain/phone-number';
import { CAPTCHA_OUTCOMES } from '../../ports/call-log';

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

/**
 * How long a written record is remembered so that writing it again adds nothing: a retry after a lost
 * answer comes within seconds, a record spilled to a file at shutdown comes back at the next start.
 */
export const WRITTEN_WINDOW_MS = 3_600_000;

/** how long an hour's counts are kept: the summary's longest window (a week) and a day to spare */
export const COUNT_TTL_HOURS = 8 * 24;
/** spam callers kept per hour for the summary's top list */
export const TOP_SPAM_PER_HOUR = 50;

/**
 * XADD once per record, in one script so that nothing can come between the check and the write:
 *
 *   KEYS[1]  the stream          KEYS[2]  the records written in the last hour (sorted set, id -> ms)
 *   ARGV[1]  the record's writtenId      ARGV[2]  now (ms, from the writer: never Redis TIME)
 *   ARGV[3]  forget ids written before this ms   ARGV[4]  the set's time to live (ms)
 *   ARGV[5]  MAXLEN ~ of the stream      ARGV[6..]  the entry's fields
 *
 * Returns 1 when the entry was added, 0 when the record had been written already. replicate_commands
 * makes Redis 5 and 6 replicate the effects (XADD '*' picks an id), as Redis 7 always does.
 */
export const APPEND_ONCE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 6))
return 1
`;

/** The name the script is registered under with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT). */
export const APPEND_ONCE_COMMAND = 'callscreenCallLogAppend';

type AppendOnceCommand = (...keysAndArgs: string[]) => Promise<number>;

/**
 * What tells one record from every other: the call's id (Asterisk's channel id) and the time of its
 * decision, so that a channel id reused by another Asterisk or after a restart is still another record.
 */
export function writtenId(record: Pick<ScreenedCallRecord, 'callId' | 'at'>): string {
  return `${record.callId}@${record.at}`;
}

/** true when Redis Cluster hashes only a part of the key: a `{` followed later by a `}` with something between */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open < 0) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * The longest record field read back, in characters. The daemon writes a few KB per call; this leaves
 * room for any caller name a SIP message can carry, and keeps a hostile entry from being parsed whole.
 */
export const MAX_RECORD_CHARS = 1024 * 1024;
/**
 * The deepest nesting of objects and lists a record may have. The daemon's records go 6 deep; a deeper
 * value, even in a field no reader looks at, would overflow the stack of JSON.stringify (`--json`).
 */
export const MAX_RECORD_DEPTH = 32;

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
  /** the counted-since mark has been sent (SET NX) by this object */
  private countingMarked = false;
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

  /**
   * Adds the record once: a write whose answer was lost (a command timeout after Redis ran it) can be
   * sent again, and the second one adds nothing (APPEND_ONCE_LUA). Resolves true when the record was
   * added, false when it was already in the log.
   */
  async append(record: ScreenedCallRecord): Promise<boolean> {
    const now = this.now();
    const added = await this.appendOnce(
      this.key,
      this.writtenKey,
      writtenId(record),
      String(now),
      String(now - WRITTEN_WINDOW_MS),
      String(WRITTEN_WINDOW_MS),
      String(this.maxLength),
      ...entryFields(record),
    );
    if (Number(added) !== 1) return false;
    await this.count(record, now);
    return true;
  }

  /**
   * The record's contribution to its hour's counts (the console's summary): a hash of counts per verdict and
   * CAPTCHA outcome, and a sorted set of spam callers, each kept COUNT_TTL_HOURS. Counted only when the record
   * was added (a second append of it adds nothing). Best effort: the record is in the log whatever happens
   * here, and a count that fails is lost, not retried (the summary is a view, the log is the record).
   */
  private async count(record: ScreenedCallRecord, nowMs: number): Promise<void> {
    try {
      const at = Date.parse(record.at);
      const c = callCountOf(record.decision, record.captcha?.outcome, Number.isNaN(at) ? nowMs : at);
      const hourKey = `${this.key}:hour:${c.hour}`;
      const ttl = COUNT_TTL_HOURS * 3600;
      // the hour counting began in, by the clock entries are appended by (their stream ids): the summary reads
      // that hour and the ones before from the entries, and the later ones, complete, from the counts
      const multi = this.redis.pipeline();
      // once per log object: NX keeps the first mark, so later appends need not send it again
      if (!this.countingMarked) multi.set(`${this.key}:counted-since`, String(Math.floor(nowMs / HOUR_MS)), 'NX');
      multi.hincrby(hourKey, `v:${c.verdict}`, 1);
      if (c.captcha) multi.hincrby(hourKey, `c:${c.captcha}`, 1);
      multi.expire(hourKey, ttl);
      if (c.spamCaller !== undefined) {
        const spamKey = `${this.key}:spam:${c.hour}`;
        multi.zincrby(spamKey, 1, c.spamCaller).expire(spamKey, ttl);
      }
      await multi.exec();
      this.countingMarked = true;
    } catch {
      // best effort (see above): the record is logged
    }
  }

  /** The first hour (epoch ms / HOUR_MS) whose calls were counted as they were logged; undefined: none yet. */
  async countedSince(): Promise<number | undefined> {
    const value = await this.redis.get(`${this.key}:counted-since`);
    const hour = Number(value);
    return value !== null && Number.isSafeInteger(hour) ? hour : undefined;
  }

  /**
   * The counts of `hours` hours from `firstHour` (epoch ms / HOUR_MS), oldest first, with each hour's
   * TOP_SPAM_PER_HOUR spam callers: a fixed number of small reads whatever the number of calls.
   */
  async hourTallies(firstHour: number, hours: number): Promise<HourTally[]> {
    const pipeline = this.redis.pipeline();
    for (let h = firstHour; h < firstHour + hours; h++)
      pipeline
        .hgetall(`${this.key}:hour:${h}`)
        .zrevrange(`${this.key}:spam:${h}`, 0, TOP_SPAM_PER_HOUR - 1, 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    const tallies: HourTally[] = [];
    for (let i = 0; i < hours; i++) {
      const [hashError, hash] = replies[2 * i] ?? [null, {}];
      const [spamError, spam] = replies[2 * i + 1] ?? [null, []];
      if (hashError) throw hashError;
      if (spamError) throw spamError;
      const fields = (hash ?? {}) as Record<string, string>;
      const n = (field: string): number => Number(fields[field] ?? 0) || 0;
      const pairs = (spam ?? []) as string[];
      const spamCallers: HourTally['spamCallers'] = [];
      for (let j = 0; j + 1 < pairs.length; j += 2)
        spamCallers.push({ number: pairs[j] as string, calls: Number(pairs[j + 1]) || 0 });
      tallies.push({
        hour: firstHour + i,
        verdicts: {
          allow: n('v:allow'),
          challenge: n('v:challenge'),
          voicemail: n('v:voicemail'),
          reject: n('v:reject'),
        },
        captcha: { passed: n('c:passed'), failed: n('c:failed'), other: n('c:other') },
        spamCallers,
      });
    }
    return tallies;
  }

  /**
   * The sorted set of the records written in the last WRITTEN_WINDOW_MS (writtenId -> ms). On a Cluster
   * it must live in the stream's hash slot (the script touches both): it carries the stream key's hash
   * tag, or the whole stream key as its tag when that has none (the slot of a key without a tag is the
   * hash of the whole key).
   */
  get writtenKey(): string {
    if ((this.redis as { isCluster?: boolean }).isCluster !== true || hasHashTag(this.key))
      return `${this.key}:written`;
    return `{${this.key}}:written`;
  }

  /** the script, registered with the client on the first append (readers never need it) */
  private get appendOnce(): AppendOnceCommand {
    const commands = this.redis as unknown as Record<string, unknown>;
    if (typeof commands[APPEND_ONCE_COMMAND] !== 'function')
      this.redis.defineCommand(APPEND_ONCE_COMMAND, { lua: APPEND_ONCE_LUA, numberOfKeys: 2 });
    return (commands[APPEND_ONCE_COMMAND] as AppendOnceCommand).bind(this.redis);
  }

  async recent(count: number): Promise<ScreenedCallRecord[]> {
    const entries = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count)) as StreamEntry[];
    const records: ScreenedCallRecord[] = [];
    for (const [id, fields] of entries) {
      const decoded = decodeEntry(id, fields);
      if (decoded.ok) records.push(decoded.call.record);
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

  /**
   * the range page by page (XRANGE or XREVRANGE, COUNT batchSize), each page starting after the last entry seen;
   * the next page is asked for before this one is decoded, so Redis sends it while the records are parsed
   */
  private async *pages(range: IdRange, options: ReadOptions, first: 'oldest' | 'newest'): AsyncGenerator<LoggedCall> {
    const batch = options.batchSize ?? DEFAULT_BATCH;
    let { start, end } = range;
    const read = (): Promise<StreamEntry[]> => {
      const request =
        first === 'oldest'
          ? this.redis.xrange(this.key, start, end, 'COUNT', batch)
          : this.redis.xrevrange(this.key, end, start, 'COUNT', batch);
      const page = request as Promise<StreamEntry[]>;
      page.catch(() => undefined); // a reader that stops early never awaits the page read ahead
      return page;
    };
    let next = read();
    for (;;) {
      const page = await next;
      const last = page[page.length - 1];
      const more = page.length >= batch && last !== undefined;
      if (more) {
        if (first === 'oldest') start = `(${last[0]}`;
        else end = `(${last[0]}`;
        next = read();
      }
      for (const [id, fields] of page) {
        const decoded = decodeEntry(id, fields);
        if (decoded.ok) yield decoded.call;
        else options.onUnreadable?.(id, decoded.problem);
      }
      if (!more) return;
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
      for (const [id, fields] of entries) {
        lastId = id; // an unreadable entry moves the reader on all the same
        const decoded = decodeEntry(id, fields);
        if (decoded.ok) calls.push(decoded.call);
        else options.onUnreadable?.(id, decoded.problem);
      }
    }
    return { calls, lastId };
  }

  async lastId(): Promise<string> {
    const newest = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as StreamEntry[];
    return newest[0]?.[0] ?? '0-0';
  }
}

// ---- decoding what is read back ----

/** One stream entry read back: a call, or what is wrong with it (the entry is then skipped). */
export type DecodedEntry = { ok: true; call: LoggedCall } | { ok: false; problem: string };

/**
 * A stream entry (its id and its flat field list, as XRANGE returns them) -> the call it records, or
 * the first problem found. Pure and total: it never throws, whatever the entry holds.
 */
export function decodeEntry(id: string, fields: unknown): DecodedEntry {
  if (!Array.isArray(fields)) return bad('the entry has no fields');
  let json: unknown;
  // field names sit at even positions: a value that reads "record" is not the record field
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'record') {
      json = fields[i + 1];
      break;
    }
  }
  if (json === undefined) return bad('no record field');
  if (typeof json !== 'string' || json === '') return bad('the record field is empty or not text');
  if (json.length > MAX_RECORD_CHARS)
    return bad(`the record is ${json.length} characters long, more than the ${MAX_RECORD_CHARS} read back`);
  if (nestingDepth(json) > MAX_RECORD_DEPTH) return bad(`the record is nested deeper than ${MAX_RECORD_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return bad('the record is not JSON');
  }
  const problem = recordProblem(value);
  return problem === undefined ? { ok: true, call: { id, record: value as ScreenedCallRecord } } : bad(problem);
}

const bad = (problem: string): DecodedEntry => ({ ok: false, problem });

/** How deep objects and lists nest in a JSON text (brackets inside strings do not count); not JSON: any number. */
function nestingDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

type Fields = Record<string, unknown>;
/** undefined when the value passes; else the problem as it reads after the value's path (".did is missing", " is not text") */
type Check = (value: unknown) => string | undefined;

const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

const text: Check = (v) => (typeof v === 'string' ? undefined : ' is not text');
const finite: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : ' is not a number');
const flag: Check = (v) => (typeof v === 'boolean' ? undefined : ' is not true or false');
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : ` is not one of ${values.join(', ')}`;
const list =
  (item: Check): Check =>
  (v) => {
    if (!Array.isArray(v)) return ' is not a list';
    for (const [i, element] of v.entries()) {
      const problem = item(element);
      if (problem !== undefined) return `[${i}]${problem}`;
    }
    return undefined;
  };

/** An object whose named fields pass their checks; a field marked optional may be absent. */
function shape(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v) => {
    if (!isFields(v)) return ' is not an object';
    for (const [name, check] of Object.entries(required)) {
      if (!Object.hasOwn(v, name)) return `.${name} is missing`;
      const problem = check(v[name]);
      if (problem !== undefined) return `.${name}${problem}`;
    }
    for (const [name, check] of Object.entries(optional)) {
      if (!Object.hasOwn(v, name)) continue;
      const problem = check(v[name]);
      if (problem !== undefined) return `.${name}${problem}`;
    }
    return undefined;
  };
}

/** one of the three kinds of PhoneNumber, with the fields that kind has */
const phoneNumber: Check = (v) => {
  if (!isFields(v)) return ' is not an object';
  switch (v.kind) {
    case 'e164':
      return shape({ raw: text, e164: text, valid: flag, possible: flag }, { country: text, type: text })(v);
    case 'withheld':
      return shape({ raw: text })(v);
    case 'unparseable':
      return shape({ raw: text, reason: text })(v);
    default:
      return '.kind is not one of e164, withheld, unparseable';
  }
};

const reason = shape(
  { code: text, text },
  { points: finite, value: finite, rule: shape({ list: oneOf(['allow', 'deny']), written: text }, { label: text }) },
);

const decision = shape(
  {
    verdict: oneOf(VERDICTS),
    score: finite,
    reasons: list(reason),
    degraded: flag,
    policies: list(text),
    caller: phoneNumber,
    did: phoneNumber,
    at: text,
  },
  { shadowVerdict: oneOf(VERDICTS), attestation: text, verstat: text },
);

/** What the daemon writes (ScreenedCallRecord), checked field by field. */
const screenedCallRecord = shape(
  { callId: text, at: text, channel: text, decision, routedTo: text, decisionMs: finite, host: text },
  {
    callerName: text,
    historyMs: finite,
    routeMs: finite,
    routeError: text,
    captcha: shape(
      { outcome: oneOf(CAPTCHA_OUTCOMES), attempts: finite, ms: finite },
      { failure: oneOf(['wrong', 'silence']) },
    ),
    // checked in full only by a replay (src/domain/decision-inputs.ts): a record with inputs it cannot read
    // is still a record the log, the console and the reports show
    inputs: (v) => (isFields(v) ? undefined : ' is not an object'),
  },
);

/** why a parsed record is not a ScreenedCallRecord ("record.decision.caller is missing"), or undefined when it is one */
export function recordProblem(value: unknown): string | undefined {
  const problem = screenedCallRecord(value);
  return problem === undefined ? undefined : `record${problem}`;
}
