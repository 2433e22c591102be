/**
 * `callscreen log`: the screened-call log from Redis.
 *   callscreen log [--since 2h] [--until TIME] [--verdict V[,V]] [--number N] [--did D] [--limit N] [--follow] [--json]
 *   callscreen log export [--since ...] [--until ...] [filters] [--format csv|jsonl] [--output FILE]
 *   callscreen log prune
 * Exit codes: 0 ok, 1 Redis not reachable (or lost mid-read), 2 bad input.
 * An entry of the log that is not a call record is skipped, not an error: stderr says how many.
 */
import { once } from 'node:events';
import { createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import { connectOrThrow, createRedisClient, describeRedis, type RedisClient } from '../adapters/redis/redis-connection';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { errorText } from '../errors/error-text';
import type { LoggedCall } from '../ports/call-log';
import { idRange, matchesFilter, parseLogQuery, type LogOptions, type LogQuery } from '../call-log/call-log-query';
import { SkippedEntries } from '../call-log/skipped-entries';
import {
  columnWidths,
  csvHeader,
  csvRow,
  followWidths,
  jsonLine,
  renderRow,
  renderTable,
  tableRow,
  type ColumnWidths,
  type TableRow,
} from '../call-log/call-log-render';

/** how long one XREAD waits for new entries before asking again */
const FOLLOW_BLOCK_MS = 5000;
/** a blocked read that has not come back this long after its BLOCK time: Redis hangs */
const FOLLOW_TIMEOUT_SLACK_MS = 5000;
const RETRY_MAX_MS = 5000;
/** a one-shot read or trim that takes longer than this: Redis is not answering */
const CLI_COMMAND_TIMEOUT_MS = 10_000;

interface ShowOptions extends LogOptions {
  json?: boolean;
  config: string;
}

interface ExportOptions extends LogOptions {
  format: 'csv' | 'jsonl';
  output?: string;
  config: string;
}

function addFilters(cmd: Command): Command {
  return cmd
    .option('--since <time>', 'from this time: a duration back from now (90s, 15m, 2h, 7d) or an ISO time', '24h')
    .option('--until <time>', 'up to this time (same forms as --since; default now)')
    .option('--verdict <verdicts>', 'only these verdicts, comma-separated: allow, challenge, voicemail, reject')
    .option(
      '--number <number>',
      'only calls from this caller (normalised like live callers; "withheld" for withheld numbers)',
    )
    .option('--did <number>', 'only calls to this DID');
}

export function registerLogCommands(program: Command, defaultConfig: string): void {
  const log = program
    .command('log')
    .description('the screened-call log: show, follow, export and prune it (`callscreen log --since 2h`)');
  addFilters(
    log
      .command('show', { isDefault: true })
      .description('show screened calls, oldest first (the default: `callscreen log` is `callscreen log show`)'),
  )
    .option('--limit <n>', 'show at most the last N matching calls', '1000')
    .option('-f, --follow', 'after the range, print new calls as they are screened, until Ctrl-C')
    .option('--json', 'one JSON object per line: the stored record and its stream id')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: ShowOptions) => showLog(opts));
  addFilters(log.command('export').description('write the calls in a range as CSV or JSON lines, streamed in batches'))
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(['csv', 'jsonl']).default('csv'))
    .option('-o, --output <file>', 'write to this file (default: standard output)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: ExportOptions) => exportLog(opts));
  log
    .command('prune')
    .description('apply callLog.maxAgeDays and callLog.maxLength now; prints how many entries went')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { config: string }) => pruneLog(opts.config));
}

// ---- connection ----

async function openLog(
  loaded: LoadedConfig,
  connectionName: string,
): Promise<{ redis: RedisClient; log: RedisCallLog }> {
  const { config } = loaded;
  const redis = createRedisClient(config.redis, {
    connectionName,
    reconnect: false,
    commandTimeoutMs: CLI_COMMAND_TIMEOUT_MS,
  });
  redis.on('error', () => undefined);
  await connectOrThrow(redis, config.redis);
  const log = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength, {
    maxAgeDays: config.callLog.maxAgeDays,
  });
  return { redis, log };
}

