/**
 * Number patterns in rules, written the way people write numbers: "+1 212 555 01??", "+1 900*",
 * "030 12*". `?` or `X` stands for exactly one digit, a trailing `*` for any rest. Separators are
 * ignored. A pattern compiles to its E.164 form ("+121255501??", "+1900*") so matching is a plain
 * character walk over the caller's E.164 string. Pure: no I/O.
 */
import { Metadata } from 'libphonenumber-js/core';
import { getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import metadataJson from 'libphonenumber-js/metadata.max.json';

export interface NumberPattern {
  /** E.164 digits with `?` for one digit and an optional trailing `*`: "+121255501??", "+1900*" */
  pattern: string;
  /** digits written out after the country code: the rule's specificity, and its guard against matching whole countries */
  fixedDigits: number;
}

/** At least this many digits after the country code must be written out. */
export const MIN_FIXED_DIGITS = 3;
/** E.164: at most 15 digits including the country code. */
const MAX_E164_DIGITS = 15;
/** Separators people write between digits (as in phone-number.ts). */
const SEPARATORS = /[\s\-./()\u00a0\u2010-\u2015]/g;
/** Every country calling code libphonenumber knows, geographic and not (+800, +882, ...). They are prefix-free. */
const CALLING_CODES = new Set(Object.keys(metadataJson.country_calling_codes));

/** Whether a written rule is a pattern rather than one exact number. */
export function isNumberPattern(written: string): boolean {
  return /[*?xX]/.test(written);
}

export function compileNumberPattern(written: string, defaultRegion: CountryCode): NumberPattern | { reason: string } {
  const compact = written.trim().replace(SEPARATORS, '').replace(/[xX]/g, '?');
  const parts = /^(\+|00)?([0-9?]+)(\*?)$/.exec(compact);
  if (!parts)
    return {
      reason: `pattern "${written}" must be digits (optionally starting with + or 00), ? or X for exactly one digit, and an optional * at the end`,
    };
  const [, international, body = '', star = ''] = parts;
  const digits = international ? { digits: body } : nationalToInternational(body, defaultRegion);
  if ('reason' in digits) return { reason: `pattern "${written}" ${digits.reason}` };
  if (digits.digits.length > MAX_E164_DIGITS)
    return {
      reason: `pattern "${written}" has ${digits.digits.length} digits; an E.164 number has at most ${MAX_E164_DIGITS}`,
    };
  const cc = callingCodeOf(digits.digits);
  if ('reason' in cc) return { reason: `pattern "${written}" ${cc.reason}` };
  const fixedDigits = countFixedDigits(digits.digits.slice(cc.code.length));
  if (fixedDigits < MIN_FIXED_DIGITS) {
    return {
      reason: `pattern "${written}" is too short: it would match whole countries; write out at least ${MIN_FIXED_DIGITS} digits after the country code +${cc.code}`,
    };
  }
  return { pattern: `+${digits.digits}${star}`, fixedDigits };
}

/** Whether an E.164 string matches a compiled pattern ("+121255501??", "+1900*"). */
export function matchesNumberPattern(pattern: string, e164: string): boolean {
  const open = pattern.endsWith('*');
  const length = open ? pattern.length - 1 : pattern.length;
  if (open ? e164.length < length : e164.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const p = pattern.charCodeAt(i);
    // '?' stands for one digit; the caller is E.164-shaped, so position 0 is '+' and the rest digits
    if (p !== 63 /* ? */ && p !== e164.charCodeAt(i)) return false;
  }
  return true;
}

/** The country calling code at the start of E.164 digits; it must be written out, not wildcarded. */
export function callingCodeOf(digits: string): { code: string } | { reason: string } {
  for (let length = 1; length <= 3 && length <= digits.length; length++) {
    const head = digits.slice(0, length);
    if (head.includes('?')) return { reason: 'must write out the country code (no ? or X in it)' };
    if (CALLING_CODES.has(head)) return { code: head };
  }
  if (digits.length < 3) return { reason: 'is too short: it would match whole countries' };
  return { reason: `does not start with a country calling code (+${digits.slice(0, 3)}... is none)` };
}

/**
 * "030 12*" in DE -> "493012": drop the region's national (trunk) prefix, add its calling code. The
 * prefix comes from libphonenumber's metadata: "0" in DE and GB, "1" in NANP, "06" in HU, none in IT
 * and ES (where the leading 0 is part of the number).
 */
function nationalToInternational(body: string, region: CountryCode): { digits: string } | { reason: string } {
  if (body.startsWith('?')) return { reason: 'must start with digits, or with + and the country code' };
  let cc: string;
  try {
    cc = getCountryCallingCode(region);
  } catch {
    return { reason: `is not in international form and ${region} is not a known region` };
  }
  const trunk = nationalPrefixOf(region);
  const significant = trunk !== undefined && body.startsWith(trunk) ? body.slice(trunk.length) : body;
  return { digits: `${cc}${significant}` };
}

/** libphonenumber's numbering plan has nationalPrefix() at run time; its type declarations leave it out. */
interface PlanWithNationalPrefix {
  nationalPrefix?: () => unknown;
}

const nationalPrefixes = new Map<CountryCode, string | undefined>();

function nationalPrefixOf(region: CountryCode): string | undefined {
  if (!nationalPrefixes.has(region)) nationalPrefixes.set(region, readNationalPrefix(region));
  return nationalPrefixes.get(region);
}

function readNationalPrefix(region: CountryCode): string | undefined {
  try {
    const metadata = new Metadata(metadataJson);
    metadata.selectNumberingPlan(region);
    const prefix = (metadata.numberingPlan as PlanWithNationalPrefix | undefined)?.nationalPrefix?.();
    // the minified metadata says "none" with a non-string (0)
    return typeof prefix === 'string' && /^[0-9]+$/.test(prefix) ? prefix : undefined;
  } catch {
    return undefined;
  }
}

function countFixedDigits(pattern: string): number {
  let count = 0;
  for (const c of pattern) if (c !== '?') count++;
  return count;
}
