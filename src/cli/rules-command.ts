/**
 * `callscreen rules validate [FILE]`: check a rules file (and the managed allow list and the contacts sources beside
 * it) the way the daemon loads them; every problem with file, line and column (exit 2), counts by kind when it is good.
 */
import type { Command } from 'commander';
import type { CountryCode } from 'libphonenumber-js';
import path from 'node:path';
import { contactsFolderPath, validateContactSources } from '../config/contacts-folder';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { DEFAULT_RULES_LIMITS, validateRuleFiles, type RulesFileLimits } from '../config/rules-file';
import { countRules, describeRule, expiredRules, RULE_KINDS } from '../domain/rule-set';
import { ConfigError } from '../errors/config-error';
import { managedFilePath } from '../reputation/managed-allow-list';

export function registerRulesCommands(program: Command, defaultConfig: string): void {
  const rules = program.command('rules').description('allow and deny rules');
  rules
    .command('validate [file]')
    .description('check a rules file; prints every problem with file, line and column')
    .option(
      '-c, --config <file>',
      'configuration file (for numbers.defaultRegion, rules.file and the limits rules.maxFileBytes, rules.maxRules)',
      defaultConfig,
    )
    .action((file: string | undefined, opts: { config: string }) => validateRules(file, opts.config));
}

function validateRules(file: string | undefined, configFile: string): void {
  let region: CountryCode = 'US';
  let rulesFile = file;
  let managedFile: string | undefined;
  let contactsFolder: string | undefined;
  let limits: RulesFileLimits = DEFAULT_RULES_LIMITS;
  try {
    const loaded: LoadedConfig = loadConfig(configFile);
    region = loaded.config.numbers.defaultRegion;
    const { maxFileBytes, maxRules } = loaded.config.rules;
    limits = { maxFileBytes, maxRules };
    if (!file) {
      // the managed allow list and the contacts sources, when the files come from the config
      managedFile = managedFilePath(loaded);
      contactsFolder = contactsFolderPath(loaded);
    }
    rulesFile ??= loaded.rulesFile;
  } catch (e) {
    if (!file) throw e; // without a file argument the config is needed to find the rules
  }
  // a problem throws ConfigError: reportError prints each as "file:line:col reason" and exits 2
  const contacts = contactsFolder === undefined ? undefined : validateContactSources(contactsFolder, region, limits);
  const contactProblems = contacts?.problems ?? [];
  let validated: ReturnType<typeof validateRuleFiles>;
  try {
    validated = validateRuleFiles(rulesFile as string, managedFile, region, limits);
  } catch (e) {
    // one run lists every file's problems, the contacts sources' too
    if (e instanceof ConfigError && contactProblems.length > 0)
      throw new ConfigError([...e.problems, ...contactProblems]);
    throw e;
  }
  if (contactProblems.length > 0) throw new ConfigError(contactProblems);
  const { rules: set, managed } = validated;
  const counts = countRules(set.rules);
  const allow = set.rules.filter((r) => r.list === 'allow').length;
  const byKind = (list: 'allow' | 'deny'): string =>
    RULE_KINDS.filter((kind) => !kind.startsWith('name') || counts[list][kind] > 0) // name kinds: when used
      .map((kind) => `${counts[list][kind]} ${kind}`)
      .join(', ');
  process.stdout.write(
    `${rulesFile}: ok, ${allow} allow and ${set.rules.length - allow} deny rules (region ${region})\n  allow: ${byKind('allow')}\n  deny: ${byKind('deny')}\n`,
  );
  if (managed)
    process.stdout.write(
      `${managedFile}: ok, ${managed.rules.length} allow rules (managed allow list, from agents' feedback)\n`,
    );
  for (const source of contacts?.sources ?? [])
    process.stdout.write(
      `${source.file}: ok, ${source.rules.rules.length} allow rules (contacts source ${path.basename(source.file, '.yaml')})\n`,
    );
  // an expired rule is not an error (it was meant to end), but an admin should clean it up
  for (const rule of expiredRules(set, new Date()))
    process.stderr.write(`warning: expired, no longer matches: ${describeRule(rule)}\n`);
}
