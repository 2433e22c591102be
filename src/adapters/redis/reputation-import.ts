/**
 * Writing an imported feed into the reputation layout (./reputation-layout.ts) and retiring what it
 * replaces. An import writes a whole new generation of the source beside the live one and then switches
 * the source table to it in one MULTI, so a reader sees the whole old list until the switch and the
 * whole new one after it, never an empty or half-written list:
 *
 *   1. purgeStaleGenerations (retired generations whose grace is over, imports that crashed long ago)
 *   2. INCR the generation counter; HSET the pending-import record (crash evidence)
 *   3. HSET every bucket, all its fields in one command, a bounded number of commands in flight; then
 *      the generation's block counts (listed numbers per block, score above 0) into its k: buckets
 *   4. HGETALL the previous generation's buckets: new / updated / removed counts
 *   5. MULTI: HSET the source record (with blockDigits and blockBuckets: the counts switch with the
 *      numbers), HDEL pending, ZADD the old generation to the retired set
 *      (deleted RETIRE_GRACE_MS later, after every reader has re-read the table)
 *   6. purgeStaleGenerations again
 *
 * Only single-key commands and MULTIs over the {meta} keys: works on Redis Cluster too.
 */
import { hostname } from 'node:os';
import { Command, type Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-connection';
import {
  blockBucketKey,
  bucketKey,
  bucketOf,
  bucketsFor,
  DEFAULT_BLOCK_DIGITS,
  generationCounterKey,
  generationId,
  generationPattern,
  parseSourceTable,
  pendingKey,
  RETIRE_GRACE_MS,
  retiredKey,
  SOURCE_NAME_PATTERN,
  sourcesKey,
  type PendingImport,
  type SourceRecord,
} from './reputation-layout';
import { blockCountDelta, type PackedEntries } from '../../domain/reputation-entry';

/** an import whose pending record is older than this crashed: its partial generation is deleted */
export const PENDING_MAX_AGE_MS = 6 * 3_600_000;
/** bucket writes (and reads of the old generation) in flight at once */
export const DEFAULT_IN_FLIGHT = 64;

/** the largest block size counted: a block of an E.164 number keeps at least its country code */
export const MAX_BLOCK_DIGITS = 12;

/** The import cannot go ahead as asked (a bad source name, a source of another kind): exit code 2. */
export class ImportRefusedError extends Error {
  override readonly name = 'ImportRefusedError';
}

export interface GenerationInput {
  source: string;
  /** what was imported (file name without directories) */
  origin: string;
  entries: PackedEntries;
  /** category names of the packed entries (index 1 = categories[0]) */
  categories: string[];
  /** epoch ms; default Date.now() */
  now?: number;
  inFlight?: number;
  /** compare with the previous generation (default true) */
  diff?: boolean;
  /**
   * count the listed numbers per block of this many trailing digits (blockField) beside the numbers;
   * default DEFAULT_BLOCK_DIGITS, 0: no block counts
   */
  blockDigits?: number;
  /** buckets written so far, of total (number buckets, then block-count buckets) */
  onProgress?: (written: number, total: number) => void;
  /** a pending import of the same source was found and its generation retired */
  onWarning?: (message: string) => void;
}

export interface GenerationResult {
  record: SourceRecord;
  previous: SourceRecord | undefined;
  entries: number;
  /** blocks with listed numbers counted (0 without block counts) */
  blocks: number;
  /** against the previous generation (all new when there was none; undefined counts when diff was off) */
  added: number | undefined;
  updated: number | undefined;
  removed: number | undefined;
  /** time spent: writing the buckets, comparing with the previous generation (ms) */
  writeMs: number;
  diffMs: number;
}

/** Write `entries` as a new generation of `source` and make it the live one. */
export async function writeFeedGeneration(
  redis: RedisClient,
  prefix: string,
  input: GenerationInput,
): Promise<GenerationResult> {
  const { source, entries } = input;
  if (!SOURCE_NAME_PATTERN.test(source))
    throw new ImportRefusedError(
      `source name ${JSON.stringify(source)}: lower case letters, digits, - and _, at most 32 characters`,
    );
  const blockDigits = input.blockDigits ?? DEFAULT_BLOCK_DIGITS;
  if (!Number.isSafeInteger(blockDigits) || blockDigits < 0 || blockDigits > MAX_BLOCK_DIGITS)
    throw new ImportRefusedError(`block size ${blockDigits}: a whole number of digits from 0 to ${MAX_BLOCK_DIGITS}`);
  const started = input.now ?? Date.now();
  const inFlight = Math.max(1, input.inFlight ?? DEFAULT_IN_FLIGHT);
  await purgeStaleGenerations(redis, prefix, started);

  const before = await readSource(redis, prefix, source);
  if (before && before.kind !== 'feed')
    throw new ImportRefusedError(`source ${source} is a ${before.kind} source, not a feed: import into another name`);

  const gen = await redis.incr(generationCounterKey(prefix));
  const pending: PendingImport = { gen, startedAt: started, host: hostname(), pid: process.pid };
  const earlier = await redis.hget(pendingKey(prefix), source);
  await redis.hset(pendingKey(prefix), source, JSON.stringify(pending));
  if (earlier) {
    const other = parsePending(earlier);
    if (other) {
      await redis.zadd(retiredKey(prefix), started + RETIRE_GRACE_MS, generationId(source, other.gen));
      input.onWarning?.(
        `an unfinished import of ${source} (generation ${other.gen}, pid ${other.pid} on ${other.host}, started ${new Date(other.startedAt).toISOString()}) is abandoned; its partial generation will be deleted`,
      );
    }
  }

  try {
    const buckets = bucketsFor(entries.size);
    const t0 = performance.now();
    const written = await writeBuckets(
      redis,
      prefix,
      source,
      gen,
      buckets,
      entries,
      blockDigits,
      inFlight,
      input.onProgress,
    );
    const writeMs = performance.now() - t0;

    const t1 = performance.now();
    const diff = before && input.diff !== false ? await compare(redis, prefix, before, entries, inFlight) : undefined;
    const diffMs = performance.now() - t1;

    // the switch: only if this import is still the pending one for the source
    const mine = parsePending((await redis.hget(pendingKey(prefix), source)) ?? '');
    if (!mine || mine.gen !== gen)
      throw new Error(
        `another import of ${source} started meanwhile (pending generation ${mine?.gen ?? 'none'}); this one (generation ${gen}) is abandoned`,
      );
    const previous = await readSource(redis, prefix, source);
    if (previous && previous.kind !== 'feed')
      throw new ImportRefusedError(`source ${source} became a ${previous.kind} source meanwhile`);
    const switchedAt = input.now ?? Date.now();
    const record: SourceRecord = {
      name: source,
      kind: 'feed',
      gen,
      buckets,
      entries: entries.size,
      categories: input.categories,
      importedAt: switchedAt,
      origin: input.origin,
    };
    if (written.blockBuckets > 0) {
      record.blockDigits = blockDigits;
      record.blockBuckets = written.blockBuckets;
    }
    const multi = redis
      .multi()
      .hset(sourcesKey(prefix), source, JSON.stringify(record))
      .hdel(pendingKey(prefix), source);
    if (previous) multi.zadd(retiredKey(prefix), switchedAt + RETIRE_GRACE_MS, generationId(source, previous.gen));
    await execOrThrow(multi);

    await purgeStaleGenerations(redis, prefix, switchedAt);
    const added = !before ? entries.size : diff ? diff.added : undefined;
    return {
      record,
      previous,
      entries: entries.size,
      blocks: written.blocks,
      added,
      updated: before ? diff?.updated : 0,
      removed: before ? diff?.removed : 0,
      writeMs,
      diffMs,
    };
  } catch (e) {
    await abandon(redis, prefix, source, gen).catch(() => undefined);
    throw e;
  }
}

/**
 * HSET every bucket of the generation with all its fields, and every bucket of its block counts
 * (listed numbers, score above 0, per block of `blockDigits`), `inFlight` commands at a time; the
 * number of block-count buckets (0: none were written, blockDigits 0)
 */
async function writeBuckets(
  redis: RedisClient,
  prefix: string,
  source: string,
  gen: number,
  buckets: number,
  entries: PackedEntries,
  blockDigits: number,
  inFlight: number,
  onProgress?: (written: number, total: number) => void,
): Promise<{ blocks: number; blockBuckets: number }> {
  const n = entries.size;
  const fields = new Array<string>(n);
  const values = new Array<string>(n);
  const blocks = new BlockTally(blockDigits);
  let i = 0;
  entries.forEach((key, value) => {
    fields[i] = String(key);
    values[i++] = value;
    blocks.add(key, value);
  });
  const blockFields = blocks.fields();
  const blockBuckets = blockDigits > 0 ? bucketsFor(blockFields.length) : 0;
  const total = buckets + blockBuckets;
  let written = 0;
  const progress = (): void => {
    written++;
    if (onProgress && (written & 255) === 0) onProgress(written, total);
  };
  await writeHashes(redis, (b) => bucketKey(prefix, source, gen, b), buckets, fields, values, i, inFlight, progress);
  if (blockBuckets > 0)
    await writeHashes(
      redis,
      (b) => blockBucketKey(prefix, source, gen, b),
      blockBuckets,
      blockFields,
      blocks.values(),
      blockFields.length,
      inFlight,
      progress,
    );
  onProgress?.(total, total);
  return { blocks: blockFields.length, blockBuckets };
}

/** Listed numbers (score above 0) and their score sum per block, counted from packed entries. */
class BlockTally {
  /** block (the digits without the last blockDigits, as a number) -> numbers x 2^27 + score sum */
  private readonly counts = new Map<number, number>();
  private readonly divisor: number;

  constructor(blockDigits: number) {
    this.divisor = blockDigits > 0 ? 10 ** blockDigits : 0;
  }

  add(key: number, value: string): void {
    if (this.divisor === 0 || key < this.divisor) return; // no block: no more digits than the block size
    const score = Number(value) % 128; // the low 7 bits of a packed entry (encodeFeedEntry)
    if (!(score > 0 && score <= 100)) return;
    const block = Math.floor(key / this.divisor);
    this.counts.set(block, (this.counts.get(block) ?? 0) + blockCountDelta(score, 1));
  }

  /** the blocks' hash fields (blockField), in the order of values() */
  fields(): string[] {
    return Array.from(this.counts.keys(), String);
  }

  values(): string[] {
    return Array.from(this.counts.values(), (packed) => String(packed));
  }
}

/** `count` fields and values grouped into `buckets` hashes by bucketOf(field), one HSET per hash */
async function writeHashes(
  redis: RedisClient,
  keyOf: (bucket: number) => string,
  buckets: number,
  fields: readonly string[],
  values: readonly string[],
  count: number,
  inFlight: number,
  onBucket: () => void,
): Promise<void> {
  // group by bucket with a counting sort over typed arrays (one pass to hash, one to place): pushing
  // a million strings into thousands of growing arrays cost twice as long (measured)
  const bucketOfEntry = new Int32Array(count);
  const starts = new Int32Array(buckets + 1);
  for (let e = 0; e < count; e++) {
    const b = bucketOf(fields[e] as string, buckets);
    bucketOfEntry[e] = b;
    starts[b + 1] = (starts[b + 1] as number) + 1;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] = (starts[b + 1] as number) + (starts[b] as number);
  const order = new Int32Array(count);
  const fill = starts.slice(0, buckets);
  for (let e = 0; e < count; e++) {
    const b = bucketOfEntry[e] as number;
    const at = fill[b] as number;
    order[at] = e;
    fill[b] = at + 1;
  }
  /** HSET arguments of one bucket: field, value, field, value, ... */
  const argsOf = (b: number): string[] => {
    const from = starts[b] as number;
    const to = starts[b + 1] as number;
    const args = new Array<string>(2 * (to - from));
    for (let k = from, j = 0; k < to; k++) {
      const e = order[k] as number;
      args[j++] = fields[e] as string;
      args[j++] = values[e] as string;
    }
    return args;
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < buckets) {
      const b = next++;
      const args = argsOf(b);
      if (args.length > 0) await redis.hset(keyOf(b), ...args);
      onBucket();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, buckets) }, worker));
}

