/**
 * Allow and deny lists, compiled for lookup. Pure: the YAML loader (src/config/rules-file.ts) turns the
 * admin's file into RuleDefinitions; this module normalises their numbers and matches callers.
 */
import { getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import { normalisePhoneNumber } from './phone-number';

export type RuleList = 'allow' | 'deny';

/** Where a rule was written, so every decision can point at the line that made it. */
export interface RuleSource {
  file: string;
  line: number;
  column: number;
}

export interface RuleDefinition {
  list: RuleList;
  /** the number as the admin wrote it: "+49 30 1234567", "030 1234567", "+4930123*" */
  number: string;
  label?: string;
  source: RuleSource;
}

export interface Rule {
  list: RuleList;
  /** exact: the E.164 number; prefix: the E.164 digits before the "*" */
  match: { kind: 'exact'; e164: string } | { kind: 'prefix'; prefix: string };
  written: string;
  label?: string;
  source: RuleSource;
}

export interface RuleProblem {
  source: RuleSource;
  reason: string;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  /** the first matching rule: allow before deny, exact before prefix, longer prefix before shorter */
  match(e164: string): Rule | undefined;
}

/** Normalise one written number or prefix; a problem when it does not name a phone number. */
export function compileRule(def: RuleDefinition, defaultRegion: CountryCode): Rule | RuleProblem {
  const written = def.number.trim();
  const base = { list: def.list, written, source: def.source, ...(def.label !== undefined ? { label: def.label } : {}) };
  if (written.endsWith('*')) {
    const head = written.slice(0, -1).replace(/[\s\-./()]/g, '');
    if (!/^(\+|00)?[0-9]+$/.test(head)) return { source: def.source, reason: `prefix "${written}" must be digits (optionally starting with + or 00) followed by one *` };
    // a prefix is written internationally; a national prefix takes the default region's country code
    const prefix = head.startsWith('+') ? head : head.startsWith('00') ? `+${head.slice(2)}` : nationalPrefixToE164(head, defaultRegion);
    if (prefix === undefined) return { source: def.source, reason: `prefix "${written}" is not in international form and ${defaultRegion} has no national prefix to strip` };
    if (prefix.length < 3) return { source: def.source, reason: `prefix "${written}" is too short: it would match whole countries` };
    return { ...base, match: { kind: 'prefix', prefix } };
  }
  const n = normalisePhoneNumber(written, defaultRegion);
  if (n.kind !== 'e164') return { source: def.source, reason: n.kind === 'withheld' ? `"${written}" is not a phone number` : `"${written}" ${n.reason}` };
  if (!n.possible) return { source: def.source, reason: `"${written}" (${n.e164}) has a length no number in its country has; for a prefix end it with *` };
  return { ...base, match: { kind: 'exact', e164: n.e164 } };
}

function nationalPrefixToE164(digits: string, region: CountryCode): string | undefined {
  // "0301234*" in DE -> "+49301234": drop the national trunk prefix, add the country calling code.
  // NANP (calling code 1) writes national numbers as 1NXX... or NXX...; elsewhere the trunk prefix is 0.
  let cc: string;
  try {
    cc = getCountryCallingCode(region);
  } catch {
    return undefined;
  }
  const significant = cc === '1' ? digits.replace(/^1/, '') : digits.replace(/^0/, '');
  return `+${cc}${significant}`;
}

export function buildRuleSet(rules: readonly Rule[]): RuleSet {
  const exact = { allow: new Map<string, Rule>(), deny: new Map<string, Rule>() };
  const prefixes = { allow: [] as Rule[], deny: [] as Rule[] };
  for (const rule of rules) {
    if (rule.match.kind === 'exact') {
      if (!exact[rule.list].has(rule.match.e164)) exact[rule.list].set(rule.match.e164, rule);
    } else prefixes[rule.list].push(rule);
  }
  const prefixLength = (r: Rule): number => (r.match.kind === 'prefix' ? r.match.prefix.length : 0);
  prefixes.allow.sort((a, b) => prefixLength(b) - prefixLength(a));
  prefixes.deny.sort((a, b) => prefixLength(b) - prefixLength(a));
  const find = (list: RuleList, e164: string): Rule | undefined =>
    exact[list].get(e164) ?? prefixes[list].find((r) => r.match.kind === 'prefix' && e164.startsWith(r.match.prefix));
  return Object.freeze({
    rules: Object.freeze([...rules]),
    match: (e164: string) => find('allow', e164) ?? find('deny', e164),
  });
}

export const EMPTY_RULE_SET: RuleSet = buildRuleSet([]);