async function closeQuietly(redis: RedisClient): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/** Reading a range failed half-way: say where, not a stack trace. */
function lostRedis(where: string, e: unknown): Error {
  return new Error(`Redis at ${where} stopped answering (${errorText(e)})`, { cause: e });
}

// ---- output ----

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** `callscreen log | head` closes the pipe early: end quietly instead of an EPIPE stack trace. */
function exitOnClosedPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
}

function rangeText(query: Pick<LogQuery, 'sinceMs' | 'untilMs'>): string {
  return `since ${new Date(query.sinceMs).toISOString()}${query.untilMs !== undefined ? ` until ${new Date(query.untilMs).toISOString()}` : ''}`;
}

const useColour = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;

// ---- show / follow ----

async function showLog(opts: ShowOptions): Promise<void> {
  const loaded = loadConfig(opts.config);
  const { config } = loaded;
  const query = parseLogQuery(opts, config.numbers.defaultRegion, Date.now());
  exitOnClosedPipe();
  const { redis, log } = await openLog(loaded, 'callscreen-log');
  const skipped = new SkippedEntries();
  let lastId: string;
  let widths: ColumnWidths | undefined;
  try {
    // with --follow, the range ends at the newest entry now, and following reads on after it: no gap, no repeat
    lastId = query.follow ? await log.lastId() : '+';
    const picked: LoggedCall[] = [];
    let more = false;
    for await (const call of log.entriesNewestFirst(idRange(query, lastId), { onUnreadable: skipped.add })) {
      if (!matchesFilter(call.record, query.filter)) continue;
      if (picked.length === query.limit) {
        more = true;
        break;
      }
      picked.push(call);
    }
    picked.reverse();

    const footer: string[] = [];
    if (picked.length === 0)
      footer.push(`no screened calls${opts.verdict || opts.number || opts.did ? ' matching' : ''} ${rangeText(query)}`);
    if (more)
      footer.push(
        `only the last ${query.limit} matching calls are shown; more matched ${rangeText(query)} (raise --limit or narrow --since)`,
      );

    if (opts.json) {
      for (const call of picked) await write(process.stdout, jsonLine(call));
      for (const f of footer) process.stderr.write(`${f}\n`);
    } else {
      const rows = picked.map((c) => tableRow(c.record));
      widths = query.follow ? followWidths(rows) : columnWidths(rows);
      if (rows.length > 0 || query.follow) await write(process.stdout, renderTable(rows, useColour(), widths));
      footer.push(...legend(rows));
      for (const f of footer) await write(process.stdout, `${f}\n`);
    }
  } catch (e) {
    await closeQuietly(redis);
    throw lostRedis(describeRedis(config.redis), e);
  }
  await closeQuietly(redis);
  const note = skipped.note();
  if (note) process.stderr.write(`callscreen: ${note}\n`);
  if (query.follow) await follow(loaded, query, lastId, opts.json ? undefined : (widths as ColumnWidths));
}

/** What the table's marks mean, when a row has one. */
function legend(rows: readonly TableRow[]): string[] {
  const notes: string[] = [];
  if (rows.some((r) => r.SCORE.endsWith('*')))
    notes.push('score*: degraded, Redis did not answer in time and the call was decided on rules and the number alone');
  if (rows.some((r) => r.ROUTED.endsWith('!')))
    notes.push('routed!: routing failed, the dialplan fallback took the call (see --json routeError)');
  return notes;
}

/**
 * Print new calls as they are logged (XREAD BLOCK on its own connection) until SIGINT/SIGTERM.
 * Redis going away: one message, retries with a capped backoff, and on from the last id seen.
 */
