/**
 * Caller and called numbers as they arrive from a trunk, normalised to E.164. Pure: no I/O.
 * Anything a trunk can put into a caller ID gives a value, never an exception.
 */
import {
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
  type CountryCode,
  type NumberType,
} from 'libphonenumber-js/max';

export type PhoneNumber =
  | {
      kind: 'e164';
      raw: string;
      e164: string;
      /** ISO 3166 region of the number, when libphonenumber knows it */
      country?: string;
      /** a number that exists in the numbering plan (libphonenumber isValid) */
      valid: boolean;
      /** of a length that numbers in its country can have (libphonenumber isPossible) */
      possible: boolean;
      type?: NumberType;
    }
  | { kind: 'withheld'; raw: string }
  | { kind: 'unparseable'; raw: string; reason: string };

/** What trunks and phones put into the caller ID when the number is withheld or unknown. */
const WITHHELD = new Set([
  '',
  'anonymous',
  'unknown',
  'unavailable',
  'restricted',
  'private',
  'withheld',
  'blocked',
  'unknown caller',
  'no caller id',
  'p',
  'o',
]);

const MAX_RAW_LENGTH = 64;
/** E.164 allows at most 15 digits; trunks add up to two prefix digits (00, 011) before normalisation. */
const MAX_DIGITS = 18;
/** Separators people and trunks write between digits. */
const SEPARATORS = /[\s\-./()\u00a0\u2010-\u2015]/g;

export function normalisePhoneNumber(raw: string, defaultRegion: CountryCode): PhoneNumber {
  const trimmed = raw.trim();
  if (WITHHELD.has(trimmed.toLowerCase())) return { kind: 'withheld', raw };
  if (trimmed.length > MAX_RAW_LENGTH)
    return { kind: 'unparseable', raw, reason: `longer than ${MAX_RAW_LENGTH} characters` };

  let compact = trimmed.replace(SEPARATORS, '');
  if (compact.startsWith('sip:') || compact.startsWith('tel:')) compact = compact.slice(4).split(/[@;]/)[0] ?? '';
  if (!/^\+?[0-9]+$/.test(compact))
    return { kind: 'unparseable', raw, reason: 'contains characters other than digits and a leading +' };
  const digits = compact.replace('+', '');
  if (digits.length > MAX_DIGITS)
    return { kind: 'unparseable', raw, reason: `${digits.length} digits, more than a phone number can have` };
  if (digits.length < 3) return { kind: 'unparseable', raw, reason: 'too short to be a phone number' };

  let parsed = parsePhoneNumberFromString(compact, defaultRegion);
  if (!parsed) return { kind: 'unparseable', raw, reason: `not a number in ${defaultRegion} or international format` };
  // With the full ("max") metadata a number is valid exactly when it has a type: isValid() would run
  // the same type patterns getType() runs, a second time.
  let type = parsed.getType();
  // A few malformed inputs ("000173" in DE, "+1 1 201 200 0000") come out with a national prefix left in
  // the national number, and their E.164 string parses differently again; settle on the fixpoint so a
  // number and its E.164 form always normalise alike. Only for invalid numbers and national numbers
  // starting with 0: parsing again is not free (docs/benchmarks.md).
  // ("+54 00 11 ..." needs two more rounds: each strips one prefix.)
  for (let round = 0; round < 4 && (type === undefined || parsed.nationalNumber.startsWith('0')); round++) {
    const settled = parsePhoneNumberFromString(parsed.number);
    if (!settled || settled.number === parsed.number) break;
    parsed = settled;
    type = settled.getType();
  }
  const result: PhoneNumber = {
    kind: 'e164',
    raw,
    e164: parsed.number,
    valid: type !== undefined,
    possible: parsed.isPossible(),
  };
  if (parsed.country) result.country = parsed.country;
  if (type) result.type = type;
  return result;
}

/**
 * The E.164 form a caller ID most likely normalises to, found without parsing (a small part of a parse's cost):
 * an international number (+ and digits), or a 10- or 11-digit NANP number when the region's calling
 * code is 1. Used to start the Redis lookup early; normalisePhoneNumber has the last word, and a guess
 * it disagrees with is thrown away (the lookup is made again). That happens for about 1 in 3,000 random
 * international numbers (carrier prefixes, Argentina's mobile 9); undefined when there is no cheap guess.
 */
export function guessE164(raw: string, defaultRegion: CountryCode): string | undefined {
  const compact = raw.trim().replace(SEPARATORS, '');
  if (/^\+[1-9][0-9]{6,14}$/.test(compact)) return plausibleInternational(compact) ? compact : undefined;
  if (!NANP_REGIONS.has(defaultRegion) || !/^[0-9]+$/.test(compact)) return undefined;
  if (compact.length === 10 && /^[2-9]/.test(compact)) return `+1${compact}`;
  if (compact.length === 11 && /^1[2-9]/.test(compact)) return `+${compact}`;
  return undefined;
}

/** Country calling codes libphonenumber knows ("1", "41", "353", ...). */
let callingCodes: Set<string> | undefined;

/**
 * "+44 020 7946 0000" and "+1 1 212 ..." carry a national prefix after the country code, which
 * normalisation strips: the guess would be wrong, so do not guess. National prefixes are 0 almost
 * everywhere, 1 in NANP and 8 in the former Soviet Union; numbers whose first digit after the country
 * code is one of those simply get no guess (Italy's 0, Munich's 89: no early lookup, same result).
 */
function plausibleInternational(e164: string): boolean {
  callingCodes ??= new Set(getCountries().map((c) => getCountryCallingCode(c)));
  for (let length = 1; length <= 3; length++) {
    const cc = e164.slice(1, 1 + length);
    if (!callingCodes.has(cc)) continue;
    const next = e164[1 + length] ?? '';
    return cc === '1' ? /[2-9]/.test(next) : /[1-79]/.test(next);
  }
  return false;
}

/** Regions of the North American Numbering Plan (calling code 1). */
const NANP_REGIONS = new Set<string>([
  'US',
  'CA',
  'AG',
  'AI',
  'AS',
  'BB',
  'BM',
  'BS',
  'DM',
  'DO',
  'GD',
  'GU',
  'JM',
  'KN',
  'KY',
  'LC',
  'MP',
  'MS',
  'PR',
  'SX',
  'TC',
  'TT',
  'VC',
  'VG',
  'VI',
]);

/** A short human label for logs and tables: the E.164 form, "withheld", or the raw text quoted. */
export function describePhoneNumber(n: PhoneNumber): string {
  switch (n.kind) {
    case 'e164':
      return n.e164;
    case 'withheld':
      return 'withheld';
    case 'unparseable':
      return JSON.stringify(n.raw);
  }
}
