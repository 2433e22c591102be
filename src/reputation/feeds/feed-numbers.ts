/**
 * Normalising a feed's numbers at import speed. normalisePhoneNumber (libphonenumber's parse) alone would
 * take most of a million-line import (docs/benchmarks.md); most feed numbers are already E.164
 * or national numbers of an obvious shape. Those are checked here against a table computed once from
 * libphonenumber's metadata (possible national lengths per country calling code, national prefix),
 * and everything else goes to normalisePhoneNumber, which has the last word on anything unusual.
 *
 * The fast path answers only where libphonenumber would answer the same: calling codes whose regions
 * all share one set of possible lengths and strip nothing but their plain national prefix (no carrier
 * codes, no transform rules: Argentina, the UK's 44 with its Crown dependencies and NANP's seven-digit
 * local forms go the slow way), and numbers whose national part does not start with the national
 * prefix (a "+44 020..." is parsed properly). test/unit/reputation-feed-numbers.test.ts pins the
 * agreement on random numbers.
 */
import { getCountries, getCountryCallingCode, Metadata, type CountryCode } from 'libphonenumber-js/core';
import metadata from 'libphonenumber-js/max/metadata';
import { normalisePhoneNumber } from '../../domain/phone-number';
import { quoteCell } from './feed-text';

/** what a numbering plan tells besides the typed API */
interface PlanDetails {
  possibleLengths(): number[];
  IDDPrefix(): string;
  nationalPrefix?(): string | undefined;
  nationalPrefixForParsing?(): string | undefined;
  nationalPrefixTransformRule?(): string | undefined;
}

interface CallingCodePlan {
  /** possible lengths of the national significant number, as a bit set (bit n = length n) */
  lengths: number;
  /** the national prefix's digit ("0"), or "" */
  nationalPrefix: string;
}

/** calling code -> plan, for the codes the fast path may answer for; computed once */
let simplePlans: Map<string, CallingCodePlan> | undefined;
/** region -> its calling code and whether its national numbers and "00" numbers may take the fast path */
const regionCache = new Map<string, { cc: string; national: CallingCodePlan | undefined; idd00: boolean }>();

function plans(): Map<string, CallingCodePlan> {
  if (simplePlans) return simplePlans;
  simplePlans = new Map();
  const md = new Metadata(metadata);
  const byCode = new Map<string, PlanDetails[]>();
  for (const region of getCountries(metadata)) {
    md.selectNumberingPlan(region);
    const cc = getCountryCallingCode(region, metadata);
    const list = byCode.get(cc) ?? [];
    list.push(md.numberingPlan as unknown as PlanDetails);
    byCode.set(cc, list);
  }
  for (const [cc, list] of byCode) {
    const first = list[0] as PlanDetails;
    const lengths = first.possibleLengths().reduce((bits, n) => bits | (1 << n), 0);
    const nationalPrefix = first.nationalPrefix?.() ?? '';
    const simple = list.every((p) => {
      const np = p.nationalPrefix?.() ?? '';
      const npp = p.nationalPrefixForParsing?.();
      return (
        np === nationalPrefix &&
        np.length <= 1 &&
        !p.nationalPrefixTransformRule?.() &&
        (npp === undefined || npp === np) &&
        p.possibleLengths().reduce((bits, n) => bits | (1 << n), 0) === lengths
      );
    });
    if (simple) simplePlans.set(cc, { lengths, nationalPrefix });
  }
  return simplePlans;
}

function regionPlan(region: CountryCode): { cc: string; national: CallingCodePlan | undefined; idd00: boolean } {
  let r = regionCache.get(region);
  if (!r) {
    const cc = getCountryCallingCode(region, metadata);
    const md = new Metadata(metadata);
    md.selectNumberingPlan(region);
    const plan = plans().get(cc);
    r = {
      cc,
      national: plan && plan.nationalPrefix !== '' ? plan : undefined,
      idd00: (md.numberingPlan as unknown as PlanDetails).IDDPrefix() === '00',
    };
    regionCache.set(region, r);
  }
  return r;
}

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * "+" and digits -> the same string when it is a possible number of a simple calling code;
 * undefined when the fast path cannot tell (the caller then parses properly).
 */
function fastInternational(e164: string): string | undefined {
  const digits = e164.length - 1;
  if (digits < 7 || digits > 15 || !isDigits(e164, 1)) return undefined;
  const c1 = e164.charCodeAt(1);
  if (c1 === 0x31) {
    // NANP: +1 and ten digits, area code not starting with 0 or 1
    const n = e164.charCodeAt(2);
    return digits === 11 && n >= 0x32 ? e164 : undefined;
  }
  const table = plans();
  for (let length = 1; length <= 3; length++) {
    const plan = table.get(e164.slice(1, 1 + length));
    if (!plan) continue;
    const national = digits - length;
    if (plan.nationalPrefix !== '' && e164[1 + length] === plan.nationalPrefix) return undefined;
    return national < 31 && (plan.lengths & (1 << national)) !== 0 ? e164 : undefined;
  }
  return undefined;
}

export type NumberResult = { e164: string } | { problem: string };

/**
 * A normaliser for one import: `raw` -> E.164 or the reason it is not a number a feed can list.
 * Numbers normalisePhoneNumber finds impossible (a length no number of its country has) are problems.
 */
export function createFeedNumberNormaliser(region: CountryCode): (raw: string) => NumberResult {
  const { cc, national, idd00 } = regionPlan(region);
  const nanp = cc === '1';
  return (raw: string): NumberResult => {
    const fast = fastPath(raw, nanp, national, cc, idd00);
    if (fast !== undefined) return { e164: fast };
    const n = normalisePhoneNumber(raw, region);
    if (n.kind === 'withheld')
      return { problem: raw.trim() === '' ? 'no number' : `${quoteCell(raw)} is not a number` };
    if (n.kind === 'unparseable') return { problem: `number ${quoteCell(raw)}: ${n.reason}` };
    if (!n.possible)
      return { problem: `number ${quoteCell(raw)}: ${n.e164} has a length no number in its country has` };
    return { e164: n.e164 };
  };
}

function fastPath(
  raw: string,
  nanp: boolean,
  national: CallingCodePlan | undefined,
  cc: string,
  idd00: boolean,
): string | undefined {
  const first = raw.charCodeAt(0);
  if (first === 0x2b) return fastInternational(raw);
  if (!isDigits(raw, 0)) return undefined;
  if (nanp) {
    if (raw.length === 10 && first >= 0x32) return `+1${raw}`;
    if (raw.length === 11 && first === 0x31 && raw.charCodeAt(1) >= 0x32) return `+${raw}`;
    return undefined;
  }
  if (first !== 0x30) return undefined;
  if (raw.charCodeAt(1) === 0x30) return idd00 ? fastInternational(`+${raw.slice(2)}`) : undefined;
  if (!national || national.nationalPrefix !== '0') return undefined;
  const length = raw.length - 1;
  return length < 31 && (national.lengths & (1 << length)) !== 0 ? `+${cc}${raw.slice(1)}` : undefined;
}
