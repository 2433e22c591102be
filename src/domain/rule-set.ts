/**
 * Allow and deny lists, compiled for lookup. Pure: the YAML loader (rules-file.ts, beside the configuration's
 * loader) turns the admin's file into RuleDefinitions; this module normalises their numbers and matches callers.
 *
 * A rule is one of four kinds:
 *   exact     "+1 (212) 555-0147", "030 1234567"      one number, normalised to E.164
 *   wildcard  "+1 900*", "+1 212 555 01??"             ? or X = one digit, trailing * = any rest
 *   range     "+1 212 555 0100 .. +1 212 555 0199"     inclusive, both ends of the same length
 *   regex     ^\+1900\d{7}$                              tested against the caller's E.164 string
 * and may carry a label, an expiry (it stops matching at that instant) and the DIDs it applies to.
 *
 * Precedence: allow beats deny; within a list exact, then range (narrowest first), then wildcard (most
 * digits written out first), then regex (file order); ties go to the rule written first.
 *
 * Name rules match the caller's name instead of the number (./caller-name.ts: compared in one normal form):
 *   name          "SPAM RISK"                           one name
 *   name-wildcard "*spam*", "V?????????"                 * = any run of characters, ? = one
 *   name-regex    ^V\d{9}$                              tested against the name, case-insensitively
 * A name rule allows or denies like a number rule, or, with points, adds them to the score (an allow entry
 * takes them off). They are looked up apart from the number rules (matchName), in the same precedence:
 * allow before deny, exact before wildcard before regex, file order.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { isNameWildcard, MAX_CALLER_NAME, nameWildcardRegex, normaliseCallerName } from './caller-name';
import {
  compileNumberPattern,
  isNumberPattern,
  matchesNumberPattern,
  callingCodeOf,
  MIN_FIXED_DIGITS,
} from './number-pattern';
import { normalisePhoneNumber, type PhoneNumber } from './phone-number';
import { compileGuardedRegex } from './regex-guard';

export type RuleList = 'allow' | 'deny';
export type RuleKind = 'exact' | 'range' | 'wildcard' | 'regex' | 'name' | 'name-wildcard' | 'name-regex';
export const RULE_KINDS: readonly RuleKind[] = [
  'exact',
  'range',
  'wildcard',
  'regex',
  'name',
  'name-wildcard',
  'name-regex',
];
const NAME_KINDS: ReadonlySet<RuleKind> = new Set<RuleKind>(['name', 'name-wildcard', 'name-regex']);

/** Does this rule match the caller's name (rather than the number)? */
export function isNameRule(rule: Pick<Rule, 'match'>): boolean {
  return NAME_KINDS.has(rule.match.kind);
}

/** The most points a name rule may add or take off. */
export const MAX_RULE_POINTS = 1000;

/** Where a rule was written, so every decision can point at the line that made it. */
export interface RuleSource {
  file: string;
  line: number;
  column: number;
}

interface RuleDefinitionCommon {
  list: RuleList;
  label?: string;
  /** "2026-12-31" (stops matching at 00:00 UTC that day), "2026-12-31T18:00:00Z", or a Date */
  expires?: string | Date;
  /** the DIDs (called numbers) the rule applies to, written like numbers; "s" or "100" are kept as written */
  dids?: readonly string[];
  /** name rules only: add these points (deny) or take them off (allow) instead of deciding the call */
  points?: number;
  source: RuleSource;
}

/** One entry as the admin wrote it: exactly one of number (exact, wildcard or "A .. B"), range or regex. */
export type RuleDefinition = RuleDefinitionCommon &
  (
    | {
        /** "+49 30 1234567", "030 1234567", "+4930123*", "+1 212 555 01??", "+1 212 555 0100 .. +1 212 555 0199" */ number: string;
      }
    | { range: { from: string; to: string } }
    | { /** tested against the caller's E.164 string, e.g. ^\+1900\d{7}$ */ regex: string }
    | { /** the caller's name: "SPAM RISK", or a wildcard "*spam*" */ name: string }
    | { /** tested against the caller's name, case-insensitively, e.g. ^V\d{9}$ */ nameRegex: string }
  );

