/**
 * How the reputation list lies in Redis. Every writer (feed import, agent feedback, manual entries)
 * and every reader (the screening script, `callscreen check`, the AstDB blacklist sync) goes through
 * these names and codecs, so the layout is described once, here.
 *
 * Sources. The list is the union of named sources: feeds imported from files (kind "feed", replaced
 * as a whole by each import), entries written one by one ("live", e.g. `manual`), and agents' verdicts
 * ("feedback"). The engine reads every source's entry for the caller in its one round trip and the
 * pure core combines them (src/domain/reputation.ts).
 *
 * Buckets, for memory. A source's numbers are spread over `buckets` small hashes (a power of two,
 * chosen so a bucket holds ~TARGET_PER_BUCKET numbers): small hashes keep Redis's listpack encoding
 * (hash-max-listpack-entries, default 128), where an entry costs its two encoded values and nothing
 * else, instead of ~70 bytes of dict entry and objects per field in a real hash table. The field is the
 * number's digits without "+" and the value of a feed entry is one integer (FeedEntry packed into 53
 * bits), so listpack stores both as integers (9 bytes each) rather than strings.
 *
 *   <p>rep:<source>.<gen>:<bucket base36>   hash   field = E.164 digits, value = packed entry
 *
 * Generations, for atomic replacement. Each import writes a new generation `gen` (from INCR) beside
 * the live one and then, in one MULTI, points the source table at it and schedules the old generation
 * for deletion RETIRE_GRACE_MS later (readers cache the table for at most SOURCE_REFRESH_MS, so none
 * reads a deleted generation). Lookups see the whole old list until the switch, then the whole new one.
 *
 * Metadata shares one hash tag ({meta}) so the switch's MULTI works on Redis Cluster too:
 *   <p>rep:{meta}:sources   hash  field = source name, value = JSON SourceRecord (the live generation)
 *   <p>rep:{meta}:pending   hash  field = source name, value = JSON PendingImport (an import in progress)
 *   <p>rep:{meta}:retired   zset  member = "<source>.<gen>", score = epoch ms after which it may be deleted
 *   <p>rep:{meta}:gen       string, INCR: generation numbers, unique across sources
 */

