/**
 * The `callscreen` command line: dispatches to one file per command (src/cli/) and turns errors into exit codes.
 *   callscreen run [--config FILE]
 *   callscreen rules validate [FILE] [--config FILE]
 *   callscreen import FILE --source NAME [--format csv|json|lines] [--map C=F] [--skip C=V] [--config FILE]
 *   callscreen reputation sources | remove-source NAME
 *   callscreen feeds update [NAME] [--allow-shrink] | feeds status
 *   callscreen check NUMBER [--to DID] [--at TIME] [--attest A|B|C|none|failed] [--json] [--config FILE]
 *   callscreen report NUMBER spam|ok [--note TEXT] [--agent NAME] [--config FILE]
 *   callscreen report accuracy [--since 30d] [--until TIME] [--by week|did|signal] [--json] [--config FILE]
 *   callscreen report shadow [--since 7d] [--until TIME] [--json] [--config FILE]
 *   callscreen contacts import FILE --source NAME [--format auto|csv|vcard] [--region CC] [--dry-run] | list | remove NAME
 * Exit codes: 0 ok, 1 failure, 2 bad configuration or input (the message names file, line and reason).
 */
import { Command, CommanderError } from 'commander';
import { registerLogCommands } from './cli/call-log-command';
import { registerCheckCommand } from './cli/check-command';
import { registerContactsCommands } from './cli/contacts-command';
import { registerReplayCommand } from './cli/replay-command';
import { registerDoctorCommand } from './cli/doctor-command';
import { registerFeedsCommands } from './cli/feeds-command';
import { registerImportCommands } from './cli/import-command';
import { registerReportCommand } from './cli/report-command';
import { registerRulesCommands } from './cli/rules-command';
import { registerRunCommand } from './cli/run-command';
import { ConfigError, formatProblem } from './errors/config-error';

const DEFAULT_CONFIG = process.env.CALLSCREEN_CONFIG ?? 'config/callscreen.yaml';

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('callscreen')
    .description('Call screening for Asterisk and FreePBX')
    .showHelpAfterError()
    // lets a command with subcommands keep its options to itself (`report accuracy --config F`); the
    // program has no options of its own but --help
    .enablePositionalOptions()
    .exitOverride();
  registerRunCommand(program, DEFAULT_CONFIG);
  registerRulesCommands(program, DEFAULT_CONFIG);
  registerImportCommands(program, DEFAULT_CONFIG);
  registerFeedsCommands(program, DEFAULT_CONFIG);
  registerCheckCommand(program, DEFAULT_CONFIG);
  registerReplayCommand(program, DEFAULT_CONFIG);
  registerDoctorCommand(program, DEFAULT_CONFIG);
  registerLogCommands(program, DEFAULT_CONFIG);
  registerReportCommand(program, DEFAULT_CONFIG);
  registerContactsCommands(program, DEFAULT_CONFIG);

  let failed = false;
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
    failed = true;
  }
  // one-shot commands end here, and so does a `run` whose start failed; a client library's leftover timer
  // (ioredis keeps a connect timer after a refused connection) must not hold the shell for seconds
  if (failed || program.args[0] !== 'run') process.stdout.write('', () => process.exit());
}

function reportError(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof ConfigError) {
    process.stderr.write(
      `callscreen: configuration error\n${e.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`,
    );
    return 2;
  }
  const err = e as Error & { code?: string };
  process.stderr.write(`callscreen: ${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}\n`);
  if (process.env.CALLSCREEN_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
  return 1;
}
