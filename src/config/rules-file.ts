/**
 * Load config/rules.yaml into a RuleSet. Every entry keeps the file, line and column it was written
 * on. Any problem (YAML syntax, shape, a number that is not one, an unsafe regex, a bad range, a bad
 * date) fails the whole load with every problem listed, so a caller can keep the last good rules.
 *
 *   allow:
 *     - "+49 30 1234567"                  # a number, written any way people write numbers
 *     - number: "030 7654321"
 *       label: Key account Müller
 *     - range: { from: "+1 212 555 0100", to: "+1 212 555 0199" }   # or "+1 212 555 0100 .. +1 212 555 0199"
 *       dids: ["+1 212 555 0100"]         # only on calls to these DIDs ("s", "100": as written)
 *   deny:
 *     - number: "+1 (833) 631-7911"
 *       label: Warranty robocaller
 *       expires: 2027-06-30               # no longer applies from that day (00:00 UTC)
 *     - "+4990*"                          # a wildcard: * = any rest, ? or X = one digit
 *     - regex: '^\+1900\d{7}$'            # against the caller's E.164 string
 *     - name: "*SPAM RISK*"               # the caller's name: exact or a wildcard (* any run, ? one character)
 *     - nameRegex: '^V\d{9}$'             # against the caller's name, case-insensitively
 *       points: 30                        # name rules only: add points instead of denying (allow: take them off)
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import {
  buildRuleSet,
  EMPTY_RULE_SET,
  splitRangeShorthand,
  tryCompileRule,
  type Rule,
  type RuleDefinition,
  type RuleList,
  type RuleSet,
} from '../domain/rule-set';
import { ConfigError, type ConfigProblem } from '../errors/config-error';
import { unreadable } from './file-reloader';
import { ProblemList } from './problem-list';
import { validateYaml } from './validate';
import { parseYamlText, type LocatedYaml } from './yaml-document';

/**
 * How big a rules file may be (each of rules.file and rules.managedFile on its own). A file over
 * maxFileBytes is refused before it is read (its size from stat) or, when stat cannot tell (a pipe, a
 * device, a file still growing), as soon as the read passes it: a rules file pointed at an endless
 * stream stops there instead of growing the process until it dies. maxRules is checked after the YAML
 * parse and before any entry is compiled. Both are named in the problem, so the admin knows what to raise.
 */
export interface RulesFileLimits {
  maxFileBytes: number;
  maxRules: number;
}

/** The defaults of rules.maxFileBytes and rules.maxRules (schema.ts): 1M generated rules are about 40 MB. */
export const DEFAULT_RULES_LIMITS: RulesFileLimits = Object.freeze({
  maxFileBytes: 64 * 1024 * 1024,
  maxRules: 2_000_000,
});

