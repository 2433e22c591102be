/**
 * The `callscreen` command line: argument parsing, exit codes and signal handling only.
 *   callscreen run [--config FILE]
 *   callscreen rules validate [FILE] [--config FILE]
 *   callscreen import FILE --source NAME [--format csv|json|lines] [--map C=F] [--skip C=V] [--config FILE]
 *   callscreen reputation sources | remove-source NAME
 *   callscreen check NUMBER [--to DID] [--at TIME] [--attest A|B|C|none|failed] [--json] [--config FILE]
 *   callscreen report NUMBER spam|ok [--note TEXT] [--agent NAME] [--config FILE]
 * Exit codes: 0 ok, 1 failure, 2 bad configuration or input (the message names file, line and reason).
 */
import { Command, CommanderError } from 'commander';
import type { CountryCode } from 'libphonenumber-js';
import { CallscreenDaemon } from './app';
import { checkCall, checkJson, renderCheck } from './cli/check-call';
import { registerLogCommands } from './cli/call-log-command';
import { registerReportCommand } from './cli/report-command';
import { managedFilePath } from './config/managed-allow-list';
import { loadConfig, type LoadedConfig } from './config/load-config';
import { validateRuleFiles } from './config/rules-file';
import { countRules, describeRule, expiredRules, RULE_KINDS } from './domain/rule-set';
import { ConfigError, formatProblem } from './errors/config-error';
import { registerImportCommands } from './cli/import-command';
import { createLogger } from './logger';

const DEFAULT_CONFIG = process.env.CALLSCREEN_CONFIG ?? 'config/callscreen.yaml';

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('callscreen')
    .description('Call screening for Asterisk and FreePBX')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('run')
    .description('run the screening daemon (connects to ARI and Redis)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .action(async (opts: { config: string }) => runDaemon(opts.config));
  const rules = program.command('rules').description('allow and deny rules');
  rules
    .command('validate [file]')
    .description('check a rules file; prints every problem with file, line and column')
    .option('-c, --config <file>', 'configuration file (for numbers.defaultRegion and rules.file)', DEFAULT_CONFIG)
    .action((file: string | undefined, opts: { config: string }) => validateRules(file, opts.config));
  registerImportCommands(program, DEFAULT_CONFIG);

  program
    .command('check <number>')
    .description('show the verdict, score and reasons a call from NUMBER would get, the way a live call is decided (writes nothing)')
    .option('-t, --to <did>', 'the number called (DID); policies and rule scopes depend on it')
    .option('--at <time>', 'the time of the call, ISO 8601 (default now); policies with time windows depend on it')
    .option('--attest <level>', 'STIR/SHAKEN attestation: A, B, C, none or failed')
    .option('--json', 'print the decision as one JSON object')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .action(async (number: string, opts: { to?: string; at?: string; attest?: string; json?: boolean; config: string }) => {
      const result = await checkCall(loadConfig(opts.config), { number, ...opts });
      process.stdout.write(opts.json ? checkJson(result) : renderCheck(result));
    });

  registerLogCommands(program, DEFAULT_CONFIG);
  registerReportCommand(program, DEFAULT_CONFIG);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
  // one-shot commands end here; a client library's leftover timer (ioredis keeps a connect timer
  // after a refused connection) must not hold the shell for seconds
  if (program.args[0] !== 'run') process.stdout.write('', () => process.exit());
}

function reportError(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof ConfigError) {
    process.stderr.write(`callscreen: configuration error\n${e.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
    return 2;
  }
  const err = e as Error & { code?: string };
  process.stderr.write(`callscreen: ${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}\n`);
  if (process.env.CALLSCREEN_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
  return 1;
}

async function runDaemon(configFile: string): Promise<void> {
  const loaded = loadConfig(configFile);
  const logger = createLogger(loaded.config.log.level);
  logger.info({ config: loaded.file }, 'starting');
  const running: { daemon?: CallscreenDaemon } = {};
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    if (!running.daemon) process.exit(0);
    running.daemon.close().then(
      () => logger.flush(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  running.daemon = await CallscreenDaemon.start(loaded, logger);
  logger.info('screening calls');
}

function validateRules(file: string | undefined, configFile: string): void {
  let region: CountryCode = 'US';
  let rulesFile = file;
  let managedFile: string | undefined;
  try {
    const loaded: LoadedConfig = loadConfig(configFile);
    region = loaded.config.numbers.defaultRegion as CountryCode;
    if (!file) managedFile = managedFilePath(loaded); // the managed allow list, when the files come from the config
    rulesFile ??= loaded.rulesFile;
  } catch (e) {
    if (!file) throw e; // without a file argument the config is needed to find the rules
  }
  // a problem throws ConfigError: reportError prints each as "file:line:col reason" and exits 2
  const { rules: set, managed } = validateRuleFiles(rulesFile as string, managedFile, region);
  const counts = countRules(set.rules);
  const allow = set.rules.filter((r) => r.list === 'allow').length;
  const byKind = (list: 'allow' | 'deny'): string => RULE_KINDS.map((kind) => `${counts[list][kind]} ${kind}`).join(', ');
  process.stdout.write(`${rulesFile}: ok, ${allow} allow and ${set.rules.length - allow} deny rules (region ${region})\n  allow: ${byKind('allow')}\n  deny: ${byKind('deny')}\n`);
  if (managed) process.stdout.write(`${managedFile}: ok, ${managed.rules.length} allow rules (managed allow list, from agents' feedback)\n`);
  // an expired rule is not an error (it was meant to end), but an admin should clean it up
  for (const rule of expiredRules(set, new Date())) process.stderr.write(`warning: expired, no longer matches: ${describeRule(rule)}\n`);
}
