/**
 * `callscreen import FILE --source NAME`: a feed file into the reputation list, replacing the source's
 * previous import atomically; `callscreen reputation sources` and `callscreen reputation remove-source`.
 *
 * Exit codes: 0 imported (also with rejected lines), 1 Redis or I/O failure, 2 bad options, a file
 * whose format cannot be read, or nothing to import (the source is then left as it was).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { type RedisClient, withCommandConnection } from '../adapters/redis/redis-connection';
import {
  ImportRefusedError,
  listSources,
  removeSource,
  writeFeedGeneration,
} from '../adapters/redis/reputation-import';
import { FEEDBACK_SOURCE, RETIRE_GRACE_MS, type SourceRecord } from '../adapters/redis/reputation-layout';
import { readRecord, rebuildBlockCounts } from '../adapters/redis/live-block-counts';
import { describeVanished, watchSources, type VanishedSource } from '../domain/vanished-sources';
import { expectedSourcesPath, readExpectedSources } from '../reputation/expected-sources-file';
import { dayOf } from '../domain/reputation-entry';
import { loadConfig } from '../config/load-config';
import type { CallscreenConfig } from '../config/schema';
import { FeedAggregate } from '../reputation/feeds/feed-aggregate';
import {
  FEED_FORMATS,
  FeedUsageError,
  parseColumnOption,
  parseMapOption,
  type FeedFormat,
} from '../reputation/feeds/feed-format';
import { FeedParser, readFeedFile } from '../reputation/feeds/reputation-feed';
import { RedisFeedSubscriptionStore } from '../adapters/redis/redis-feed-subscriptions';
import { feedStatusViews } from '../reputation/subscriptions/feed-status-view';
import { renderFeedStatuses } from './feeds-command';

/** bad lines printed on stderr; after that they are only counted */
const MAX_PRINTED_PROBLEMS = 50;
/** a bulk import's commands wait behind each other: a generous timeout */
const IMPORT_COMMAND_TIMEOUT_MS = 30_000;

export interface ImportOptions {
  source: string;
  format?: string;
  map: string[];
  skip: string[];
  score?: string;
  region?: string;
  complaints?: boolean;
  maxAgeDays?: string;
  diff: boolean;
  config: string;
}

