/**
 * `callscreen report NUMBER spam|ok [--note TEXT] [--agent NAME] [--config FILE]`: an agent's verdict
 * on a number, stored like one sent to POST /api/v1/feedback (counts in the feedback source, an entry
 * in the audit stream), then the number promoted to or removed from the managed allow list
 * (rules.managedFile; see src/config/managed-allow-list.ts). Prints the counts and whether the number
 * is on the managed allow list now. A number that is not one: exit 2 with the reason.
 */
import { hostname, userInfo } from 'node:os';
import { Argument, type Command } from 'commander';
import { withCommandConnection } from '../adapters/redis/redis-connection';
import { RedisFeedbackStore } from '../adapters/redis/redis-feedback-store';
import { FEEDBACK_VERDICTS, type FeedbackVerdict } from '../domain/reputation-entry';
import { loadConfig } from '../config/load-config';
import {
  cleanText,
  ManagedAllowList,
  managedFilePath,
  numberForFeedback,
  recordFeedback,
  type FeedbackOutcome,
} from '../reputation/managed-allow-list';
import { ConfigError } from '../errors/config-error';
import { registerReportAccuracyCommand } from './report-accuracy-command';
import { registerReportShadowCommand } from './report-shadow-command';

export interface ReportOptions {
  note?: string;
  agent?: string;
  config: string;
}

export function registerReportCommand(program: Command, defaultConfig: string): void {
  // `report accuracy` and `report shadow` are subcommands: commander runs one when the first argument
  // is its name, and this command's own action otherwise (no phone number reads "accuracy" or "shadow");
  // positional options: `report accuracy --config F` is the subcommand's --config, not this command's
  const report = program
    .command('report')
    .enablePositionalOptions()
    .usage('<number> <verdict> [options]  |  report accuracy [options]  |  report shadow [options]')
    .description(
      "record an agent's verdict on a number (counts, audit stream) and update the managed allow list; " +
        'or the accuracy and shadow-mode reports',
    )
    .argument('<number>', 'the caller number, written any way people write numbers')
    .addArgument(new Argument('<verdict>', 'spam, or ok (not spam)').choices(FEEDBACK_VERDICTS))
    .option('-n, --note <text>', 'why (kept in the audit stream)')
    .option('-a, --agent <name>', 'who reports (default: the user running the command)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (number: string, verdict: FeedbackVerdict, opts: ReportOptions) => {
      const result = await reportNumber(number, verdict, opts);
      process.stdout.write(renderReport(result));
      // the report counts; the list change did not happen (e.g. the file has a problem an admin must fix)
      if (result.listError)
        process.stderr.write(
          `warning: the managed allow list (${result.managedFile}) was not changed: ${result.listError}\n`,
        );
    });
  registerReportAccuracyCommand(report, defaultConfig);
  registerReportShadowCommand(report, defaultConfig);
}

export interface ReportResult extends FeedbackOutcome {
  e164: string;
  verdict: FeedbackVerdict;
  managedFile: string;
}

export async function reportNumber(
  number: string,
  verdict: FeedbackVerdict,
  opts: ReportOptions,
): Promise<ReportResult> {
  const loaded = loadConfig(opts.config);
  const { config } = loaded;
  const region = config.numbers.defaultRegion;
  const parsed = numberForFeedback(number, region);
  // bad input is reported like a config problem (exit 2), naming the argument
  if ('reason' in parsed) throw new ConfigError([{ file: 'NUMBER', line: 0, column: 0, reason: parsed.reason }]);
  const options = {
    connectionName: 'callscreen-report',
    commandTimeoutMs: Math.max(config.redis.commandTimeoutMs, 2000),
    unreachableSuffix: '; nothing was stored',
  };
  return withCommandConnection(config.redis, options, async (redis) => {
    const store = new RedisFeedbackStore(
      redis,
      config.redis.keyPrefix,
      Date.now,
      config.screening.signals.blockReputation.blockDigits,
    );
    const managedFile = managedFilePath(loaded);
    const list = new ManagedAllowList({
      file: managedFile,
      defaultRegion: region,
      displayName: config.rules.managedFile,
    });
    const outcome = await recordFeedback(
      { store, list, promoteAfter: config.feedback.promoteAfter },
      {
        e164: parsed.e164,
        verdict,
        note: cleanText(opts.note, 500),
        agent: cleanText(opts.agent, 64) ?? currentUser(),
        at: Date.now(),
        host: hostname(),
      },
    );
    return { ...outcome, e164: parsed.e164, verdict, managedFile };
  });
}

export function renderReport(r: ReportResult): string {
  const lines = [`${r.e164}: reported ${r.verdict}; now spam ${r.entry.spam}, ok ${r.entry.ok}, last ${r.entry.last}`];
  const where = `the managed allow list (${r.managedFile})`;
  if (r.listError) lines.push(`managed allow list unchanged (see the warning)`);
  else if (r.change === 'added') lines.push(`promoted: added to ${where}`);
  else if (r.change === 'removed') lines.push(`demoted: removed from ${where}`);
  else lines.push(r.promoted ? `on ${where}` : `not on ${where}`);
  return `${lines.join('\n')}\n`;
}

function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