/** new / updated / removed numbers of `entries` against a generation already in Redis */
async function compare(
  redis: RedisClient,
  prefix: string,
  old: SourceRecord,
  entries: PackedEntries,
  inFlight: number,
): Promise<{ added: number; updated: number; removed: number }> {
  let kept = 0;
  let updated = 0;
  let removed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < old.buckets) {
      // raw replies: no string or object per field (HGETALL through the string API took 5 s for 1M numbers)
      // (callBuffer goes wrong under auto-pipelining: ioredis sends the command name as the key)
      const command = new Command('HGETALL', [bucketKey(prefix, old.name, old.gen, next++)], { replyEncoding: null });
      void redis.sendCommand(command);
      const reply = (await command.promise) as Buffer[];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const value = entries.get(digitsOf(reply[i] as Buffer));
        if (value === undefined) removed++;
        else {
          kept++;
          if (!sameAscii(value, reply[i + 1] as Buffer)) updated++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, old.buckets) }, worker));
  return { added: entries.size - kept, updated, removed };
}

/** ASCII digits -> number (NaN when not digits) */
function digitsOf(b: Buffer): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

function sameAscii(s: string, b: Buffer): boolean {
  if (s.length !== b.length) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[i]) return false;
  return true;
}

/** a failed import: its partial generation goes to the retired set (deleted at the next purge), its pending record away */
async function abandon(redis: RedisClient, prefix: string, source: string, gen: number): Promise<void> {
  await redis.zadd(retiredKey(prefix), Date.now(), generationId(source, gen));
  const mine = parsePending((await redis.hget(pendingKey(prefix), source)) ?? '');
  if (mine?.gen === gen) await redis.hdel(pendingKey(prefix), source);
}