export type RuleMatcher =
  | { kind: 'exact'; e164: string }
  /** both ends E.164 of the same length; inclusive */
  | { kind: 'range'; from: string; to: string }
  /** "+121255501??", "+1900*": E.164 digits, ? for one digit, an optional trailing * */
  | { kind: 'wildcard'; pattern: string; fixedDigits: number }
  | { kind: 'regex'; regex: RegExp }
  /** a caller name in normal form (normaliseCallerName) */
  | { kind: 'name'; name: string }
  /** tested against normalised names: a wildcard turned into a regex, or the admin's own (case-insensitive) */
  | { kind: 'name-wildcard' | 'name-regex'; regex: RegExp };

export interface Rule {
  readonly list: RuleList;
  readonly match: RuleMatcher;
  /** the text as the admin wrote it: "+1 900*", "+1 212 555 0100 .. +1 212 555 0199", ^\+1900\d{7}$ */
  readonly written: string;
  readonly label?: string;
  readonly source: RuleSource;
  /** ISO 8601: from this instant on the rule no longer matches */
  readonly expires?: string;
  /** E.164 DIDs, or DIDs as written when they are not phone numbers ("s", "100"); absent = every DID */
  readonly dids?: readonly string[];
  /** name rules: the points it adds (deny) or takes off (allow), instead of deciding the call */
  readonly points?: number;
}

/** A rule that cannot be used. `field` is the path inside the entry that is wrong (["range", "to"], ["dids", 1]). */
export interface RuleProblem {
  source: RuleSource;
  reason: string;
  field?: readonly (string | number)[];
}

/** What a match needs to know about the call besides the caller. */
export interface RuleMatchContext {
  /** the called number: E.164 when it is one, and as received (an extension such as "s" or "100") */
  did: { e164?: string; raw: string };
  now: Date;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  /** the number rule that decides for this caller on this call, by the precedence above; undefined when none applies */
  match(e164: string, ctx: RuleMatchContext): Rule | undefined;
  /** the name rule for this caller name (as received; normalised here), by the same precedence */
  matchName(name: string, ctx: RuleMatchContext): Rule | undefined;
}

/** Compile one entry; the first problem when it cannot be used (see tryCompileRule for all of them). */
export function compileRule(def: RuleDefinition, defaultRegion: CountryCode): Rule | RuleProblem {
  const result = tryCompileRule(def, defaultRegion);
  return 'rule' in result ? result.rule : (result.problems[0] as RuleProblem);
}

/** Compile one entry, reporting every problem in it (a bad number and a bad date are both listed). */
export function tryCompileRule(
  def: RuleDefinition,
  defaultRegion: CountryCode,
): { rule: Rule } | { problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const problem = (reason: string, field?: readonly (string | number)[]): void => {
    problems.push({ source: def.source, reason, ...(field ? { field } : {}) });
  };
  const matcher = compileMatcher(def, defaultRegion, problem);
  const expires = def.expires === undefined ? undefined : parseExpiry(def.expires);
  if (expires && 'reason' in expires) problem(expires.reason, ['expires']);
  const dids = def.dids?.map((did, i) => {
    const compiled = compileDid(did, defaultRegion);
    if ('reason' in compiled) problem(compiled.reason, ['dids', i]);
    return 'did' in compiled ? compiled.did : did;
  });
  if (def.dids && def.dids.length === 0)
    problem('dids is empty; leave it out to apply the rule to every DID', ['dids']);
  if (def.points !== undefined) {
    const p = def.points;
    if (matcher && !isNameRule(matcher))
      problem('points is for name rules; a number rule allows or denies the call', ['points']);
    else if (!Number.isFinite(p) || p <= 0 || p > MAX_RULE_POINTS)
      problem(
        `points must be a number above 0 and at most ${MAX_RULE_POINTS} (a deny entry adds them, an allow entry takes them off)`,
        ['points'],
      );
  }
  if (problems.length > 0 || !matcher) return { problems };
  const rule: Rule = {
    list: def.list,
    match: Object.freeze(matcher.match),
    written: matcher.written,
    source: Object.freeze({ ...def.source }),
    ...(def.label !== undefined ? { label: def.label } : {}),
    ...(expires && 'iso' in expires ? { expires: expires.iso } : {}),
    ...(dids ? { dids: Object.freeze([...new Set(dids)]) } : {}),
    ...(def.points !== undefined ? { points: def.points } : {}),
  };
  return { rule: Object.freeze(rule) };
}

