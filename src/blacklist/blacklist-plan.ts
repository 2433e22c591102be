/**
 * What callscreen wants in Asterisk's AstDB blacklist family, and what to change to get there. Pure:
 * no I/O; the rules, the reputation candidates, what the family holds now and the time are inputs.
 *
 * Desired entries, in this order, until `maxEntries` AstDB entries are used:
 *   1. deny rules that name one number (kind exact), in file order. Ranges, wildcards and regexes cannot
 *      be written as AstDB keys (FreePBX compares the caller ID with the key, nothing else): counted as
 *      skipped. A deny rule scoped to some DIDs is skipped too (the blacklist applies to every DID), and
 *      so is an expired one.
 *   2. reputation entries whose score, faded like the reputation signal fades it (half every
 *      `halfLifeDays` since the last report), is at least `minReputationScore`; highest first (then more
 *      reports, then the number).
 * A number the allow list matches (any kind, whatever its DIDs) is never written: an allow-listed
 * customer must not be blocked by a copy of the deny or reputation list.
 *
 * Keys: FreePBX's blacklist check (and our dialplan fallback) looks up ${CALLERID(num)} exactly as the
 * trunk presents it, so each number is written in two forms: E.164 (+12015550123) and, when the number
 * belongs to the country of `defaultRegion`, its national form (2015550123 for US, 030123456 for DE).
 * Both count against `maxEntries` (it bounds the size of the AstDB family), and a number is written with
 * all its forms or not at all; the first number that no longer fits ends the list (strict priority).
 *
 * Values: "callscreen: <what>", e.g. "callscreen: deny Known scammer" or "callscreen: reputation 0.95
 * robocall". FreePBX shows the value as the entry's description. The prefix is the ownership mark: an
 * entry whose value does not start with it was made by someone else (an admin in FreePBX) and is never
 * overwritten or deleted, even when callscreen would want that key too.
 */
import { getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { compareCandidates, effectiveReputationScore, type ReputationCandidate } from '../domain/reputation';
import { buildRuleSet, type Rule } from '../domain/rule-set';

/** The start of every value callscreen writes; what marks an entry as callscreen's. */
export const CALLSCREEN_VALUE_PREFIX = 'callscreen:';
/** AstDB values are shown in FreePBX's list; longer descriptions are cut. */
const MAX_VALUE_LENGTH = 80;

export interface BlacklistPlanInput {
  rules: readonly Rule[];
  reputation: readonly ReputationCandidate[];
  /** what the family holds now (key -> value), as read from AstDB or as last written */
  current: ReadonlyMap<string, string>;
  defaultRegion: CountryCode;
  maxEntries: number;
  minReputationScore: number;
  /** screening.signals.reputation.halfLifeDays; undefined: scores do not fade */
  halfLifeDays?: number;
  now: Date;
}

export interface BlacklistEntry {
  key: string;
  value: string;
  /** the number the key is a form of */
  e164: string;
  origin: 'deny' | 'reputation';
}

export interface BlacklistSkipped {
  /** deny rules of kinds AstDB cannot hold */
  range: number;
  wildcard: number;
  regex: number;
  /** exact deny rules scoped to some DIDs */
  didScoped: number;
  /** exact deny rules past their expiry */
  expired: number;
  /** numbers (deny or reputation) the allow list matches */
  allowListed: number;
  /** numbers that did not fit into maxEntries, and their entries */
  overLimitNumbers: number;
  overLimitEntries: number;
  /** wanted keys an entry made by someone else already holds (left as they are; the number is blocked anyway) */
  heldByOthers: number;
}

export interface BlacklistPlan {
  /** every entry wanted, in priority order */
  desired: BlacklistEntry[];
  /** entries to write (missing, or callscreen's with another value) */
  put: Array<{ key: string; value: string }>;
  /** callscreen's entries no longer wanted */
  del: string[];
  skipped: BlacklistSkipped;
  /** numbers wanted, by origin */
  numbers: { deny: number; reputation: number };
}

export function isCallscreenValue(value: string): boolean {
  return value.startsWith(CALLSCREEN_VALUE_PREFIX);
}

/**
 * The AstDB keys of one number: E.164, and the national form when the number has the calling code of
 * `defaultRegion` ("+12015550123" -> ["+12015550123", "2015550123"] for US).
 */
export function blacklistKeys(e164: string, defaultRegion: CountryCode): string[] {
  const keys = [e164];
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed && parsed.countryCallingCode === getCountryCallingCode(defaultRegion)) {
    const national = parsed.format('NATIONAL').replace(/[^0-9]/g, '');
    if (national.length >= 3 && national !== e164) keys.push(national);
  }
  return keys;
}

/** "callscreen: <text>" without control characters, at most MAX_VALUE_LENGTH characters. */
export function blacklistValue(text: string): string {
  // control characters (code points below 32, and DEL) would break the AMI line protocol
  const clean = [...text]
    .map((c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? ' ' : c))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  const value = `${CALLSCREEN_VALUE_PREFIX} ${clean}`.trim();
  return value.length <= MAX_VALUE_LENGTH ? value : `${value.slice(0, MAX_VALUE_LENGTH - 3)}...`;
}