async function readSource(redis: RedisClient, prefix: string, source: string): Promise<SourceRecord | undefined> {
  const json = await redis.hget(sourcesKey(prefix), source);
  if (json === null) return undefined;
  return parseSourceTable({ [source]: json }).sources[0];
}

function parsePending(json: string): PendingImport | undefined {
  try {
    const v = JSON.parse(json) as Partial<PendingImport>;
    if (!Number.isSafeInteger(v.gen)) return undefined;
    return {
      gen: v.gen as number,
      startedAt: Number(v.startedAt) || 0,
      host: String(v.host ?? '?'),
      pid: Number(v.pid) || 0,
    };
  } catch {
    return undefined;
  }
}

async function execOrThrow(multi: ReturnType<RedisClient['multi']>): Promise<void> {
  const results = await multi.exec();
  if (!results) throw new Error('MULTI aborted');
  for (const [err] of results) if (err) throw err;
}

/** The source table, parsed (unparseable entries are named in `problems`). */
export async function listSources(
  redis: RedisClient,
  prefix: string,
): Promise<{ sources: SourceRecord[]; problems: string[] }> {
  return parseSourceTable(await redis.hgetall(sourcesKey(prefix)));
}

/** Take a source out of the table and retire its generation; undefined when there is no such source. */
export async function removeSource(
  redis: RedisClient,
  prefix: string,
  source: string,
  now = Date.now(),
): Promise<SourceRecord | undefined> {
  const raw = await redis.hget(sourcesKey(prefix), source);
  if (raw === null) return undefined;
  const record = parseSourceTable({ [source]: raw }).sources[0];
  const multi = redis.multi().hdel(sourcesKey(prefix), source);
  if (record) multi.zadd(retiredKey(prefix), now + RETIRE_GRACE_MS, generationId(source, record.gen));
  await execOrThrow(multi);
  return record ?? { name: source, kind: 'feed', gen: -1, buckets: 1, entries: 0, categories: [], importedAt: 0 };
}

