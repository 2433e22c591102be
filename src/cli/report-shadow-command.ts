/**
 * `callscreen report shadow [--since 7d] [--until TIME] [--json] [--config FILE]`: for each DID screened
 * in shadow mode, what would have happened to its calls, the reasons that fired most and what is known
 * of their truth (src/accuracy/shadow-report.ts). Calls shadow mode would have allowed are found by the
 * configuration's policies with `shadow: true`. --json prints one JSON object, the same as
 * GET /api/v1/shadow. Exit codes: 0 ok, 1 Redis not reachable (or lost mid-read), 2 bad input.
 */
import type { Command } from 'commander';
import { DEFAULT_SHADOW_SINCE, readShadowReport, shadowPolicies } from '../accuracy/report-reading';
import { renderShadow } from '../accuracy/report-render';
import { loadConfig } from '../config/load-config';
import { reportRange, withReportSources } from './report-sources';

interface ShadowOptions {
  since: string;
  until?: string;
  json?: boolean;
  config: string;
}

/** `report shadow`, beneath the `report` command (report-command.ts). */
export function registerReportShadowCommand(report: Command, defaultConfig: string): void {
  report
    .command('shadow')
    .description('for each DID in shadow mode, what would have happened to its calls')
    .option(
      '--since <time>',
      'from this time: a duration back from now (12h, 7d, 2w) or an ISO time',
      DEFAULT_SHADOW_SINCE,
    )
    .option('--until <time>', 'up to this time (same forms as --since; default now)')
    .option('--json', 'one JSON object (as GET /api/v1/shadow answers)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: ShadowOptions) => {
      const loaded = loadConfig(opts.config);
      const range = reportRange(opts, Date.now());
      const policies = shadowPolicies(loaded.config.policies);
      const result = await withReportSources(loaded, 'callscreen-report-shadow', ({ log, feedback }) =>
        readShadowReport(log, feedback, range, policies),
      );
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : renderShadow(result));
    });
}
