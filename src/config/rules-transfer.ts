/**
 * What the rules worker (rules-worker.ts) and the reloader (rules-off-thread.ts) say to each other, and the
 * compact form compiled rules travel in.
 *
 * A 100k-rule RuleSet is 100k objects (and their match functions cannot cross threads at all): receiving it by
 * structured clone would itself hold the event loop for a long time. So the worker sends each rule as a short
 * JSON row, 500 rows to a string, the strings in one transferred buffer; the reloader parses one string per turn
 * of the event loop and adds its rules to a RuleSetBuilder, so no turn takes more than a few milliseconds.
 */
import type { CountryCode } from 'libphonenumber-js';
import { EMPTY_RULE_SET, RuleSetBuilder, type Rule, type RuleSet } from '../domain/rule-set';
import type { ConfigProblem } from '../errors/config-error';
import type { RulesFileLimits } from './rules-file';

/** What to compile: handed to the worker as its workerData. */
export interface RulesCompileRequest {
  file: string;
  displayName: string;
  /**
   * the admin's rules file, the managed allow list (allow entries only, a missing file is an empty list) or a
   * contacts source (allow entries only)
   */
  kind: 'rules' | 'managed' | 'contacts';
  defaultRegion: CountryCode;
  limits: RulesFileLimits;
  /** hashes of texts that need no compile (the text in force, the edit already rejected) */
  known: readonly string[];
}

/** The worker's answer: one message, after 'ready' (the worker's modules have loaded). */
export type RulesCompileReply =
  | { kind: 'ready' }
  | { kind: 'known'; hash: string }
  | { kind: 'compiled'; hash: string; count: number; rules: EncodedRules }
  | { kind: 'problems'; hash: string; problems: ConfigProblem[] }
  | { kind: 'unreadable'; key: string; problems: ConfigProblem[]; judged: boolean }
  | { kind: 'missing' };

/** rules per JSON string: parsing one and indexing its rules takes about a millisecond */
export const RULES_PER_CHUNK = 500;

/**
 * The rules as UTF-8 JSON strings of RULES_PER_CHUNK rows each, one after the other in one buffer that is
 * transferred (not copied) to the reloader's thread; `ends` are the byte offsets where each string ends.
 */
export interface EncodedRules {
  buffer: ArrayBuffer;
  ends: number[];
}

/**
 * One rule as a row: [list, kind, a, b, written, line, column, label, expires, dids, points]; a and b are the
 * matcher's fields (exact: e164; range: from, to; wildcard: pattern, fixedDigits; regex, name-wildcard and
 * name-regex: source, flags; name: the normalised name).
 * The file is the same for every rule of one file, so it is not repeated.
 */
type RuleRow = [
  0 | 1,
  Rule['match']['kind'],
  string,
  string | number | null,
  string,
  number,
  number,
  string | null,
  string | null,
  readonly string[] | null,
  number | null,
];

function toRow(rule: Rule): RuleRow {
  const m = rule.match;
  const [a, b]: [string, string | number | null] =
    m.kind === 'exact'
      ? [m.e164, null]
      : m.kind === 'range'
        ? [m.from, m.to]
        : m.kind === 'wildcard'
          ? [m.pattern, m.fixedDigits]
          : m.kind === 'name'
            ? [m.name, null]
            : [m.regex.source, m.regex.flags];
  return [
    rule.list === 'allow' ? 0 : 1,
    m.kind,
    a,
    b,
    rule.written,
    rule.source.line,
    rule.source.column,
    rule.label ?? null,
    rule.expires ?? null,
    rule.dids ?? null,
    rule.points ?? null,
  ];
}

/** The rules of a RuleSet, encoded to be transferred (postMessage with `[encoded.buffer]` as transfer list). */
export function encodeRules(rules: readonly Rule[]): EncodedRules {
  const chunks: Buffer[] = [];
  const ends: number[] = [];
  let end = 0;
  for (let i = 0; i < rules.length; i += RULES_PER_CHUNK) {
    const chunk = Buffer.from(JSON.stringify(rules.slice(i, i + RULES_PER_CHUNK).map(toRow)), 'utf8');
    chunks.push(chunk);
    end += chunk.length;
    ends.push(end);
  }
  // a fresh ArrayBuffer of its own (a small Buffer may sit in a shared pool, which cannot be transferred)
  const buffer = new ArrayBuffer(end);
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { buffer, ends };
}

function matchOf(row: RuleRow): Rule['match'] {
  const [, kind, a, b] = row;
  switch (kind) {
    case 'exact':
      return { kind, e164: a };
    case 'range':
      return { kind, from: a, to: String(b) };
    case 'wildcard':
      return { kind, pattern: a, fixedDigits: Number(b) };
    case 'regex':
      // the worker compiled it through the regex guard; this is the same expression again
      return { kind, regex: new RegExp(a, String(b ?? '')) };
    case 'name':
      return { kind, name: a };
    case 'name-wildcard':
    case 'name-regex':
      return { kind, regex: new RegExp(a, String(b ?? '')) };
  }
}

/** The same frozen object tryCompileRule made in the worker. */
function fromRow(row: RuleRow, file: string): Rule {
  const [list, , , , written, line, column, label, expires, dids, points] = row;
  const rule: Rule = {
    list: list === 0 ? 'allow' : 'deny',
    match: Object.freeze(matchOf(row)),
    written,
    source: Object.freeze({ file, line, column }),
    ...(label !== null ? { label } : {}),
    ...(expires !== null ? { expires } : {}),
    ...(dids !== null ? { dids: Object.freeze([...dids]) } : {}),
    ...(points !== null && points !== undefined ? { points } : {}),
  };
  return Object.freeze(rule);
}

/** Resolves on the next turn of the event loop, after the I/O and timers waiting now. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The RuleSet of encodeRules' strings, one string per turn of the event loop. */
export async function decodeRules(encoded: EncodedRules, file: string): Promise<RuleSet> {
  const builder = new RuleSetBuilder();
  const bytes = new Uint8Array(encoded.buffer);
  const decoder = new TextDecoder();
  let start = 0;
  for (const end of encoded.ends) {
    for (const row of JSON.parse(decoder.decode(bytes.subarray(start, end))) as RuleRow[])
      builder.add(fromRow(row, file));
    start = end;
    await nextTurn();
  }
  return builder.finish();
}

/** mergeRuleSets (rules-file.ts) a slice at a time: the admin's rules first, then the managed ones. */
export function mergeRuleSetsInSlices(admin: RuleSet, managed: RuleSet): Promise<RuleSet> {
  return mergeManyRuleSetsInSlices([admin, managed]);
}

/** Several rule sets in one, in the order given (the first's rules win ties), a slice at a time. */
export async function mergeManyRuleSetsInSlices(sets: readonly RuleSet[]): Promise<RuleSet> {
  const [first, ...others] = sets;
  if (!first) return EMPTY_RULE_SET;
  if (others.every((set) => set.rules.length === 0)) return first;
  const builder = new RuleSetBuilder();
  for (const { rules } of sets)
    for (let i = 0; i < rules.length; i++) {
      builder.add(rules[i] as Rule);
      if (i % RULES_PER_CHUNK === RULES_PER_CHUNK - 1) await nextTurn();
    }
  return builder.finish();
}
