/**
 * `callscreen report accuracy [--since 30d] [--until TIME] [--by week|did|signal] [--json] [--config FILE]`:
 * the screening's catch rate and error rate over the calls whose truth is known (agents' verdicts,
 * CAPTCHA outcomes), per signal how often it fired on known spam and known good callers, with plain
 * words where the truth is thin (src/accuracy/). --json prints one JSON object, the same as
 * GET /api/v1/accuracy. Exit codes: 0 ok, 1 Redis not reachable (or lost mid-read), 2 bad input.
 */
import { Option, type Command } from 'commander';
import { GROUP_BY, type GroupBy } from '../accuracy/accuracy-report';
import { DEFAULT_ACCURACY_SINCE, readAccuracyReport } from '../accuracy/report-reading';
import { renderAccuracy } from '../accuracy/report-render';
import { loadConfig } from '../config/load-config';
import { reportRange, withReportSources } from './report-sources';

interface AccuracyOptions {
  since: string;
  until?: string;
  by?: GroupBy;
  json?: boolean;
  config: string;
}

/** `report accuracy`, beneath the `report` command (report-command.ts). */
export function registerReportAccuracyCommand(report: Command, defaultConfig: string): void {
  report
    .command('accuracy')
    .description('catch rate and error rate of the screening over the calls whose truth is known, per signal too')
    .option(
      '--since <time>',
      'from this time: a duration back from now (12h, 7d, 2w) or an ISO time',
      DEFAULT_ACCURACY_SINCE,
    )
    .option('--until <time>', 'up to this time (same forms as --since; default now)')
    .addOption(new Option('--by <group>', 'the headline figures per week, DID or signal').choices(GROUP_BY))
    .option('--json', 'one JSON object (as GET /api/v1/accuracy answers)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: AccuracyOptions) => {
      const loaded = loadConfig(opts.config);
      const range = reportRange(opts, Date.now());
      const result = await withReportSources(loaded, 'callscreen-report-accuracy', ({ log, feedback }) =>
        readAccuracyReport(log, feedback, range, opts.by),
      );
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : renderAccuracy(result));
    });
}