export interface PurgeResult {
  /** generations deleted (retired ones whose time came, and crashed imports') */
  generations: number;
  keys: number;
  /** crashed imports whose pending record was removed */
  crashed: number;
}

/**
 * Delete the retired generations whose time has come and the partial generations of imports that
 * started more than PENDING_MAX_AGE_MS ago and never switched (crashed). Safe to run any time and from
 * several processes at once; the daemon runs it periodically. A retired generation that the source
 * table still points at is not deleted (only taken off the retired set).
 */
export async function purgeStaleGenerations(
  redis: RedisClient,
  prefix: string,
  now = Date.now(),
  pendingMaxAgeMs = PENDING_MAX_AGE_MS,
): Promise<PurgeResult> {
  const result: PurgeResult = { generations: 0, keys: 0, crashed: 0 };
  const due = await redis.zrangebyscore(retiredKey(prefix), '-inf', now);
  const live =
    due.length > 0
      ? new Set(
          parseSourceTable(await redis.hgetall(sourcesKey(prefix))).sources.map((s) => generationId(s.name, s.gen)),
        )
      : new Set<string>();
  for (const id of due) {
    const dot = id.lastIndexOf('.');
    const source = id.slice(0, dot);
    const gen = Number(id.slice(dot + 1));
    if (dot > 0 && SOURCE_NAME_PATTERN.test(source) && Number.isSafeInteger(gen) && !live.has(id)) {
      result.keys += await unlinkMatching(redis, generationPattern(prefix, source, gen));
      result.generations++;
    }
    await redis.zrem(retiredKey(prefix), id);
  }
  const pending = await redis.hgetall(pendingKey(prefix));
  for (const [source, json] of Object.entries(pending)) {
    const p = parsePending(json);
    if (p && p.startedAt > now - pendingMaxAgeMs) continue;
    if (p && SOURCE_NAME_PATTERN.test(source)) {
      result.keys += await unlinkMatching(redis, generationPattern(prefix, source, p.gen));
      result.generations++;
    }
    // only if it is still the same record (a new import may have registered meanwhile)
    if ((await redis.hget(pendingKey(prefix), source)) === json) await redis.hdel(pendingKey(prefix), source);
    result.crashed++;
  }
  return result;
}

/** SCAN every master for `pattern` and UNLINK what it finds; the number of keys unlinked */
async function unlinkMatching(redis: RedisClient, pattern: string): Promise<number> {
  const cluster = (redis as Cluster).isCluster === true;
  const nodes: Redis[] = cluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  let count = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length === 0) continue;
      if (cluster) {
        // keys of one node still lie in different slots: one UNLINK each, pipelined
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
      } else await node.unlink(...keys);
      count += keys.length;
    } while (cursor !== '0');
  }
  return count;
}
