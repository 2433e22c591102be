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
import { Metadata } from 'libphonenumber-js/core';
import metadataJson from 'libphonenumber-js/metadata.max.json';

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

/** Longest caller ID read at all: a SIP URI with a display name and parameters fits. */
const MAX_RAW_LENGTH = 256;
/** Longest number part (what is left of a URI without its parameters) that is parsed. */
const MAX_NUMBER_LENGTH = 64;
/** E.164 allows at most 15 digits; trunks add up to two prefix digits (00, 011) before normalisation. */
const MAX_DIGITS = 18;
/** What normalisation hands to libphonenumber: ASCII digits and at most one leading +. */
const PLAIN_NUMBER = /^\+?[0-9]+$/;
/** Most caller IDs: ASCII digits, pluses and the common separators only. */
const SIMPLE_NOTATION = /^[+0-9 \-./()]+$/;
/**
 * Separators people and trunks write between digits (RFC 3966's visual separators and more): spaces of
 * every kind, hyphens, dashes and the minus sign, dots, slashes, parentheses, and their fullwidth forms.
 */
const SEPARATORS = /[\s\-./()\u2010-\u2015\u2212\uff08\uff09\uff0d\uff0e\uff0f]/g;
/** Invisible format characters (zero-width spaces, soft hyphens, the marks of right-to-left text). */
const INVISIBLE = /\p{Cf}/gu;
/** An extension after the number: x45, ext45, extn45, extension45 (separators are gone by then). */
const EXTENSION = /(?<=[0-9])(?:x|ext|extn|extension)[0-9]+$/i;
const URI_SCHEME = /^(sips?|tel):/i;

/** A caller ID read down to the number it carries: "+" and ASCII digits, or why it carries none. */
type CallerIdNumber = { kind: 'number'; text: string } | { kind: 'withheld' } | { kind: 'unparseable'; reason: string };

/**
 * The one reading of a caller ID's notation, shared by normalisePhoneNumber and guessE164 so they never
 * disagree about what a caller ID says (docs/screening.md, "How caller IDs are normalised").
 */
function readCallerId(raw: string, region: CountryCode): CallerIdNumber {
  let text = raw.trim();
  if (!PLAIN_NUMBER.test(text)) {
    if (text.length > MAX_RAW_LENGTH)
      return { kind: 'unparseable', reason: `longer than ${MAX_RAW_LENGTH} characters` };
    if (SIMPLE_NOTATION.test(text)) {
      text = text.replace(SEPARATORS, ''); // the common case, kept cheap: guessE164 is on every call's path
    } else {
      if (WITHHELD.has(text.toLowerCase())) return { kind: 'withheld' };
      text = numberPartOf(text);
      if (WITHHELD.has(text.toLowerCase())) return { kind: 'withheld' };
      if (text.length > MAX_NUMBER_LENGTH)
        return { kind: 'unparseable', reason: `longer than ${MAX_NUMBER_LENGTH} characters` };
      text = asciiDigits(text).replace(INVISIBLE, '').replace(SEPARATORS, '').replace(EXTENSION, '');
    }
    text = text.replace(/^\+{2,}/, '+');
    if (!PLAIN_NUMBER.test(text))
      return { kind: 'unparseable', reason: 'contains characters other than digits and a leading +' };
  }
  // No NANP number starts with 0: 011 (the region's own international prefix) and 00 (everyone else's,
  // which trunks use too) can only mean an international number. Elsewhere libphonenumber reads the
  // region's own prefix (00 in DE, 0011 in AU) and has no competing meaning to guess about.
  if (NANP_REGIONS.has(region) && text.startsWith('0')) text = text.replace(/^(?:011|00)/, '+');
  return { kind: 'number', text };
}

/**
 * The number part of a caller ID written as a URI or with parameters: the address inside <...> (no
 * display name, no header parameters); for sip:, sips: and tel: in any case the user part (no host,
 * port, password, URI parameters or headers; %-escapes decoded); then no ;parameters (ext=, isub=,
 * phone-context=, verstat=, user=: an extension reaches the same number, so the number is what counts).
 */