async function follow(
  loaded: LoadedConfig,
  query: LogQuery,
  fromId: string,
  widths: ColumnWidths | undefined,
): Promise<void> {
  const { config } = loaded;
  const url = describeRedis(config.redis);
  // BLOCK must not run into the configured command timeout (150 ms); a timeout past the BLOCK time
  // still tells a hung Redis from a quiet log
  const redis = createRedisClient(config.redis, {
    connectionName: 'callscreen-log-follow',
    reconnect: true,
    commandTimeoutMs: FOLLOW_BLOCK_MS + FOLLOW_TIMEOUT_SLACK_MS,
  });
  redis.on('error', () => undefined);
  const log = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength);
  const colour = useColour();

  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopped = true;
    wake?.();
    redis.disconnect(); // ends a blocked XREAD at once
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stderr.write(`following new calls (Ctrl-C to stop)\n`);

  let lastId = fromId;
  let down = false;
  let failures = 0;
  try {
    await redis.connect().catch(() => undefined); // a failure here is handled by the loop's retries
    while (!stopped) {
      try {
        const { calls, lastId: next } = await log.readAfter(lastId, FOLLOW_BLOCK_MS, undefined, {
          onUnreadable: (id, problem) =>
            process.stderr.write(`callscreen: skipped log entry ${id}, not a call record (${problem})\n`),
        });
        if (down) {
          process.stderr.write(`callscreen: Redis at ${url} is back; following on after ${lastId}\n`);
          down = false;
        }
        failures = 0;
        lastId = next;
        for (const call of calls) {
          if (!matchesFilter(call.record, query.filter)) continue;
          await write(process.stdout, widths ? renderRow(tableRow(call.record), widths, colour) : jsonLine(call));
        }
      } catch (e) {
        if (stopped) break;
        if (!down) {
          process.stderr.write(
            `callscreen: lost Redis at ${url} (${errorText(e)}); retrying, will resume after ${lastId}\n`,
          );
          down = true;
        }
        const delay = Math.min(250 * 2 ** Math.min(failures, 5), RETRY_MAX_MS);
        failures++;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    redis.disconnect();
  }
}

// ---- export ----

async function exportLog(opts: ExportOptions): Promise<void> {
  const loaded = loadConfig(opts.config);
  const { config } = loaded;
  const query = parseLogQuery({ ...opts, follow: false }, config.numbers.defaultRegion, Date.now());
  exitOnClosedPipe();
  const { redis, log } = await openLog(loaded, 'callscreen-log-export');
  // a file is written beside its name and renamed at the end: a failed export leaves no half file behind
  const partial = opts.output ? `${opts.output}.partial` : undefined;
  let out: Writable = process.stdout;
  let writeError: Error | undefined;
  let count = 0;
  const skipped = new SkippedEntries();
  try {
    // opened here so that a path that cannot be written fails at once with its own error (exit 1)
    if (partial) out = createWriteStream(partial, { fd: openSync(partial, 'w') });
    out.on('error', (e: Error) => {
      writeError = e;
    });
    const emit = async (text: string): Promise<void> => {
      if (writeError) throw writeError;
      await write(out, text);
    };
    if (opts.format === 'csv') await emit(csvHeader());
    for await (const call of log.entries(idRange(query), { onUnreadable: skipped.add })) {
      if (!matchesFilter(call.record, query.filter)) continue;
      await emit(opts.format === 'csv' ? csvRow(call.record) : jsonLine(call));
      count++;
    }
    if (writeError) throw writeError;
    if (partial && opts.output) {
      out.end();
      await once(out, 'finish');
      renameSync(partial, opts.output);
    }
  } catch (e) {
    if (partial && out !== process.stdout) {
      out.destroy();
      rmSync(partial, { force: true });
    }
    throw (e as NodeJS.ErrnoException).syscall ? e : lostRedis(describeRedis(config.redis), e);
  } finally {
    await closeQuietly(redis);
  }
  process.stderr.write(`exported ${count} calls ${rangeText(query)} to ${opts.output ?? 'standard output'}\n`);
  const note = skipped.note();
  if (note) process.stderr.write(`callscreen: ${note}\n`);
}

// ---- prune ----

async function pruneLog(configFile: string): Promise<void> {
  const loaded = loadConfig(configFile);
  const { config } = loaded;
  const { redis, log } = await openLog(loaded, 'callscreen-log-prune');
  try {
    const { byAge, byCount, left } = await log.prune();
    process.stdout.write(
      `${log.key}: pruned ${byAge + byCount} entries (${byAge} older than ${config.callLog.maxAgeDays} days, ${byCount} over the cap of ${config.callLog.maxLength}); ${left} left\n`,
    );
  } catch (e) {
    throw lostRedis(describeRedis(config.redis), e);
  } finally {
    await closeQuietly(redis);
  }
}
