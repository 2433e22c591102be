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
 * bits, src/domain/reputation-entry.ts), so listpack stores both as integers (9 bytes each) rather than strings.
 *
 *   <p>rep:<source>.<gen>:<bucket base36>   hash   field = E.164 digits, value = packed entry
 *
 * Block counts, for block reputation. Beside its numbers, a generation may count its listed numbers
 * per number block (the E.164 digits without the last `blockDigits`), built with the generation and
 * switched with it; a live or feedback source keeps them current as entries come and go:
 *
 *   <p>rep:<source>.<gen>:k:<bucket base36>  hash   field = block digits, value = packed BlockCount
 *                                                   (src/domain/reputation-entry.ts)
 *
 * The record says which block size was counted (`blockDigits`) over how many buckets (`blockBuckets`);
 * a record without them has no block counts.
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
/** the block size counted when the configuration names none (screening.signals.blockReputation.blockDigits) */
export const DEFAULT_BLOCK_DIGITS = 3;
/** block-count buckets of a live or feedback source (fixed, like LIVE_BUCKETS) */
export const LIVE_BLOCK_BUCKETS = LIVE_BUCKETS;
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
  /** the block size the generation's block counts are for; absent: no block counts */
  blockDigits?: number;
  /** buckets of the block counts (a power of two); present with blockDigits */
  blockBuckets?: number;
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

/** the bucket key of block counts of a generation */
export function blockBucketKey(prefix: string, source: string, gen: number, bucket: number): string {
  return `${prefix}rep:${source}.${gen}:k:${bucket.toString(36)}`;
}

/**
 * the hash field of a number's block: its E.164 digits without "+" and without the last blockDigits
 * digits; null when the number has no more digits than that
 */
export function blockField(e164: string, blockDigits: number): string | null {
  const digits = numberField(e164);
  if (!Number.isSafeInteger(blockDigits) || blockDigits <= 0 || digits.length <= blockDigits) return null;
  return digits.slice(0, digits.length - blockDigits);
}

/** the key holding a block's count in a source's live generation; null when it has no block counts for this size */
export function sourceBlockKey(
  prefix: string,
  source: SourceRecord,
  field: string,
  blockDigits: number,
): string | null {
  if (source.blockDigits !== blockDigits || source.blockBuckets === undefined) return null;
  return blockBucketKey(prefix, source.name, source.gen, bucketOf(field, source.blockBuckets));
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
  const blockBuckets = v.blockBuckets as number;
  if (
    Number.isSafeInteger(v.blockDigits) &&
    (v.blockDigits as number) > 0 &&
    Number.isSafeInteger(blockBuckets) &&
    blockBuckets >= 1 &&
    blockBuckets <= MAX_BUCKETS &&
    (blockBuckets & (blockBuckets - 1)) === 0
  ) {
    record.blockDigits = v.blockDigits as number;
    record.blockBuckets = blockBuckets;
  }
  return record;
}