function numberPartOf(callerId: string): string {
  let text = callerId;
  const open = text.lastIndexOf('<');
  const close = open >= 0 ? text.indexOf('>', open) : -1;
  if (close > open) text = text.slice(open + 1, close).trim();
  const scheme = URI_SCHEME.exec(text);
  if (scheme) {
    text = text.slice(scheme[0].length);
    const headers = text.indexOf('?');
    if (headers >= 0) text = text.slice(0, headers);
    const at = text.indexOf('@');
    if (at >= 0) {
      text = text.slice(0, at);
      const password = text.indexOf(':');
      if (password >= 0) text = text.slice(0, password);
    }
    text = percentDecoded(text);
  }
  const parameters = text.indexOf(';');
  if (parameters >= 0) text = text.slice(0, parameters);
  return text.trim();
}

function percentDecoded(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // not valid %-encoding: left as written, and refused for the % it holds
  }
}

/**
 * Every decimal digit Unicode knows (fullwidth, Arabic-Indic, Persian, Devanagari, ...) as its ASCII
 * digit, and the fullwidth plus as "+". Other digit-like characters (superscripts, circled digits) stay
 * and are refused.
 */
function asciiDigits(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return text.replace(/\p{Nd}/gu, (digit) => String(decimalValue(digit))).replace(/\uff0b/g, '+');
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * Unicode encodes each set of decimal digits as a run of ten, zero first, sets side by side (a stability
 * guarantee): a digit's value is its distance from the start of its run, modulo ten.
 */
function decimalValue(digit: string): number {
  const codePoint = digit.codePointAt(0) ?? 0;
  let start = codePoint;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}

export function normalisePhoneNumber(raw: string, defaultRegion: CountryCode): PhoneNumber {
  const read = readCallerId(raw, defaultRegion);
  if (read.kind === 'withheld') return { kind: 'withheld', raw };
  if (read.kind === 'unparseable') return { kind: 'unparseable', raw, reason: read.reason };
  const compact = read.text;
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
 * its notation read exactly as normalisePhoneNumber reads it (URIs, separators, digits, prefixes), then an
 * international number (+ and digits), or a 10- or 11-digit NANP number when the region's calling code is 1. Used to start the Redis lookup early; normalisePhoneNumber has the last word, and a guess
 * it disagrees with is thrown away (the lookup is made again). That happens for about 1 in 3,000 random
 * international numbers (carrier prefixes, Argentina's mobile 9); undefined when there is no cheap guess.
 */
export function guessE164(raw: string, defaultRegion: CountryCode): string | undefined {
  const read = readCallerId(raw, defaultRegion);
  if (read.kind !== 'number') return undefined;
  const compact = read.text;
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
    if (!(cc === '1' ? /[2-9]/.test(next) : /[1-79]/.test(next))) return false;
    return !nationalPrefixMayRewrite(cc, e164.slice(1 + length));
  }
  return false;
}

/**
 * Some numbering plans rewrite the national number while parsing, even after a country code: San
 * Marino's "921269" becomes "0549921269". Where the prefix for parsing of a region with this calling
 * code matches the start of the national number, the full parse may differ from the digits as written:
 * no guess (the history is then read after the full parse, and the call counted under that number).
 */
function nationalPrefixMayRewrite(callingCode: string, national: string): boolean {
  let rule = parsingRules.get(callingCode);
  if (rule === undefined) {
    rule = readParsingRule(callingCode);
    parsingRules.set(callingCode, rule);
  }
  if (rule === null) return false;
  const match = rule.prefix.exec(national);
  return match !== null && match[0].length > 0;
}

const parsingRules = new Map<string, { prefix: RegExp } | null>();

/** The parsing rules of every region sharing the calling code, merged (any region's rewrite counts). */
function readParsingRule(callingCode: string): { prefix: RegExp } | null {
  const regions = (metadataJson as { country_calling_codes: Record<string, string[] | undefined> })
    .country_calling_codes[callingCode];
  const prefixes: string[] = [];
  for (const region of regions ?? []) {
    try {
      const metadata = new Metadata(metadataJson);
      metadata.selectNumberingPlan(region as CountryCode);
      const plan = metadata.numberingPlan as ParsingPlan | undefined;
      const prefix = plan?.nationalPrefixForParsing?.();
      if (typeof prefix === 'string' && prefix !== '') prefixes.push(`(?:${prefix})`);
    } catch {
      // a region libphonenumber cannot select: nothing to merge
    }
  }
  return prefixes.length === 0 ? null : { prefix: new RegExp(`^(?:${prefixes.join('|')})`) };
}

/** The parts of libphonenumber's numbering plan object read here (its typings do not declare them). */
interface ParsingPlan {
  nationalPrefixForParsing?(): unknown;
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