export function registerImportCommands(program: Command, defaultConfig: string): void {
  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  program
    .command('import <file>')
    .description(
      'import a reputation feed (CSV, JSON or one number per line) as source NAME, replacing its previous import atomically',
    )
    .requiredOption('-s, --source <name>', 'source name (lower case letters, digits, - and _)')
    .option('-f, --format <format>', `${FEED_FORMATS.join(', ')} (default: detected from the first line)`)
    .option(
      '-m, --map <column=field>',
      'read FIELD (number, score, reports, category, firstSeen, lastSeen, name) from COLUMN (header name or number); repeatable',
      collect,
      [],
    )
    .option(
      '--skip <column=value>',
      'leave out rows whose COLUMN is VALUE (e.g. likely_admin=yes); repeatable',
      collect,
      [],
    )
    .option('--score <0..1>', 'score of numbers the file gives none (default 1)')
    .option('--region <CC>', 'region of numbers without a country code (default numbers.defaultRegion)')
    .option(
      '--complaints',
      'one row per complaint: reports count the rows, score = score x (1 - 0.5^complaints) (automatic for the FTC layout)',
    )
    .option(
      '--max-age-days <days>',
      'numbers last seen longer ago are stale and not imported (default screening.signals.reputation.maxAgeDays)',
    )
    .option('--no-diff', 'do not compare with the previous import (no new/updated/removed counts)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (file: string, opts: ImportOptions) => withExitCodes(() => importCommand(file, opts)));

  const reputation =
    program.commands.find((c) => c.name() === 'reputation') ??
    program.command('reputation').description('the reputation list and its sources');
  reputation
    .command('sources')
    .description('list the reputation sources: name, kind, entries, buckets, when imported, from what')
    .option('--json', 'one JSON array')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { json?: boolean; config: string }) =>
      withExitCodes(() =>
        withRedis(opts.config, async (redis, config) => {
          const { sources, problems } = await listSources(redis, config.redis.keyPrefix);
          const vanished = vanishedSources(path.resolve(opts.config), sources);
          process.stdout.write(
            opts.json
              ? `${JSON.stringify(sources)}\n`
              : renderSources(sources, vanished, configuredBlockDigits(config)),
          );
          // the feed subscriptions' status (feeds:), below the sources
          if (!opts.json && config.feeds.length > 0) {
            const statuses = await new RedisFeedSubscriptionStore(redis, config.redis.keyPrefix).statuses();
            process.stdout.write(`\n${renderFeedStatuses(feedStatusViews(config.feeds, statuses))}`);
          }
          for (const p of problems) process.stderr.write(`warning: ${p}\n`);
          if (opts.json) for (const v of vanished) process.stderr.write(`error: ${vanishedLine(v)}\n`);
        }),
      ),
    );
  reputation
    .command('rebuild-blocks <name>')
    .description(
      'count the block counts of a live or feedback source again, for the configured block size (a feed: re-import it)',
    )
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (name: string, opts: { config: string }) =>
      withExitCodes(() =>
        withRedis(opts.config, async (redis, config) => {
          const blockDigits = configuredBlockDigits(config);
          if (blockDigits === 0)
            throw new FeedUsageError('screening.signals.blockReputation.blockDigits is 0: no block counts to build');
          for (let attempt = 0; ; attempt++) {
            const read = await readRecord(redis, config.redis.keyPrefix, name);
            if (!read)
              throw new FeedUsageError(`no source ${JSON.stringify(name)} (see: callscreen reputation sources)`);
            if (read.record.kind === 'feed')
              throw new FeedUsageError(
                `source ${name} is a feed: its block counts are built by each import (re-import it: callscreen import FILE --source ${name})`,
              );
            const result = await rebuildBlockCounts(redis, config.redis.keyPrefix, read, blockDigits);
            if (result.done) {
              process.stdout.write(
                `source ${name}: ${counted(result.numbers, 'listed number')} counted in ${counted(result.blocks, 'block')} of ${blockDigits} digits\n`,
              );
              return;
            }
            if (attempt >= 4) throw new Error(`source ${name}: its record kept changing; try again`);
          }
        }),
      ),
    );
  reputation
    .command('remove-source <name>')
    .description('take a source out of the reputation list (its keys are deleted a minute later)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (name: string, opts: { config: string }) =>
      withExitCodes(() =>
        withRedis(opts.config, async (redis, config) => {
          const removed = await removeSource(redis, config.redis.keyPrefix, name);
          if (!removed)
            throw new FeedUsageError(`no source ${JSON.stringify(name)} (see: callscreen reputation sources)`);
          process.stdout.write(
            `removed source ${name} (${removed.kind}, ${removed.entries} numbers); its keys are deleted after ${RETIRE_GRACE_MS / 1000} s\n`,
          );
        }),
      ),
    );
}