/** "64 MB", "1.5 MB", "900 bytes" */
function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${bytes.toLocaleString('en')} bytes`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}

function overFileBytes(displayName: string, what: string, limit: number): ConfigError {
  return new ConfigError([
    {
      file: displayName,
      line: 0,
      column: 0,
      reason: `${what}, over rules.maxFileBytes (${sizeText(limit)}); raise rules.maxFileBytes in the configuration if the file is meant to be this big`,
    },
  ]);
}

/** the first buffer for a file whose size stat does not know (a pipe, a device) */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * A rules file's text, read at most limits.maxFileBytes (+1 to notice more) whatever the file is. Throws
 * ConfigError naming the file when it cannot be read or is over the limit.
 */
export function readRulesText(file: string, displayName: string, limits: RulesFileLimits): string {
  const limit = limits.maxFileBytes;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw unreadable(e, displayName);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > limit) throw overFileBytes(displayName, `the file is ${sizeText(size)}`, limit);
    // a regular file is read into one buffer of its size (+1 byte, to notice one that grew); a stream grows it
    let buffer = Buffer.allocUnsafe(Math.min(limit + 1, size > 0 ? size + 1 : READ_CHUNK_BYTES));
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
        buffer.copy(grown, 0, 0, total);
        buffer = grown;
      }
      const n = readSync(fd, buffer, total, buffer.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > limit)
        throw overFileBytes(displayName, `the file has more than ${sizeText(limit)} (reading stopped there)`, limit);
    }
    return buffer.toString('utf8', 0, total);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw unreadable(e, displayName);
  } finally {
    closeSync(fd);
  }
}

/** The file's top level; entries are checked one by one below so each problem names its own entry. */
export const rulesSchema = z
  .object({
    allow: z.array(z.unknown()).nullable().default([]),
    deny: z.array(z.unknown()).nullable().default([]),
  })
  .strict();

const MATCH_KEYS = ['number', 'range', 'regex', 'name', 'nameRegex'] as const;
const ENTRY_KEYS = 'number, range, regex, name or nameRegex, and optionally label, expires, dids, points';
const QUOTE_NUMBERS =
  'must be in quotes ("+1 212 555 0100"): unquoted, YAML reads a number as an integer and drops a leading + or 0';

/** A number written in the file. Unquoted, YAML reads +4930123 as an integer and loses the + (or a leading 0). */
const writtenNumber = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'is missing'
        : typeof issue.input === 'number'
          ? QUOTE_NUMBERS
          : 'must be a number in quotes',
  })
  .min(1, 'is empty');

const rangeSchema = z.preprocess(
  (value) => (typeof value === 'string' ? (splitRangeShorthand(value) ?? value) : value),
  z.strictObject(
    { from: writtenNumber, to: writtenNumber },
    {
      error: (issue) =>
        issue.code === 'invalid_type' ? 'must be { from: "...", to: "..." } or "FROM .. TO"' : undefined,
    },
  ),
);

const entrySchema = z.strictObject(
  {
    number: writtenNumber.optional(),
    range: rangeSchema.optional(),
    regex: z.string({ error: 'must be a regular expression in quotes' }).min(1, 'is empty').optional(),
    name: z.string({ error: 'must be a name in quotes' }).min(1, 'is empty').optional(),
    nameRegex: z.string({ error: 'must be a regular expression in quotes' }).min(1, 'is empty').optional(),
    points: z.number({ error: 'must be a number of points' }).optional(),
    label: z.string({ error: 'must be text' }).optional(),
    // the yaml package reads 2026-12-31 as a string (YAML 1.2 core schema); a Date comes from a !!timestamp-aware reader
    expires: z
      .union([z.string(), z.date()], { error: 'must be a date (2026-12-31) or a time (2026-12-31T18:00:00Z)' })
      .optional(),
    dids: z.array(writtenNumber, { error: 'must be a list of DIDs' }).optional(),
  },
  {
    error: (issue) =>
      issue.code !== 'invalid_type'
        ? undefined
        : typeof issue.input === 'number'
          ? `a number ${QUOTE_NUMBERS}`
          : `an entry is a number in quotes or a mapping with ${ENTRY_KEYS}`,
  },
);
type Entry = z.infer<typeof entrySchema>;

export function loadRulesFile(
  file: string,
  defaultRegion: CountryCode,
  displayName = file,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return compileRulesText(readRulesText(file, displayName, limits), displayName, defaultRegion, limits);
}

/** The rules in a file's text (the reloader reads the text itself, to compare it with what is in force). */
export function compileRulesText(
  text: string,
  displayName: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return compileRulesDocument(withRuleLists(parseYamlText(text, displayName)), defaultRegion, limits);
}

const NO_RULE_LISTS =
  'no allow or deny list: an empty rules file would drop every rule; to mean no rules, write "allow: []" and "deny: []"';

/**
 * The rules file must name at least one of its lists. An empty file (or comments only) is far more
 * often a save gone wrong (a truncated write, an editor that emptied it, a wrong file swapped in) than
 * an admin who wants every allow and deny rule gone: refused, so a reload keeps the rules in force and
 * a start fails. `allow: []` / `deny: []` (or an empty `allow:`) says it on purpose.
 */
function withRuleLists(doc: LocatedYaml): LocatedYaml {
  const value = doc.value;
  // a mapping with other keys only, or not a mapping at all, gets its own problem from the schema
  const empty =
    value === null ||
    value === undefined ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
  if (empty) throw new ConfigError([{ file: doc.file, line: 0, column: 0, reason: NO_RULE_LISTS }]);
  return doc;
}

/** A file with more entries than rules.maxRules is refused before any of them is compiled. */
function checkRuleCount(doc: LocatedYaml, limits: RulesFileLimits): void {
  const value = doc.value as { allow?: unknown; deny?: unknown } | null | undefined;
  if (typeof value !== 'object' || value === null) return;
  const count =
    (Array.isArray(value.allow) ? value.allow.length : 0) + (Array.isArray(value.deny) ? value.deny.length : 0);
  if (count <= limits.maxRules) return;
  const reason = `has ${count.toLocaleString('en')} rules, over rules.maxRules (${limits.maxRules.toLocaleString('en')}); raise rules.maxRules in the configuration if it is meant to have this many`;
  throw new ConfigError([{ file: doc.file, line: 0, column: 0, reason }]);
}

export function compileRulesDocument(
  doc: LocatedYaml,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  checkRuleCount(doc, limits);
  const parsed = validateYaml(doc, rulesSchema);
  const rules: Rule[] = [];
  const problems = new ProblemList(doc.file);
  for (const list of listsInFileOrder(doc)) {
    (parsed[list] ?? []).forEach((value, index) => {
      const at = entryLocator(doc, list, index);
      const def = toDefinition(value, list, at, problems);
      if (!def) return;
      const compiled = tryCompileRule(def, defaultRegion);
      if ('rule' in compiled) rules.push(compiled.rule);
      else for (const p of compiled.problems) problems.add({ ...at(p.field ?? []), reason: p.reason });
    });
  }
  if (problems.count > 0) throw problems.toError({ sortByPosition: true });
  return buildRuleSet(rules);
}

/** allow and deny in the order the file has them, so that the problems listed are the first in the file */
function listsInFileOrder(doc: LocatedYaml): RuleList[] {
  const lineOf = (list: RuleList): number => doc.locate([list], { key: true }).line;
  return lineOf('deny') < lineOf('allow') ? ['deny', 'allow'] : ['allow', 'deny'];
}

type Locator = (field: readonly PropertyKey[], options?: { key?: boolean }) => Omit<ConfigProblem, 'reason'>;

/** File, line and column of a field inside one entry (or of the entry itself, when the field is not a node). */
function entryLocator(doc: LocatedYaml, list: RuleList, index: number): Locator {
  return (field, options) => ({ file: doc.file, ...doc.locate([list, index, ...field], options) });
}

/** One entry's value to a RuleDefinition; its shape problems are added to `problems`. */
function toDefinition(value: unknown, list: RuleList, at: Locator, problems: ProblemList): RuleDefinition | undefined {
  const result = entrySchema.safeParse(typeof value === 'string' ? { number: value } : value);
  if (!result.success) {
    for (const issue of result.error.issues) problems.add(shapeProblem(issue, at));
    return undefined;
  }
  const entry = result.data;
  const given = MATCH_KEYS.filter((k) => entry[k] !== undefined);
  if (given.length !== 1) {
    const reason =
      given.length === 0
        ? `an entry needs one of number, range, regex, name or nameRegex`
        : `an entry has exactly one of number, range, regex, name or nameRegex, not ${given.map((k) => `"${k}"`).join(' and ')}`;
    problems.add({ ...at(given.length === 0 ? [] : [given[1] as string], { key: true }), reason });
    return undefined;
  }
  return { list, ...matchOf(entry), ...extrasOf(entry), source: at([]) };
}

function matchOf(
  entry: Entry,
):
  | { number: string }
  | { range: { from: string; to: string } }
  | { regex: string }
  | { name: string }
  | { nameRegex: string } {
  if (entry.range !== undefined) return { range: entry.range };
  if (entry.regex !== undefined) return { regex: entry.regex };
  if (entry.name !== undefined) return { name: entry.name };
  if (entry.nameRegex !== undefined) return { nameRegex: entry.nameRegex };
  return { number: entry.number ?? '' };
}

function extrasOf(entry: Entry): Pick<RuleDefinition, 'label' | 'expires' | 'dids' | 'points'> {
  return {
    ...(entry.points !== undefined ? { points: entry.points } : {}),
    ...(entry.label !== undefined ? { label: entry.label } : {}),
    ...(entry.expires !== undefined ? { expires: entry.expires } : {}),
    ...(entry.dids !== undefined ? { dids: entry.dids } : {}),
  };
}

function shapeProblem(issue: z.core.$ZodIssue, at: Locator): ConfigProblem {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    const where = issue.path.length > 0 ? ` in ${issue.path.map(String).join('.')}` : '';
    const expected = issue.path.length > 0 ? 'from and to' : ENTRY_KEYS;
    return {
      ...at([...issue.path, issue.keys[0] ?? ''], { key: true }),
      reason: `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${where} (expected ${expected})`,
    };
  }
  const where = issue.path.map(String).join('.');
  return { ...at(issue.path), reason: where ? `${where} ${issue.message}` : issue.message };
}

// ---------------------------------------------------------------------------------------------------
// The managed allow list (rules.managedFile): written by agents' feedback (src/config/managed-allow-list.ts),
// loaded beside the admin's rules.yaml. Same entry format; allow entries only; a missing or empty file
// is an empty list.

const MANAGED_DENY =
  'the managed allow list takes allow entries only; deny rules belong in the rules file (rules.file)';

/**
 * An allow-only rules file's text (the managed allow list, a contacts source) -> its rules: the rules file's
 * entry format, any deny entry refused with `denyReason` at its line; empty (or comments only) is an empty
 * list. Throws ConfigError (file:line:col) like the rules file.
 */
function compileAllowOnlyText(
  text: string,
  displayName: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits,
  denyReason: string,
): RuleSet {
  const doc = parseYamlText(text, displayName);
  if (doc.value === null || doc.value === undefined) return EMPTY_RULE_SET; // empty or comments only
  const deny = (doc.value as { deny?: unknown }).deny;
  if (Array.isArray(deny) && deny.length > 0) {
    const problems = new ProblemList(doc.file);
    for (let i = 0; i < deny.length; i++)
      problems.add({ file: doc.file, ...doc.locate(['deny', i]), reason: denyReason });
    throw problems.toError();
  }
  return compileRulesDocument(doc, defaultRegion, limits);
}

/** An allow-only rules file read and compiled by `compile`; a missing file is an empty list. */
export function loadAllowOnlyFile(
  file: string,
  displayName: string,
  limits: RulesFileLimits,
  compile: (text: string) => RuleSet,
): RuleSet {
  let text: string;
  try {
    text = readRulesText(file, displayName, limits);
  } catch (e) {
    if (isFileNotFound(e)) return EMPTY_RULE_SET;
    throw e;
  }
  return compile(text);
}

/** The managed allow list's text -> its rules. Throws ConfigError (file:line:col) like the rules file. */
export function compileManagedRulesText(
  text: string,
  displayName: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return compileAllowOnlyText(text, displayName, defaultRegion, limits, MANAGED_DENY);
}

/** The managed allow list; a missing file is an empty list. */
export function loadManagedRulesFile(
  file: string,
  defaultRegion: CountryCode,
  displayName = file,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return loadAllowOnlyFile(file, displayName, limits, (text) =>
    compileManagedRulesText(text, displayName, defaultRegion, limits),
  );
}

/** readRulesText's error for a file that does not exist */
export function isFileNotFound(e: unknown): boolean {
  return e instanceof ConfigError && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The rules in force: the admin's rules first (a tie between equal rules goes to them), then the managed ones. */
export function mergeRuleSets(admin: RuleSet, managed: RuleSet): RuleSet {
  return managed.rules.length === 0 ? admin : buildRuleSet([...admin.rules, ...managed.rules]);
}

/** rules.file and rules.managedFile together, as `callscreen check` and the daemon use them. */
export function loadRuleFiles(
  rulesFile: string,
  managedFile: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return mergeRuleSets(
    loadRulesFile(rulesFile, defaultRegion, rulesFile, limits),
    loadManagedRulesFile(managedFile, defaultRegion, managedFile, limits),
  );
}

/**
 * Both files for `callscreen rules validate`: every problem of both in one ConfigError (so one run
 * lists them all); without a managed file, the rules file alone.
 */
export function validateRuleFiles(
  rulesFile: string,
  managedFile: string | undefined,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): { rules: RuleSet; managed?: RuleSet } {
  const problems: ConfigProblem[] = [];
  const attempt = (load: () => RuleSet): RuleSet | undefined => {
    try {
      return load();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) problems.push(p); // each file's list is capped already; no spread (stack)
      return undefined;
    }
  };
  const rules = attempt(() => loadRulesFile(rulesFile, defaultRegion, rulesFile, limits));
  const managed =
    managedFile === undefined
      ? undefined
      : attempt(() => loadManagedRulesFile(managedFile, defaultRegion, managedFile, limits));
  if (problems.length > 0 || !rules) throw new ConfigError(problems);
  return managed ? { rules, managed } : { rules };
}

// ---------------------------------------------------------------------------------------------------
// Contacts sources (rules.contactsFolder, one <name>.yaml per source): written whole by `callscreen contacts
// import`, loaded beside rules.yaml and the managed allow list. Same entry format; allow entries only.

const CONTACTS_DENY =
  'a contacts source takes allow entries only (it is written by `callscreen contacts import`); deny rules belong in the rules file (rules.file)';

/** A contacts source's text -> its rules; an empty file is an empty list. Throws ConfigError (file:line:col). */
export function compileContactsRulesText(
  text: string,
  displayName: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits = DEFAULT_RULES_LIMITS,
): RuleSet {
  return compileAllowOnlyText(text, displayName, defaultRegion, limits, CONTACTS_DENY);
}