function emptySkipped(): BlacklistSkipped {
  return {
    range: 0,
    wildcard: 0,
    regex: 0,
    didScoped: 0,
    expired: 0,
    allowListed: 0,
    overLimitNumbers: 0,
    overLimitEntries: 0,
    heldByOthers: 0,
  };
}

/** The desired entries and the changes that make `current` hold them. */
export function planBlacklist(input: BlacklistPlanInput): BlacklistPlan {
  const { desired, skipped, numbers } = desiredBlacklist(input);
  const { put, del, heldByOthers } = diffBlacklist(desired, input.current);
  skipped.heldByOthers = heldByOthers;
  return { desired, put, del, skipped, numbers };
}

/** Which entries callscreen wants (see the file comment for the order and the limits). */
export function desiredBlacklist(input: Omit<BlacklistPlanInput, 'current'>): {
  desired: BlacklistEntry[];
  skipped: BlacklistSkipped;
  numbers: { deny: number; reputation: number };
} {
  const now = input.now.getTime();
  const skipped = emptySkipped();
  const allow = allowMatcher(input.rules, input.now);

  type Wanted = { e164: string; origin: 'deny' | 'reputation'; text: string };
  const wanted: Wanted[] = [];
  const seen = new Set<string>();
  for (const rule of input.rules) {
    if (rule.list !== 'deny') continue;
    const m = rule.match;
    // name rules are not about numbers: AstDB's blacklist has nothing to hold for them
    if (m.kind === 'name' || m.kind === 'name-wildcard' || m.kind === 'name-regex') continue;
    if (m.kind !== 'exact') {
      skipped[m.kind] += 1;
      continue;
    }
    if (rule.expires !== undefined && Date.parse(rule.expires) <= now) {
      skipped.expired += 1;
      continue;
    }
    if (rule.dids !== undefined) {
      skipped.didScoped += 1;
      continue;
    }
    if (seen.has(m.e164)) continue;
    seen.add(m.e164);
    if (allow(m.e164)) {
      skipped.allowListed += 1;
      continue;
    }
    wanted.push({ e164: m.e164, origin: 'deny', text: `deny ${rule.label ?? rule.written}` });
  }

  const ranked = input.reputation
    .filter((c) => typeof c.e164 === 'string' && /^\+[1-9][0-9]{1,14}$/.test(c.e164))
    .map((c) => ({ ...c, effective: effectiveReputationScore(c, now, input.halfLifeDays) }))
    .filter((c) => c.effective >= input.minReputationScore)
    .sort(compareCandidates);
  for (const c of ranked) {
    if (seen.has(c.e164)) continue;
    seen.add(c.e164);
    if (allow(c.e164)) {
      skipped.allowListed += 1;
      continue;
    }
    const score = Math.min(1, Math.max(0, c.score));
    wanted.push({
      e164: c.e164,
      origin: 'reputation',
      text: `reputation ${score.toFixed(2)}${c.category ? ` ${c.category}` : ''}`,
    });
  }

  const desired: BlacklistEntry[] = [];
  const numbers = { deny: 0, reputation: 0 };
  const keys = new Set<string>();
  let full = false;
  for (const w of wanted) {
    const forms = blacklistKeys(w.e164, input.defaultRegion).filter((k) => !keys.has(k));
    if (full || desired.length + forms.length > input.maxEntries) {
      // strict priority: once one number does not fit, none after it is written
      full = true;
      skipped.overLimitNumbers += 1;
      skipped.overLimitEntries += forms.length;
      continue;
    }
    const value = blacklistValue(w.text);
    for (const key of forms) {
      keys.add(key);
      desired.push({ key, value, e164: w.e164, origin: w.origin });
    }
    numbers[w.origin] += 1;
  }
  return { desired, skipped, numbers };
}

/** The writes that turn `current` into `desired`, touching only callscreen's own entries. */
export function diffBlacklist(
  desired: readonly BlacklistEntry[],
  current: ReadonlyMap<string, string>,
): { put: Array<{ key: string; value: string }>; del: string[]; heldByOthers: number } {
  const put: Array<{ key: string; value: string }> = [];
  const wantedKeys = new Set<string>();
  let heldByOthers = 0;
  for (const { key, value } of desired) {
    wantedKeys.add(key);
    const existing = current.get(key);
    if (existing === undefined) put.push({ key, value });
    else if (!isCallscreenValue(existing)) heldByOthers += 1;
    else if (existing !== value) put.push({ key, value });
  }
  const del: string[] = [];
  for (const [key, value] of current) if (isCallscreenValue(value) && !wantedKeys.has(key)) del.push(key);
  del.sort();
  return { put, del, heldByOthers };
}

/** True when any allow rule (any kind, any DID scope, not expired at `now`) matches the number. */
function allowMatcher(rules: readonly Rule[], now: Date): (e164: string) => boolean {
  const unscoped = rules.filter((r) => r.list === 'allow').map(({ dids: _dids, ...rule }) => rule);
  if (unscoped.length === 0) return () => false;
  const set = buildRuleSet(unscoped);
  return (e164) => set.match(e164, { did: { raw: '' }, now }) !== undefined;
}