/** bad options and unreadable files exit 2 with one line; a configuration error goes on to main's handler */
async function withExitCodes(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof FeedUsageError || e instanceof ImportRefusedError) {
      process.stderr.write(`callscreen: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}

async function withRedis<T>(
  configFile: string,
  run: (redis: RedisClient, config: CallscreenConfig) => Promise<T>,
  autoPipelining = false,
): Promise<T> {
  const { config } = loadConfig(configFile);
  return withCommandConnection(
    config.redis,
    { connectionName: 'callscreen-import', autoPipelining, commandTimeoutMs: IMPORT_COMMAND_TIMEOUT_MS },
    (redis) => run(redis, config),
  );
}

async function importCommand(file: string, opts: ImportOptions): Promise<void> {
  const started = performance.now();
  const { config } = loadConfig(opts.config);
  const format = opts.format?.toLowerCase();
  if (format !== undefined && !FEED_FORMATS.includes(format as FeedFormat))
    throw new FeedUsageError(`--format ${JSON.stringify(opts.format)}: one of ${FEED_FORMATS.join(', ')}`);
  const region = (opts.region ?? config.numbers.defaultRegion).toUpperCase();
  if (!isSupportedCountry(region))
    throw new FeedUsageError(
      `--region ${JSON.stringify(region)}: not a region libphonenumber knows (ISO 3166 alpha-2, e.g. CH, US)`,
    );
  const score = opts.score === undefined ? 1 : Number(opts.score);
  if (!Number.isFinite(score) || score < 0 || score > 1)
    throw new FeedUsageError(`--score ${JSON.stringify(opts.score)}: a number from 0 to 1`);
  const maxAgeDays =
    opts.maxAgeDays === undefined ? config.screening.signals.reputation.maxAgeDays : Number(opts.maxAgeDays);
  if (!Number.isFinite(maxAgeDays) || maxAgeDays < 1)
    throw new FeedUsageError(`--max-age-days ${JSON.stringify(opts.maxAgeDays)}: a number of days, at least 1`);
  const maps = opts.map.map(parseMapOption);
  const skips = opts.skip.map((s) => parseColumnOption(s, '--skip'));
  const today = dayOf(Date.now());

  let printed = 0;
  const aggregate = new FeedAggregate({ defaultScore: score, today, maxAgeDays }, (line, reason) => {
    if (printed++ < MAX_PRINTED_PROBLEMS) process.stderr.write(`${file}:${line}: ${reason}\n`);
  });
  const parser = new FeedParser(
    {
      ...(format ? { format: format as FeedFormat } : {}),
      region: region,
      maps,
      skips,
      today,
      ...(opts.complaints ? { complaints: true } : {}),
    },
    aggregate,
  );
  const progress = new Progress(file);
  try {
    await readFeedFile(file, parser, (bytes) => progress.reading(parser.lines, bytes));
  } finally {
    progress.clear();
  }
  if (printed > MAX_PRINTED_PROBLEMS)
    process.stderr.write(`${file}: ${printed - MAX_PRINTED_PROBLEMS} more rejected lines not shown\n`);
  aggregate.finish(parser.plan?.complaints ?? false);
  const { counts } = aggregate;
  if (aggregate.size === 0) {
    throw new FeedUsageError(
      `${file}: no numbers to import (${counts.rejected} rejected, ${counts.skipped} skipped, ${counts.stale} stale); source ${opts.source} left as it was`,
    );
  }

  const result = await withRedis(
    opts.config,
    async (redis, cfg) => {
      try {
        return await writeFeedGeneration(redis, cfg.redis.keyPrefix, {
          source: opts.source,
          origin: path.basename(file),
          entries: aggregate,
          categories: aggregate.categories,
          blockDigits: configuredBlockDigits(cfg),
          diff: opts.diff,
          onProgress: (written, total) => progress.writing(written, total),
          onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
        });
      } finally {
        progress.clear();
      }
    },
    // no auto-pipelining: 64 HSETs in flight already fill the socket, and measured (bench/import) it
    // halves the write time (2.5 s instead of 5.2 s for a million numbers)
    false,
  );
  const seconds = (performance.now() - started) / 1000;
  const n = (v: number | undefined): string => (v === undefined ? '?' : String(v));
  process.stdout.write(
    `imported ${result.entries} (new ${n(result.added)}, updated ${n(result.updated)}, removed ${n(result.removed)}), rejected ${counts.rejected}, skipped ${counts.skipped + counts.stale}, duplicates ${counts.duplicates} in ${seconds.toFixed(1)} s\n` +
      `  source ${result.record.name}: generation ${result.record.gen}, ${result.record.buckets} buckets, ${result.record.categories.length} categories` +
      (result.record.blockDigits !== undefined
        ? `, ${counted(result.blocks, 'block')} of ${result.record.blockDigits} digits with listed numbers`
        : '') +
      (process.env.CALLSCREEN_DEBUG
        ? ` (write ${Math.round(result.writeMs)} ms, compare ${Math.round(result.diffMs)} ms)`
        : '') +
      (counts.stale > 0
        ? `; ${counts.stale} numbers last seen more than ${maxAgeDays} days ago left out as stale`
        : '') +
      (counts.categoriesDropped > 0
        ? `; more than ${aggregate.categories.length} categories: the rest stored as none`
        : '') +
      '\n',
  );
}

/**
 * The sources the daemon expected (its state file beside the config, reputation-expected.json) that are
 * gone from Redis now: see src/domain/vanished-sources.ts. Read only: the file is the daemon's.
 */
export function vanishedSources(configFile: string, sources: readonly SourceRecord[]): VanishedSource[] {
  const { expected } = readExpectedSources(expectedSourcesPath({ file: configFile }));
  return watchSources(
    expected,
    {
      tableBornAt: sources.find((s) => s.name === FEEDBACK_SOURCE)?.importedAt,
      sources,
      bucketsMissing: new Set(),
    },
    Date.now(),
  ).open;
}

function vanishedLine(source: VanishedSource): string {
  const since = new Date(source.vanishedAt).toISOString().replace(/\.\d+Z$/, 'Z');
  return `REPUTATION LIST VANISHED: ${describeVanished(source)}, since ${since}; re-import it (callscreen import --source ${source.name} FILE)`;
}

/** "1 block", "2 blocks" */
function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** the block size the configuration counts (screening.signals.blockReputation.blockDigits; 0: none) */
export function configuredBlockDigits(config: CallscreenConfig): number {
  return config.screening.signals.blockReputation.blockDigits;
}

/** the BLOCKS cell: the block size counted, and whether the configured one differs */
function blocksCell(source: SourceRecord, blockDigits: number | undefined): string {
  if (source.blockDigits === undefined) return blockDigits === 0 ? '-' : 'none';
  if (blockDigits !== undefined && blockDigits > 0 && source.blockDigits !== blockDigits)
    return `${source.blockDigits} digits (not ${blockDigits})`;
  return `${source.blockDigits} digits`;
}

/** a line per source whose block counts the reader ignores: how to count them for the configured size */
function blockNotes(sources: readonly SourceRecord[], blockDigits: number | undefined): string {
  if (blockDigits === undefined || blockDigits === 0) return '';
  return sources
    .filter((s) => s.blockDigits !== blockDigits)
    .map((s) => {
      const what = s.blockDigits === undefined ? 'has no block counts' : `counts blocks of ${s.blockDigits} digits`;
      const how =
        s.kind === 'feed'
          ? `re-import it (callscreen import FILE --source ${s.name})`
          : `run callscreen reputation rebuild-blocks ${s.name}${s.blockDigits === undefined ? ' (or it is counted at its next write)' : ''}`;
      return `note: source ${s.name} ${what}, the configuration ${blockDigits}: block reputation leaves it out until you ${how}\n`;
    })
    .join('');
}

/**
 * the table; a source Redis lost (`vanished`) comes first, one loud line each; with the configured
 * block size (`blockDigits`), a note under it for each source whose block counts do not fit it
 */
export function renderSources(
  sources: readonly SourceRecord[],
  vanished: readonly VanishedSource[] = [],
  blockDigits?: number,
): string {
  const alarm = vanished.map((v) => `${vanishedLine(v)}\n`).join('');
  if (sources.length === 0) return `${alarm}no reputation sources\n`;
  return alarm + renderSourceTable(sources, blockDigits) + blockNotes(sources, blockDigits);
}

function renderSourceTable(sources: readonly SourceRecord[], blockDigits: number | undefined): string {
  const rows = [
    ['NAME', 'KIND', 'ENTRIES', 'BUCKETS', 'BLOCKS', 'IMPORTED AT', 'ORIGIN'],
    ...sources.map((s) => [
      s.name,
      s.kind,
      String(s.entries),
      String(s.buckets),
      blocksCell(s, blockDigits),
      s.importedAt > 0 ? new Date(s.importedAt).toISOString().replace(/\.\d+Z$/, 'Z') : '-',
      s.origin ?? '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** A one-line progress display on stderr when it is a terminal; nothing otherwise. */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = performance.now();
  private last = 0;
  private readonly size: number;

  constructor(file: string) {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // unreadable: reading says so
    }
    this.size = size;
  }

  reading(lines: number, bytes: number): void {
    if (!this.due()) return;
    const seconds = (performance.now() - this.started) / 1000;
    const pct = this.size > 0 ? ` ${Math.min(100, Math.floor((bytes / this.size) * 100))}%` : '';
    this.show(
      `reading: ${lines.toLocaleString('en')} lines, ${Math.round(lines / Math.max(seconds, 0.001)).toLocaleString('en')} lines/s${pct}`,
    );
  }

  writing(written: number, total: number): void {
    if (!this.due()) return;
    this.show(
      `writing: ${written.toLocaleString('en')} of ${total.toLocaleString('en')} buckets ${Math.floor((written / total) * 100)}%`,
    );
  }

  clear(): void {
    if (this.tty && this.last > 0) process.stderr.write('\r\x1b[K');
  }

  private due(): boolean {
    if (!this.tty) return false;
    const now = performance.now();
    if (now - this.last < 200) return false;
    this.last = now;
    return true;
  }

  private show(text: string): void {
    process.stderr.write(`\r\x1b[K${text}`);
  }
}