type Report = (reason: string, field?: readonly (string | number)[]) => void;

/** Report a problem and give no matcher. */
function reject(problem: Report, reason: string, field: readonly (string | number)[]): undefined {
  problem(reason, field);
  return undefined;
}

function compileMatcher(
  def: RuleDefinition,
  region: CountryCode,
  problem: Report,
): { match: RuleMatcher; written: string } | undefined {
  if ('regex' in def) return compileRegexMatcher(def.regex, problem);
  if ('name' in def) return compileNameMatcher(def.name, problem);
  if ('nameRegex' in def) return compileNameRegexMatcher(def.nameRegex, problem);
  if ('range' in def) {
    const written = `${def.range.from.trim()} .. ${def.range.to.trim()}`;
    return compileRange(def.range.from, def.range.to, written, region, problem);
  }
  const written = def.number.trim();
  const shorthand = splitRangeShorthand(written);
  if (shorthand) return compileRange(shorthand.from, shorthand.to, written, region, problem);
  if (isNumberPattern(written)) {
    const pattern = compileNumberPattern(written, region);
    if ('reason' in pattern) return reject(problem, pattern.reason, ['number']);
    return { match: { kind: 'wildcard', ...pattern }, written };
  }
  const e164 = exactNumber(written, region);
  if ('reason' in e164) return reject(problem, e164.reason, ['number']);
  return { match: { kind: 'exact', e164: e164.e164 }, written };
}

/** "+1 212 555 0100 .. +1 212 555 0199" -> its two ends; undefined when the text is not written that way. */
export function splitRangeShorthand(text: string): { from: string; to: string } | undefined {
  const parts = text.split('..');
  if (parts.length !== 2) return undefined;
  const [from = '', to = ''] = parts.map((p) => p.trim());
  return { from, to };
}

function compileRegexMatcher(source: string, problem: Report): { match: RuleMatcher; written: string } | undefined {
  const compiled = compileGuardedRegex(source);
  if ('reason' in compiled) return reject(problem, compiled.reason, ['regex']);
  return { match: { kind: 'regex', regex: compiled.regex }, written: source };
}

function compileNameMatcher(written: string, problem: Report): { match: RuleMatcher; written: string } | undefined {
  const name = normaliseCallerName(written);
  if (name === '')
    return reject(problem, 'name is empty (nothing is left of it once spaces and invisible characters go)', ['name']);
  if (written.length > MAX_CALLER_NAME)
    return reject(problem, `name is over ${MAX_CALLER_NAME} characters; names are compared up to that length`, [
      'name',
    ]);
  if (!isNameWildcard(name)) return { match: { kind: 'name', name }, written: written.trim() };
  if (name.replace(/[*?\s]/g, '') === '')
    return reject(problem, `name "${written}" would match every name; write at least one letter or digit`, ['name']);
  return { match: { kind: 'name-wildcard', regex: nameWildcardRegex(name) }, written: written.trim() };
}

function compileNameRegexMatcher(source: string, problem: Report): { match: RuleMatcher; written: string } | undefined {
  const compiled = compileGuardedRegex(source);
  if ('reason' in compiled) return reject(problem, compiled.reason, ['nameRegex']);
  // names are compared in normal form (lower case, accents dropped); the admin's ^V\d{9}$ must still match
  return { match: { kind: 'name-regex', regex: new RegExp(compiled.regex.source, 'i') }, written: source };
}

function compileRange(
  fromText: string,
  toText: string,
  written: string,
  region: CountryCode,
  problem: Report,
): { match: RuleMatcher; written: string } | undefined {
  const from = exactNumber(fromText, region, 'range end');
  const to = exactNumber(toText, region, 'range end');
  if ('reason' in from) problem(`range start ${from.reason}`, ['range', 'from']);
  if ('reason' in to) problem(`range end ${to.reason}`, ['range', 'to']);
  if ('reason' in from || 'reason' in to) return undefined;
  const reason = rangeProblem(from.e164, to.e164);
  if (reason) return reject(problem, `range "${written}" ${reason}`, ['range']);
  return { match: { kind: 'range', from: from.e164, to: to.e164 }, written };
}

