/**
 * One number's reputation entry as a source holds it, and its packed form: a feed or live entry is one
 * 53-bit integer, an agents' feedback entry a short string. Pure: the feed import (which builds the
 * entries) and the Redis store (which keeps them, src/adapters/redis/reputation-layout.ts) share these
 * codecs, and the screening script unpacks the same bits.
 */

export type FeedbackVerdict = 'spam' | 'ok';
export const FEEDBACK_VERDICTS: readonly FeedbackVerdict[] = ['spam', 'ok'];

/** An import's numbers: E.164 digits as a number -> packed entry (encodeFeedEntry). */
export interface PackedEntries {
  readonly size: number;
  get(key: number): string | undefined;
  forEach(fn: (key: number, value: string) => void): void;
}

// ---- feed and live entries: one integer ---------------------------------------------------------

/** days are counted from 2000-01-01 UTC */
export const DAY_ZERO_MS = Date.UTC(2000, 0, 1);
export const DAY_MS = 86_400_000;
export const MAX_REPORTS = 16_383;
/** categories a source can name; more distinct categories than this are stored as none */
export const MAX_CATEGORIES = 63;
const MAX_FIRST_DAY = 32_767;
const MAX_SPAN_DAYS = 2_047;

/** One number's entry in a feed or live source, as stored. */
export interface FeedEntry {
  /** 0..100: how sure the source is that the number is spam, in percent */
  score: number;
  /** 0..MAX_REPORTS */
  reports: number;
  /** 0 = none, else 1 + index into SourceRecord.categories */
  category: number;
  /** first and last report, days since 2000-01-01 (last >= first, at most 2047 days apart) */
  firstDay: number;
  lastDay: number;
}

/** epoch ms -> day number (clamped to what an entry can hold) */
export function dayOf(ms: number): number {
  return Math.min(MAX_FIRST_DAY + MAX_SPAN_DAYS, Math.max(0, Math.floor((ms - DAY_ZERO_MS) / DAY_MS)));
}
/** day number -> epoch ms of its start */
export function dayStartMs(day: number): number {
  return DAY_ZERO_MS + day * DAY_MS;
}

/**
 * score (7 bits) | reports (14) | category (6) | firstDay (15) | lastDay - firstDay (11): 53 bits, so
 * the value is exact as a JavaScript number and an integer to Redis. Out-of-range parts are clamped
 * (a span longer than 2047 days keeps the last day and moves the first day up).
 */
export function encodeFeedEntry(entry: FeedEntry): string {
  const score = clampInt(entry.score, 0, 100);
  const reports = clampInt(entry.reports, 0, MAX_REPORTS);
  const category = clampInt(entry.category, 0, MAX_CATEGORIES);
  const last = clampInt(entry.lastDay, 0, MAX_FIRST_DAY + MAX_SPAN_DAYS);
  const first = clampInt(Math.max(Math.min(entry.firstDay, last), last - MAX_SPAN_DAYS), 0, MAX_FIRST_DAY);
  const span = Math.min(MAX_SPAN_DAYS, last - first);
  return String(score + reports * 2 ** 7 + category * 2 ** 21 + first * 2 ** 27 + span * 2 ** 42);
}

/** the stored value -> entry, or null when it is not a packed entry (the reader then ignores it) */
export function decodeFeedEntry(value: string): FeedEntry | null {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return null;
  const score = n % 2 ** 7;
  const reports = Math.floor(n / 2 ** 7) % 2 ** 14;
  const category = Math.floor(n / 2 ** 21) % 2 ** 6;
  const firstDay = Math.floor(n / 2 ** 27) % 2 ** 15;
  const span = Math.floor(n / 2 ** 42);
  if (score > 100) return null;
  return { score, reports, category, firstDay, lastDay: firstDay + span };
}

// ---- block counts: how many numbers of a number block a source lists, one integer ------------------

/** numbers one block count can hold (2^26); the score sum takes the low 27 bits */
export const MAX_BLOCK_NUMBERS = 2 ** 26 - 1;
const BLOCK_SCORE_BITS = 2 ** 27;

/** What one source lists of one number block. */
export interface BlockCount {
  /** listed numbers of the block (score above 0) */
  numbers: number;
  /** the sum of their scores, each 0..100 (percent) */
  scoreSum: number;
}

/**
 * numbers x 2^27 + scoreSum: one integer, so adding a number to a block is one HINCRBY of
 * 2^27 + its score and removing it one of the negative (blockCountDelta).
 */
export function encodeBlockCount(count: BlockCount): string {
  const numbers = clampInt(count.numbers, 0, MAX_BLOCK_NUMBERS);
  const scoreSum = clampInt(count.scoreSum, 0, Math.min(numbers * 100, BLOCK_SCORE_BITS - 1));
  return String(numbers * BLOCK_SCORE_BITS + scoreSum);
}

/** the HINCRBY that adds (sign 1) or removes (sign -1) one number of score 0..100 to a block count */
export function blockCountDelta(score: number, sign: 1 | -1): number {
  return sign * (BLOCK_SCORE_BITS + clampInt(score, 0, 100));
}

/** the stored value -> count, or null when it is not one (the reader then ignores it) */
export function decodeBlockCount(value: string): BlockCount | null {
  if (value.length === 0) return null; // Number('') is 0
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return null;
  const numbers = Math.floor(n / BLOCK_SCORE_BITS);
  const scoreSum = n % BLOCK_SCORE_BITS;
  if (scoreSum > numbers * 100) return null;
  return { numbers, scoreSum };
}

// ---- feedback entries: a short string the feedback script updates in place ------------------------

/** Agents' verdicts on one number. */
export interface FeedbackEntry {
  spam: number;
  ok: number;
  /** the most recent verdict */
  last: FeedbackVerdict;
  /** epoch ms of the first and the most recent verdict (minute precision) */
  firstAt: number;
  lastAt: number;
}

/** "<spam>:<ok>:<s|o>:<first minute>:<last minute>" (minutes since 1970) */
export function encodeFeedbackEntry(entry: FeedbackEntry): string {
  return `${entry.spam}:${entry.ok}:${entry.last === 'ok' ? 'o' : 's'}:${Math.floor(entry.firstAt / 60_000)}:${Math.floor(entry.lastAt / 60_000)}`;
}

export function decodeFeedbackEntry(value: string): FeedbackEntry | null {
  const parts = value.split(':');
  if (parts.length !== 5) return null;
  const [spam, ok, first, last] = [Number(parts[0]), Number(parts[1]), Number(parts[3]), Number(parts[4])];
  if (![spam, ok, first, last].every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
  if (parts[2] !== 's' && parts[2] !== 'o') return null;
  return { spam, ok, last: parts[2] === 'o' ? 'ok' : 'spam', firstAt: first * 60_000, lastAt: last * 60_000 };
}

function clampInt(n: number, min: number, max: number): number {
  if (!Number.isFinite(n)) return min;
  return Math.min(max, Math.max(min, Math.round(n)));
}
