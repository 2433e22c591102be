/**
 * What `callscreen log` reads: the time range (--since/--until) and the filters (--verdict, --number,
 * --did), parsed from the command line and matched against records. Pure: no I/O, no clock (now is passed in).
 */
import type { CountryCode } from 'libphonenumber-js';
import { VERDICTS, type Verdict } from '../domain/decision';
import { normalisePhoneNumber, type PhoneNumber } from '../domain/phone-number';
import { ConfigError } from '../errors/config-error';
import type { IdRange, ScreenedCallRecord } from '../ports/call-log';

export const DEFAULT_SINCE = '24h';
export const DEFAULT_LIMIT = 1000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
/** 2026-11-23, 2026-11-23T14:05, 2026-11-23 14:05:09, with seconds fraction and offset or Z optional */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Bad command-line input: reported like a config problem (exit 2), naming the option. */
export function usageError(option: string, reason: string): ConfigError {
  return new ConfigError([{ file: option, line: 0, column: 0, reason }]);
}

/**
 * A point in time from the command line, as ms since the epoch: a duration back from now (90s, 15m,
 * 2h, 7d, 2w), `now`, or an ISO time. An ISO time without an offset is the host's local time (as the
 * table prints it), a bare date its local midnight.
 */
export function parseTimeSpec(text: string, nowMs: number, option: string): number {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const duration = DURATION.exec(t);
  if (duration) return nowMs - Number(duration[1]) * (UNIT_MS[duration[2] as string] as number);
  if (ISO_TIME.test(t)) {
    // a bare date parses as UTC in JS; as a local time it matches what the table shows
    const local = t.length === 10 ? `${t}T00:00:00` : t.replace(' ', 'T');
    const ms = Date.parse(local);
    if (!Number.isNaN(ms)) return ms;
  }
  throw usageError(
    option,
    `"${text}" is neither a duration (90s, 15m, 2h, 7d) nor an ISO time (2026-11-23T14:05:00Z, 2026-11-23 14:05)`,
  );
}

/** --verdict allow,reject */
export function parseVerdicts(text: string): Set<Verdict> {
  const out = new Set<Verdict>();
  for (const part of text.split(',').map((p) => p.trim().toLowerCase())) {
    if (!(VERDICTS as readonly string[]).includes(part))
      throw usageError(
        '--verdict',
        `"${part}" is not a verdict (one or more of ${VERDICTS.join(', ')}, comma-separated)`,
      );
    out.add(part as Verdict);
  }
  return out;
}

/** What a number filter compares: the E.164 form, or 'withheld'. */
export function numberKey(n: PhoneNumber): string | undefined {
  if (n.kind === 'e164') return n.e164;
  if (n.kind === 'withheld') return 'withheld';
  return undefined;
}

/** --number / --did: normalised the way a live call's numbers are; `withheld` (or anonymous) matches withheld callers. */
export function parseNumberFilter(text: string, region: CountryCode, option: string): string {
  if (text.trim() === '') throw usageError(option, 'empty; give a number (or "withheld")');
  const n = normalisePhoneNumber(text, region);
  if (n.kind === 'unparseable') throw usageError(option, `"${text}" is not a phone number (${n.reason})`);
  return numberKey(n) as string;
}

export interface LogFilter {
  verdicts?: ReadonlySet<Verdict>;
  /** caller's E.164 or 'withheld' */
  caller?: string;
  /** DID's E.164 */
  did?: string;
}

export function matchesFilter(record: ScreenedCallRecord, filter: LogFilter): boolean {
  const d = record.decision;
  if (filter.verdicts && !filter.verdicts.has(d.verdict)) return false;
  if (filter.caller !== undefined && numberKey(d.caller) !== filter.caller) return false;
  if (filter.did !== undefined && numberKey(d.did) !== filter.did) return false;
  return true;
}

export interface LogOptions {
  since?: string;
  until?: string;
  verdict?: string;
  number?: string;
  did?: string;
  limit?: string;
  follow?: boolean;
}

export interface LogQuery {
  sinceMs: number;
  /** undefined: up to now (and on, with --follow) */
  untilMs?: number;
  filter: LogFilter;
  limit: number;
  follow: boolean;
}

/** The command line -> a query, or a ConfigError naming the option (exit 2). */
export function parseLogQuery(options: LogOptions, region: CountryCode, nowMs: number): LogQuery {
  const sinceMs = parseTimeSpec(options.since ?? DEFAULT_SINCE, nowMs, '--since');
  const untilMs = options.until !== undefined ? parseTimeSpec(options.until, nowMs, '--until') : undefined;
  if (untilMs !== undefined && untilMs < sinceMs)
    throw usageError(
      '--until',
      `${new Date(untilMs).toISOString()} is before --since ${new Date(sinceMs).toISOString()}`,
    );
  const follow = options.follow === true;
  if (follow && untilMs !== undefined)
    throw usageError('--follow', 'cannot be combined with --until (following reads on from now)');
  let limit = DEFAULT_LIMIT;
  if (options.limit !== undefined) {
    limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw usageError('--limit', `"${options.limit}" is not a whole number of at least 1`);
  }
  const filter: LogFilter = {};
  if (options.verdict !== undefined) filter.verdicts = parseVerdicts(options.verdict);
  if (options.number !== undefined) filter.caller = parseNumberFilter(options.number, region, '--number');
  if (options.did !== undefined) filter.did = parseNumberFilter(options.did, region, '--did');
  return { sinceMs, ...(untilMs !== undefined ? { untilMs } : {}), filter, limit, follow };
}

/** The stream-id range of a query (XRANGE bounds are inclusive; a bare ms covers all of that ms). */
export function idRange(query: Pick<LogQuery, 'sinceMs' | 'untilMs'>, end = '+'): IdRange {
  return {
    start: String(Math.max(0, Math.ceil(query.sinceMs))),
    end: query.untilMs !== undefined ? String(Math.max(0, Math.floor(query.untilMs))) : end,
  };
}

/** The millisecond part of a stream id. */
export function idMs(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash < 0 ? id : id.slice(0, dash));
}
