/**
 * `callscreen replay [--since 7d] [--until TIME] [--did DID] [--config CANDIDATE.yaml] [--rules CANDIDATE_RULES.yaml]
 * [--show N] [--json]`: what a candidate configuration or rules file would have done to the logged calls. Each
 * call in the range is decided again by the pure core (src/replay/) from the inputs its record kept; nothing is
 * written, and Redis is read only for the log itself, in batches (bounded memory whatever the range).
 * --config defaults to the running configuration (whose Redis holds the log), --rules to its rules.file; the
 * managed allow list and the contacts sources are the ones in force. Exit codes: 0 ok, 1 Redis not reachable,
 * 2 bad input (a candidate with a problem names its file, line and reason).
 */
import type { Command } from 'commander';
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import { withCommandConnection } from '../adapters/redis/redis-connection';
import { SkippedEntries } from '../call-log/skipped-entries';
import { loadConfig } from '../config/load-config';
import { VERDICTS } from '../domain/decision';
import { prepareReplay, runReplay, type ReplayResult } from '../replay/replay-log';
import { type ReplaySummary, type TransitionMatrix } from '../replay/replay-report';

export interface ReplayOptions {
  since: string;
  until?: string;
  did?: string;
  config: string;
  rules?: string;
  show: string;
  json?: boolean;
}

export function registerReplayCommand(program: Command, defaultConfig: string): void {
  program
    .command('replay')
    .description(
      'decide the logged calls again under a candidate configuration or rules file and show what would change (writes nothing)',
    )
    .option('--since <time>', 'from this time: a duration back from now (15m, 2h, 7d) or an ISO time', '7d')
    .option('--until <time>', 'up to this time (same forms; default now)')
    .option('--did <number>', 'only calls to this DID')
    .option('-c, --config <file>', 'the candidate configuration (default: the running one)', defaultConfig)
    .option('-r, --rules <file>', "a candidate rules file instead of the configuration's rules.file")
    .option('--show <n>', 'list at most this many changed calls with their old and new reasons', '20')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: ReplayOptions) => {
      const summary = await replayLog(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : renderReplay(summary));
    });
}

export async function replayLog(options: ReplayOptions): Promise<ReplayResult> {
  const loaded = loadConfig(options.config);
  const { config } = loaded;
  const prepared = prepareReplay(
    loaded,
    {
      since: options.since,
      show: options.show,
      ...(options.until !== undefined && { until: options.until }),
      ...(options.did !== undefined && { did: options.did }),
      ...(options.rules !== undefined && { rulesFile: options.rules }),
    },
    Date.now(),
  );

  return withCommandConnection(config.redis, { connectionName: 'callscreen-replay' }, async (redis) => {
    const log = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength);
    const unreadable = new SkippedEntries();
    const result = await runReplay(log, prepared, { unreadable });
    const note = unreadable.note();
    if (note) process.stderr.write(`${note}\n`);
    return result;
  });
}

const pct = (n: number, of: number): string => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)} %`);

function matrixLines(matrix: TransitionMatrix): string[] {
  const width = 11;
  const lines = [`  ${'before \\ after'.padEnd(16)}${VERDICTS.map((v) => v.padStart(width)).join('')}`];
  for (const from of VERDICTS) {
    const row = matrix[from];
    if (VERDICTS.every((to) => row[to] === 0)) continue;
    lines.push(
      `  ${from.padEnd(16)}${VERDICTS.map((to) => (from === to ? `(${row[to]})` : String(row[to])).padStart(width)).join('')}`,
    );
  }
  return lines;
}

/** The summary as a person reads it: the matrix, the effect (customers called out), the top numbers and DIDs, the changed calls. */
export function renderReplay(s: ReplaySummary & { range?: { since: string; until: string } }): string {
  const lines: string[] = [];
  if (s.range) lines.push(`calls logged ${s.range.since} .. ${s.range.until}: ${s.calls}`);
  lines.push(
    `replayed from their inputs: ${s.replayed}; changed: ${s.changed} (${pct(s.changed, s.replayed)})`,
    ...(s.partial > 0 ? [`older records without inputs, replayed without history (counted apart): ${s.partial}`] : []),
    ...(s.skipped > 0
      ? [
          `not replayable: ${s.skipped} (${Object.entries(s.skippedBecause)
            .map(([why, n]) => `${why}: ${n}`)
            .join('; ')})`,
        ]
      : []),
    ...(s.withoutHistory > 0
      ? [
          `scored without history: ${s.withoutHistory} (a rule decided them, so Redis was not asked; no rule decides them now: reputation, velocity and CAPTCHA history are missing)`,
        ]
      : []),
    '',
    'verdicts, before -> after (unchanged in brackets):',
    ...matrixLines(s.matrix),
  );
  if (s.partial > 0)
    lines.push(
      '',
      'older records (no history: reputation, velocity and CAPTCHA signals missing):',
      ...matrixLines(s.partialMatrix),
    );
  const e = s.effect;
  lines.push(
    '',
    'estimated effect:',
    `  calls kept from the agents that reached them: ${e.agentCallsAvoided}`,
    `  calls let through to the agents that did not reach them: ${e.agentCallsAdded}`,
    `  likely customers newly challenged: ${e.customersNewlyChallenged}`,
  );
  if (e.customersNewlyVoicemail > 0 || e.customersNewlyRejected > 0)
    lines.push(
      `  !! LIKELY CUSTOMERS NEWLY SENT TO VOICEMAIL: ${e.customersNewlyVoicemail}, NEWLY REJECTED: ${e.customersNewlyRejected}`,
      '     (callers the old decision knew as people: a known customer, the agents\' "ok", a passed CAPTCHA, an allow rule)',
    );
  else lines.push('  likely customers newly sent to voicemail or rejected: 0');
  if (s.topNumbers.length > 0)
    lines.push('', 'numbers most affected:', ...s.topNumbers.map((t) => `  ${t.number.padEnd(18)}${t.changed}`));
  if (s.topDids.length > 0)
    lines.push('', 'DIDs most affected:', ...s.topDids.map((t) => `  ${t.did.padEnd(18)}${t.changed}`));
  if (s.changedCalls.length > 0) {
    lines.push('', `changed calls (the first ${s.changedCalls.length}):`);
    for (const c of s.changedCalls) {
      lines.push(
        `  ${c.at}  ${c.caller} -> ${c.did}  ${c.before} -> ${c.after}${c.likelyCustomer ? '  (likely customer)' : ''}`,
        ...c.oldReasons.map((r) => `      was  ${r}`),
        ...c.newReasons.map((r) => `      now  ${r}`),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