export const SOURCE_KINDS = ['feed', 'live', 'feedback'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** source names: lower case letters, digits, - and _, at most 32 characters */
export const SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** the source agents' verdicts go to (`callscreen report`, the HTTP feedback endpoint) */
export const FEEDBACK_SOURCE = 'feedback';
/** the live source for entries an admin adds by hand */
export const MANUAL_SOURCE = 'manual';

/** numbers per bucket an import aims at: well under hash-max-listpack-entries (128) even for the fullest bucket */
export const TARGET_PER_BUCKET = 64;
/** buckets of a live or feedback source (fixed: its size is not known in advance) */
export const LIVE_BUCKETS = 1024;
export const MAX_BUCKETS = 2 ** 24;
/** readers re-read the source table at least this often */
export const SOURCE_REFRESH_MS = 1_000;
/** a replaced generation is deleted this long after the switch */
export const RETIRE_GRACE_MS = 60_000;

/** The live generation of one source, as the source table holds it. */
export interface SourceRecord {
  name: string;
  kind: SourceKind;
  /** generation number; the source's buckets are <p>rep:<name>.<gen>:<bucket> */
  gen: number;
  /** a power of two */
  buckets: number;
  /** numbers in this generation (for a live source: as last counted) */
  entries: number;
  /** category names of the packed entries: index 1 is categories[0] (0 = no category) */
  categories: string[];
  /** epoch ms the generation became live */
  importedAt: number;
  /** what was imported (file name without directories), for `callscreen reputation sources` */
  origin?: string;
}

/** An import in progress: a crashed one leaves this and a partial generation behind, removed by purgeStaleGenerations. */
export interface PendingImport {
  gen: number;
  startedAt: number;
  host: string;
  pid: number;
}

export function sourcesKey(prefix: string): string {
  return `${prefix}rep:{meta}:sources`;
}
export function pendingKey(prefix: string): string {
  return `${prefix}rep:{meta}:pending`;
}
export function retiredKey(prefix: string): string {
  return `${prefix}rep:{meta}:retired`;
}
export function generationCounterKey(prefix: string): string {
  return `${prefix}rep:{meta}:gen`;
}
/** every bucket key of one generation matches this SCAN pattern */
export function generationPattern(prefix: string, source: string, gen: number): string {
  return `${prefix}rep:${source}.${gen}:*`;
}
export function bucketKey(prefix: string, source: string, gen: number, bucket: number): string {
  return `${prefix}rep:${source}.${gen}:${bucket.toString(36)}`;
}
/** "<source>.<gen>", the member of the retired set */
export function generationId(source: string, gen: number): string {
  return `${source}.${gen}`;
}

/** the hash field of a number: its E.164 digits without "+" (an integer to listpack) */
export function numberField(e164: string): string {
  return e164.charCodeAt(0) === 0x2b ? e164.slice(1) : e164;
}

/** the bucket of a number's field among `buckets` (a power of two): FNV-1a over the digits */
export function bucketOf(field: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < field.length; i++) {
    h ^= field.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (buckets - 1);
}

/** the bucket key holding a number in a source's live generation */
export function sourceBucketKey(prefix: string, source: SourceRecord, field: string): string {
  return bucketKey(prefix, source.name, source.gen, bucketOf(field, source.buckets));
}

/** buckets for a source expected to hold `entries` numbers: a power of two, ~TARGET_PER_BUCKET per bucket */
export function bucketsFor(entries: number): number {
  let buckets = 1;
  while (buckets < MAX_BUCKETS && buckets * TARGET_PER_BUCKET < entries) buckets *= 2;
  return buckets;
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

// ---- feedback entries: a short string the feedback script updates in place ------------------------

/** Agents' verdicts on one number. */
export interface FeedbackEntry {
  spam: number;
  ok: number;
  /** the most recent verdict */
  last: 'spam' | 'ok';
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

// ---- the source table -----------------------------------------------------------------------------

/** HGETALL of the source table -> records; a field that does not parse is skipped and named in `problems` */
export function parseSourceTable(raw: Record<string, string>): { sources: SourceRecord[]; problems: string[] } {
  const sources: SourceRecord[] = [];
  const problems: string[] = [];
  for (const [name, json] of Object.entries(raw)) {
    const record = parseSourceRecord(name, json);
    if (typeof record === 'string') problems.push(`source ${JSON.stringify(name)}: ${record}`);
    else sources.push(record);
  }
  sources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { sources, problems };
}

function parseSourceRecord(name: string, json: string): SourceRecord | string {
  if (!SOURCE_NAME_PATTERN.test(name)) return 'not a valid source name';
  let v: Partial<SourceRecord>;
  try {
    v = JSON.parse(json) as Partial<SourceRecord>;
  } catch {
    return 'record is not JSON';
  }
  if (v === null || typeof v !== 'object') return 'record is not an object';
  if (!SOURCE_KINDS.includes(v.kind as SourceKind)) return `unknown kind ${JSON.stringify(v.kind)}`;
  if (!Number.isSafeInteger(v.gen) || (v.gen as number) < 0) return 'gen is not a whole number';
  const buckets = v.buckets as number;
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS || (buckets & (buckets - 1)) !== 0)
    return 'buckets is not a power of two';
  const categories = Array.isArray(v.categories) ? v.categories.filter((c): c is string => typeof c === 'string') : [];
  const record: SourceRecord = {
    name,
    kind: v.kind as SourceKind,
    gen: v.gen as number,
    buckets,
    entries: Number.isSafeInteger(v.entries) ? (v.entries as number) : 0,
    categories,
    importedAt: typeof v.importedAt === 'number' && Number.isFinite(v.importedAt) ? v.importedAt : 0,
  };
  if (typeof v.origin === 'string') record.origin = v.origin;
  return record;
}

function clampInt(n: number, min: number, max: number): number {
  if (!Number.isFinite(n)) return min;
  return Math.min(max, Math.max(min, Math.round(n)));
}
