/**
 * The contacts sources (rules.contactsFolder, default contacts/ beside callscreen.yaml): one allow-only
 * rules file per source, <name>.yaml, written whole by `callscreen contacts import` and loaded beside
 * rules.yaml and the managed allow list by the daemon (rules-reloader.ts), `callscreen check` and
 * `callscreen rules validate`. Only files named like a source count: the importer's temporary files
 * (.<name>.yaml.<pid>.tmp) and anything else in the folder are never read as rules.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { buildRuleSet, type RuleSet } from '../domain/rule-set';
import { ConfigError, type ConfigProblem } from '../errors/config-error';
import type { LoadedConfig } from './load-config';
import {
  compileContactsRulesText,
  DEFAULT_RULES_LIMITS,
  loadManagedRulesFile,
  loadRulesFile,
  loadAllowOnlyFile,
  type RulesFileLimits,
} from './rules-file';

/** a source's name: also its file's name, so lower case, digits, - and _ only */
export const CONTACT_SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const SOURCE_FILE = /^([a-z0-9][a-z0-9_-]{0,39})\.yaml$/;

export function isContactSourceName(name: string): boolean {
  return CONTACT_SOURCE_NAME.test(name);
}

/** rules.contactsFolder, resolved against the config file's folder (like rules.file). */
export function contactsFolderPath(loaded: Pick<LoadedConfig, 'file' | 'config'>): string {
  return path.resolve(path.dirname(loaded.file), loaded.config.rules.contactsFolder);
}

export function contactSourceFile(folder: string, name: string): string {
  return path.join(folder, `${name}.yaml`);
}

/** The source's name of a file in the folder, or undefined for a file that is not a source. */
export function contactSourceName(fileName: string): string | undefined {
  return SOURCE_FILE.exec(fileName)?.[1];
}

/** The sources' files, sorted by name; a folder that does not exist has none. */
export function listContactSourceFiles(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new ConfigError([{ file: folder, line: 0, column: 0, reason: (e as Error).message }], { cause: e });
  }
  return names
    .filter((name) => contactSourceName(name) !== undefined)
    .sort()
    .map((name) => path.join(folder, name));
}

/** One source file's rules; a file removed since the folder was listed is an empty list. */
export function loadContactsFile(
  file: string,
  defaultRegion: CountryCode,
  displayName = file,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return loadAllowOnlyFile(file, displayName, limits, (text) =>
    compileContactsRulesText(text, displayName, defaultRegion, limits),
  );
}

export interface RuleFilePlaces {
  rulesFile: string;
  managedFile: string;
  contactsFolder: string;
  /**
   * how rules and problems name the files (the console shows them; the daemon's paths stay on the
   * server): the rules file's and the managed list's names, and the contacts folder's; default the paths
   */
  display?: { rulesFile?: string; managedFile?: string; contactsFolder?: string };
}

/**
 * Every rules file in force, as the daemon merges them: rules.file first (a tie between equal rules goes
 * to the admin), then the managed allow list, then each contacts source by name. For `callscreen check`.
 */
export function loadAllRuleFiles(
  places: RuleFilePlaces,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  const display = places.display ?? {};
  const contactsName = (file: string): string =>
    display.contactsFolder !== undefined ? path.join(display.contactsFolder, path.basename(file)) : file;
  const sets = [
    loadRulesFile(places.rulesFile, defaultRegion, display.rulesFile ?? places.rulesFile, limits),
    loadManagedRulesFile(places.managedFile, defaultRegion, display.managedFile ?? places.managedFile, limits),
    ...listContactSourceFiles(places.contactsFolder).map((file) =>
      loadContactsFile(file, defaultRegion, contactsName(file), limits),
    ),
  ];
  return buildRuleSet(sets.flatMap((set) => set.rules));
}

/** Each contacts source for `callscreen rules validate`: its rules, or its problems (all files are tried). */
export function validateContactSources(
  folder: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): { sources: Array<{ file: string; rules: RuleSet }>; problems: ConfigProblem[] } {
  const sources: Array<{ file: string; rules: RuleSet }> = [];
  const problems: ConfigProblem[] = [];
  for (const file of listContactSourceFiles(folder)) {
    try {
      sources.push({ file, rules: loadContactsFile(file, defaultRegion, file, limits) });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) problems.push(p);
    }
  }
  return { sources, problems };
}
