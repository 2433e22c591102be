/**
 * `callscreen doctor [--json] [-c config]`: checks everything a daemon needs before the first call, the way
 * `run` would meet it: the configuration and rules files, Redis (version, eviction, persistence, round trip),
 * ARI (reachable, credentials, the Stasis app), Asterisk's modules, the dialplan (contexts, globals, the app
 * name it sends calls to; read over AMI when ami.enabled), AMI's login and permissions, and FreePBX's Custom
 * Destination when FreePBX is found. One line per check, ok / warn / fail with a one-line fix. Exit 1 when any
 * check fails, else 0. Writes nothing anywhere.
 */
import type { Command } from 'commander';
import { contactsFolderPath, loadAllRuleFiles } from '../config/contacts-folder';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { ConfigError } from '../errors/config-error';
import { managedFilePath } from '../reputation/managed-allow-list';
import { asteriskChecks } from './doctor/asterisk-checks';
import { fail, ok, type DoctorCheck } from './doctor/doctor-check';
import { redisChecks } from './doctor/redis-checks';

export function registerDoctorCommand(program: Command, defaultConfig: string): void {
  program
    .command('doctor')
    .description('check the configuration, Redis, ARI, Asterisk, the dialplan and AMI before the first call')
    .option('--json', 'print the checks as one JSON object')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { json?: boolean; config: string }) => {
      const checks = await runDoctor(opts.config);
      process.stdout.write(
        opts.json ? `${JSON.stringify({ checks, failed: failedCount(checks) })}\n` : renderDoctor(checks),
      );
      if (failedCount(checks) > 0) process.exitCode = 1;
    });
}

const failedCount = (checks: readonly DoctorCheck[]): number => checks.filter((c) => c.status === 'fail').length;

export async function runDoctor(configFile: string): Promise<DoctorCheck[]> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [
      fail('config', 'configuration', e.message, 'fix the file at the line named (callscreen run would refuse it)'),
    ];
  }
  const checks: DoctorCheck[] = [ok('config', 'configuration', loaded.file)];
  try {
    const rules = loadAllRuleFiles(
      { rulesFile: loaded.rulesFile, managedFile: managedFilePath(loaded), contactsFolder: contactsFolderPath(loaded) },
      loaded.config.numbers.defaultRegion,
      loaded.config.rules,
    );
    checks.push(
      ok('config', 'rules', `${rules.rules.length} rules in force (${loaded.rulesFile} and the lists beside it)`),
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    checks.push(fail('config', 'rules', e.message, 'fix the rules file at the line named (callscreen rules validate)'));
  }
  const [redis, asterisk] = await Promise.all([redisChecks(loaded.config), asteriskChecks(loaded.config)]);
  return [...checks, ...redis, ...asterisk];
}

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

export function renderDoctor(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => `${c.area} ${c.name}`.length));
  const lines = checks.map((c) => {
    const head = `${MARK[c.status]}  ${`${c.area} ${c.name}`.padEnd(width)}  ${c.detail.replace(/\n/g, '\n' + ' '.repeat(width + 8))}`;
    return c.fix ? `${head}\n${' '.repeat(width + 8)}fix: ${c.fix}` : head;
  });
  const failed = failedCount(checks);
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    failed > 0 ? `${failed} failed, ${warned} warnings` : `all good${warned > 0 ? ` (${warned} warnings)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