function rangeProblem(from: string, to: string): string | undefined {
  // Same length makes string order numeric order, and keeps "+1212555 0100 .. +1212555 01000" out.
  if (from.length !== to.length)
    return `has ends of different lengths (${from}, ${to}); both must have the same number of digits`;
  if (from > to) return `runs backwards (${from} is after ${to})`;
  const cc = callingCodeOf(from.slice(1));
  const common = commonPrefixLength(from, to) - 1;
  if ('code' in cc && common - cc.code.length < MIN_FIXED_DIGITS)
    return `spans too much: it would match whole countries; its ends must share at least ${MIN_FIXED_DIGITS} digits after the country code`;
  return undefined;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

/** One number as people write it, to E.164; a reason when it does not name a phone number. */
function exactNumber(
  written: string,
  region: CountryCode,
  as: 'number' | 'range end' = 'number',
): { e164: string } | { reason: string } {
  const n = normaliseWritten(written, region);
  if (n.kind === 'withheld') return { reason: `"${written}" is not a phone number` };
  if (n.kind === 'unparseable') return { reason: `"${written}" ${n.reason}` };
  const hint = as === 'number' ? '; for a prefix end it with *' : '';
  if (!n.possible) return { reason: `"${written}" (${n.e164}) has a length no number in its country has${hint}` };
  return { e164: n.e164 };
}

/**
 * A number written in a rule. A leading 00 is read as the international prefix whatever the default
 * region ("0049 30 1234567" in a US call centre), as wildcards do: people write it that way across
 * Europe, and no national number starts with 00.
 */
function normaliseWritten(written: string, region: CountryCode): PhoneNumber {
  return normalisePhoneNumber(written.trim().replace(/^00/, '+'), region);
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// YAML and ISO 8601 timestamps; a time needs a zone so the instant does not depend on the server's time zone
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?\s*(Z|z|[+-]\d{2}:\d{2})$/;

/** An expiry as an ISO instant. A date alone means 00:00 UTC that day: the rule no longer applies on that date. */
export function parseExpiry(value: string | Date): { iso: string } | { reason: string } {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? { reason: 'expires is not a valid date' } : { iso: value.toISOString() };
  const text = value.trim();
  const parts = DATE_ONLY.exec(text) ?? DATE_TIME.exec(text);
  if (!parts) {
    return {
      reason: `expires "${value}" is not a date: write 2026-12-31 (no longer applies from that day, 00:00 UTC) or 2026-12-31T18:00:00Z (a time needs Z or an offset such as +01:00)`,
    };
  }
  const [, y = '', mo = '', d = '', h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = parts;
  if (!isCalendarDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return { reason: `expires "${value}" is not a real date or time` };
  }
  const instant = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${zone.toUpperCase()}`);
  if (Number.isNaN(instant.getTime())) return { reason: `expires "${value}" is not a real date or time` };
  return { iso: instant.toISOString() };
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * A DID the rule is scoped to. Phone numbers are normalised like callers ("+1 212 555 0100" ->
 * "+12125550100"); Asterisk extensions that are not phone numbers ("s", "100") are kept as written and
 * compared to the DID as received. Text that looks like a mistyped phone number is refused rather than
 * kept, because it would silently never match.
 */
function compileDid(written: string, region: CountryCode): { did: string } | { reason: string } {
  const text = written.trim();
  const n = normaliseWritten(text, region);
  if (n.kind === 'e164' && n.possible) return { did: n.e164 };
  if (text === '') return { reason: 'a DID is empty' };
  if (/^(\+|00)|[\s()]/.test(text)) {
    const why =
      n.kind === 'e164'
        ? `(${n.e164}) has a length no number in its country has`
        : n.kind === 'unparseable'
          ? n.reason
          : 'is not a phone number';
    return { reason: `DID "${written}" ${why}; an extension such as "s" or "100" is written without + or spaces` };
  }
  return { did: text };
}

// ---------------------------------------------------------------------------------------------------
// Matching

/** E.164: "+", a first digit 1-9, at most 15 digits. Anything else matches no rule (and bounds regex run time). */
const E164 = /^\+[1-9][0-9]{1,14}$/;

/** A rule with what matching needs precomputed. */
interface Compiled {
  rule: Rule;
  matches: (e164: string) => boolean;
  expiresAt: number;
  didE164?: ReadonlySet<string>;
  didRaw?: ReadonlySet<string>;
}

export function buildRuleSet(rules: readonly Rule[]): RuleSet {
  const builder = new RuleSetBuilder();
  for (const rule of rules) builder.add(rule);
  return builder.finish();
}

/**
 * A RuleSet built a few rules at a time: a caller that must keep its event loop free (a reload of 100k rules)
 * adds them in slices between turns. buildRuleSet is this in one go.
 */
export class RuleSetBuilder {
  private readonly rules: Rule[] = [];
  private readonly lists = { allow: new ListIndexBuilder(), deny: new ListIndexBuilder() };

  add(rule: Rule): void {
    this.rules.push(rule);
    this.lists[rule.list].add(rule);
  }

  get size(): number {
    return this.rules.length;
  }

  finish(): RuleSet {
    const lists = { allow: this.lists.allow.finish(), deny: this.lists.deny.finish() };
    const hasNames =
      lists.allow.names.size + lists.allow.namesScanned.length > 0 ||
      lists.deny.names.size + lists.deny.namesScanned.length > 0;
    return Object.freeze({
      rules: Object.freeze(this.rules),
      match(e164: string, ctx: RuleMatchContext): Rule | undefined {
        if (typeof e164 !== 'string' || !E164.test(e164)) return undefined;
        const applies = applicability(ctx);
        return (findIn(lists.allow, e164, applies) ?? findIn(lists.deny, e164, applies))?.rule;
      },
      matchName(name: string, ctx: RuleMatchContext): Rule | undefined {
        // no name rules (most PBXs): the name is not even normalised
        if (!hasNames || typeof name !== 'string') return undefined;
        const normal = normaliseCallerName(name);
        if (normal === '') return undefined;
        const applies = applicability(ctx);
        return (findName(lists.allow, normal, applies) ?? findName(lists.deny, normal, applies))?.rule;
      },
    });
  }
}

interface IndexedList {
  exact: Map<string, Compiled[]>;
  /** ranges, wildcards and regexes, already in precedence order */
  scanned: Compiled[];
  /** exact name rules by normalised name */
  names: Map<string, Compiled[]>;
  /** name wildcards, then name regexes, in file order */
  namesScanned: Compiled[];
}

type Sortable = { compiled: Compiled; precedence: number; specificity: number; order: number };

class ListIndexBuilder {
  private readonly exact = new Map<string, Compiled[]>();
  private readonly names = new Map<string, Compiled[]>();
  /** with their sort keys, computed once (not in every comparison) */
  private readonly others: Sortable[] = [];
  private readonly namePatterns: Sortable[] = [];

  add(rule: Rule): void {
    const compiled = compileForMatching(rule);
    const m = rule.match;
    if (m.kind === 'exact') addTo(this.exact, m.e164, compiled);
    else if (m.kind === 'name') addTo(this.names, m.name, compiled);
    else {
      const to = isNameRule(rule) ? this.namePatterns : this.others;
      to.push({ compiled, precedence: precedence(rule), specificity: specificity(rule), order: to.length });
    }
  }

  finish(): IndexedList {
    return {
      exact: this.exact,
      scanned: inPrecedenceOrder(this.others),
      names: this.names,
      namesScanned: inPrecedenceOrder(this.namePatterns),
    };
  }
}

function addTo(index: Map<string, Compiled[]>, key: string, compiled: Compiled): void {
  const same = index.get(key);
  if (same) same.push(compiled);
  else index.set(key, [compiled]);
}

function inPrecedenceOrder(rules: Sortable[]): Compiled[] {
  // equal rules keep file order (the order key makes that explicit; Array.prototype.sort is stable anyway)
  const sorted = rules.sort(
    (a, b) => a.precedence - b.precedence || a.specificity - b.specificity || a.order - b.order,
  );
  return sorted.map((o) => o.compiled);
}

export const EMPTY_RULE_SET: RuleSet = buildRuleSet([]);

function precedence(rule: Rule): number {
  return RULE_KINDS.indexOf(rule.match.kind);
}

/** Lower sorts first: a narrower range, a wildcard with more digits written out (closed before open). */
function specificity(rule: Rule): number {
  const m = rule.match;
  if (m.kind === 'range') return Number(m.to.slice(1)) - Number(m.from.slice(1));
  if (m.kind === 'wildcard') return -(m.fixedDigits * 2 + (m.pattern.endsWith('*') ? 0 : 1));
  return 0;
}

function compileForMatching(rule: Rule): Compiled {
  const dids = rule.dids
    ? {
        didE164: new Set(rule.dids.filter((d) => d.startsWith('+'))),
        didRaw: new Set(rule.dids.filter((d) => !d.startsWith('+'))),
      }
    : {};
  return {
    rule,
    // an exact rule is found by its number in the index, never scanned: no matcher of its own (one less closure
    // per rule, which counts when 100k rules are indexed between the event loop's turns)
    matches: rule.match.kind === 'exact' || rule.match.kind === 'name' ? FOUND_BY_INDEX : matcherFor(rule.match),
    expiresAt: rule.expires ? Date.parse(rule.expires) : Infinity,
    ...dids,
  };
}

const FOUND_BY_INDEX = (): boolean => true;

function matcherFor(m: RuleMatcher): (e164: string) => boolean {
  switch (m.kind) {
    case 'exact':
      return (e164) => e164 === m.e164;
    case 'range':
      // same length, so string order is numeric order
      return (e164) => e164.length === m.from.length && e164 >= m.from && e164 <= m.to;
    case 'wildcard':
      return (e164) => matchesNumberPattern(m.pattern, e164);
    case 'regex':
    case 'name-wildcard':
    case 'name-regex':
      return (text) => m.regex.test(text);
    case 'name':
      return (name) => name === m.name;
  }
}

function applicability(ctx: RuleMatchContext): (c: Compiled) => boolean {
  const now = ctx.now.getTime();
  const rawDid = ctx.did.raw.trim();
  return (c) =>
    now < c.expiresAt &&
    (c.didE164 === undefined ||
      (ctx.did.e164 !== undefined && c.didE164.has(ctx.did.e164)) ||
      (c.didRaw?.has(rawDid) ?? false));
}

function findIn(list: IndexedList, e164: string, applies: (c: Compiled) => boolean): Compiled | undefined {
  const exact = list.exact.get(e164)?.find(applies);
  if (exact) return exact;
  for (const c of list.scanned) if (c.matches(e164) && applies(c)) return c;
  return undefined;
}

function findName(list: IndexedList, name: string, applies: (c: Compiled) => boolean): Compiled | undefined {
  const exact = list.names.get(name)?.find(applies);
  if (exact) return exact;
  for (const c of list.namesScanned) if (c.matches(name) && applies(c)) return c;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Reporting

/** "deny +1 900* (US premium-rate numbers) at rules.yaml:14", with DID scope and expiry when the rule has them. */
export function describeRule(rule: Rule): string {
  const what = describeWritten(rule);
  const label = rule.label ? ` (${rule.label})` : '';
  const scope = rule.dids ? ` for calls to ${rule.dids.join(', ')}` : '';
  const expiry = rule.expires ? ` until ${rule.expires}` : '';
  const points = rule.points !== undefined ? ` ${rule.list === 'deny' ? '+' : '-'}${rule.points} points` : '';
  return `${rule.list} ${what}${label}${scope}${expiry}${points} at ${rule.source.file}:${rule.source.line}`;
}

/** The rule's pattern as the admin wrote it, saying what it matches: "+1 900*", "regex ^...$", "name *spam*". */
export function describeWritten(rule: Pick<Rule, 'match' | 'written'>): string {
  switch (rule.match.kind) {
    case 'regex':
      return `regex ${rule.written}`;
    case 'name':
    case 'name-wildcard':
      return `name "${rule.written}"`;
    case 'name-regex':
      return `name regex ${rule.written}`;
    default:
      return rule.written;
  }
}

/** Rules that no longer match at `now`, in file order: for `rules validate` and the review page. */
export function expiredRules(set: Pick<RuleSet, 'rules'>, now: Date): Rule[] {
  return set.rules.filter((r) => r.expires !== undefined && Date.parse(r.expires) <= now.getTime());
}

export type RuleCounts = Record<RuleList, Record<RuleKind, number>>;

/** How many rules of each kind each list has. */
export function countRules(rules: readonly Rule[]): RuleCounts {
  const zero = (): Record<RuleKind, number> => ({
    exact: 0,
    range: 0,
    wildcard: 0,
    regex: 0,
    name: 0,
    'name-wildcard': 0,
    'name-regex': 0,
  });
  const counts: RuleCounts = { allow: zero(), deny: zero() };
  for (const r of rules) counts[r.list][r.match.kind]++;
  return counts;
}
