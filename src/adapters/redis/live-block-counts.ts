/**
 * Block counts of the sources written one entry at a time (live sources such as `manual`, and the
 * agents' feedback source): the scripts of ./block-count-script.ts registered on a client, and the
 * one-time count of a source that has none yet (created before block counts existed, or counted with
 * another block size).
 */
import type { RedisClient } from './redis-connection';
import {
  BLOCK_ADD_COMMAND,
  BLOCK_ADD_LUA,
  LIVE_PUT_COMMAND,
  LIVE_PUT_LUA,
  REBUILD_BLOCKS_COMMAND,
  REBUILD_BLOCKS_LUA,
} from './block-count-script';
import {
  blockBucketKey,
  blockField,
  bucketOf,
  LIVE_BLOCK_BUCKETS,
  parseSourceTable,
  sourcesKey,
  type SourceRecord,
} from './reputation-layout';

type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/** the ioredis command for a script (EVALSHA, EVAL on NOSCRIPT), defined on the client once; keys counted per call */
export function scriptCommand(redis: RedisClient, name: string, lua: string): ScriptCommand {
  const commands = redis as unknown as Record<string, unknown>;
  if (typeof commands[name] !== 'function') redis.defineCommand(name, { lua });
  return (commands[name] as ScriptCommand).bind(redis);
}

export function isCluster(redis: RedisClient): boolean {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/** A source's record as the table holds it: parsed, and the JSON it was parsed from (the scripts compare it). */
export interface ReadRecord {
  record: SourceRecord;
  json: string;
}

/** the record of `name`, undefined when the table has none (or one that does not parse) */
export async function readRecord(redis: RedisClient, prefix: string, name: string): Promise<ReadRecord | undefined> {
  const json = await redis.hget(sourcesKey(prefix), name);
  if (json === null) return undefined;
  const record = parseSourceTable({ [name]: json }).sources[0];
  return record ? { record, json } : undefined;
}

/** block-count fields of a new live or feedback record (none when blockDigits is 0) */
export function liveBlockFields(blockDigits: number): Pick<SourceRecord, 'blockDigits' | 'blockBuckets'> {
  return blockDigits > 0 ? { blockDigits, blockBuckets: LIVE_BLOCK_BUCKETS } : {};
}

/** where a number's block count goes in a source: the block's field and key, or null (no counts, no block) */
export function blockTarget(prefix: string, record: SourceRecord, e164: string): { field: string; key: string } | null {
  if (record.blockDigits === undefined || record.blockBuckets === undefined) return null;
  const field = blockField(e164, record.blockDigits);
  if (field === null) return null;
  return { field, key: blockBucketKey(prefix, record.name, record.gen, bucketOf(field, record.blockBuckets)) };
}

/** the record JSON as the table stores it (without the name, which is the field) */
export function recordJson(record: SourceRecord): string {
  const { name: _name, ...rest } = record;
  return JSON.stringify(rest);
}

export interface RebuildResult {
  /** false: the record changed meanwhile (read it again and retry) */
  done: boolean;
  /** listed numbers counted, blocks with at least one */
  numbers: number;
  blocks: number;
  record: SourceRecord;
}

/**
 * Count the blocks of a live or feedback source from its buckets and switch its record to them, in one
 * script (REBUILD_BLOCKS_LUA): writes before are counted, writes after see the new record. Single Redis
 * only (the script reads keys of many slots): on a Redis Cluster it throws.
 */
export async function rebuildBlockCounts(
  redis: RedisClient,
  prefix: string,
  read: ReadRecord,
  blockDigits: number,
): Promise<RebuildResult> {
  const { record } = read;
  if (record.kind === 'feed')
    throw new RangeError(`source ${record.name} is a feed: its block counts are built by each import`);
  if (isCluster(redis))
    throw new RangeError(
      `source ${record.name}: block counts of a live source are counted on a single Redis only, not on a Cluster`,
    );
  if (!Number.isSafeInteger(blockDigits) || blockDigits < 1)
    throw new RangeError(`block size ${blockDigits}: a whole number of digits, at least 1`);
  const updated: SourceRecord = { ...record, blockDigits, blockBuckets: LIVE_BLOCK_BUCKETS };
  const run = scriptCommand(redis, REBUILD_BLOCKS_COMMAND, REBUILD_BLOCKS_LUA);
  const base = blockBucketKey(prefix, record.name, record.gen, 0).replace(/k:0$/, '');
  const reply = (await run(
    1,
    sourcesKey(prefix),
    record.name,
    read.json,
    recordJson(updated),
    base,
    record.buckets,
    blockDigits,
    LIVE_BLOCK_BUCKETS,
    Math.max(record.blockBuckets ?? 0, LIVE_BLOCK_BUCKETS),
    record.kind,
  )) as [string, number?, number?];
  if (reply[0] !== 'ok') return { done: false, numbers: 0, blocks: 0, record };
  return { done: true, numbers: Number(reply[1]), blocks: Number(reply[2]), record: updated };
}

/** The scripts a writer of single entries runs (see ./block-count-script.ts). */
export class BlockCountScripts {
  readonly cluster: boolean;
  private readonly livePut: ScriptCommand;
  private readonly blockAdd: ScriptCommand;

  constructor(private readonly redis: RedisClient) {
    this.cluster = isCluster(redis);
    this.livePut = scriptCommand(redis, LIVE_PUT_COMMAND, LIVE_PUT_LUA);
    this.blockAdd = scriptCommand(redis, BLOCK_ADD_COMMAND, BLOCK_ADD_LUA);
  }

  /**
   * HSET one entry of a live source and move its block's count by what the write changed; false when
   * the source's record is no longer `read` (read it again and retry)
   */
  async put(
    prefix: string,
    read: ReadRecord,
    bucket: string,
    e164: string,
    field: string,
    value: string,
  ): Promise<boolean> {
    const block = blockTarget(prefix, read.record, e164);
    const keys = this.cluster ? [bucket] : [bucket, sourcesKey(prefix), ...(block ? [block.key] : [])];
    const reply = (await this.livePut(
      keys.length,
      ...keys,
      field,
      value,
      read.record.name,
      this.cluster ? '' : read.json,
      block?.field ?? '',
    )) as string[];
    if (reply[0] !== 'ok') return false;
    await this.addOnCluster(block, reply[2]);
    return true;
  }

  /** on a Cluster the script could not reach the block's bucket: add the change it returned */
  async addOnCluster(block: { field: string; key: string } | null, delta: string | undefined): Promise<void> {
    if (!this.cluster || !block || delta === undefined || Number(delta) === 0) return;
    await this.blockAdd(1, block.key, block.field, delta);
  }
}
