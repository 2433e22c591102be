/**
 * Caller names as rules compare them. Pure.
 *
 * A name reaches Asterisk as the caller sent it (the From or P-Asserted-Identity display name, or the
 * carrier's CNAM): any case, doubled spaces, full-width or accented letters, invisible characters. Rules and
 * calls are compared in one normal form, so "SPAM  RISK", "Spam Risk" and "ＳＰＡＭ ＲＩＳＫ" are one name:
 *   - Unicode compatibility decomposition (NFKD: full-width and styled letters become plain ones, accents
 *     come apart from their letters) and the accents dropped ("Zürich" -> "zurich");
 *   - format and control characters removed (zero-width spaces and joiners, bidi marks), SIP's quoted-pairs
 *     unescaped (PJSIP hands over a display name's \" as sent), quotes around the whole name removed;
 *   - lower case; any run of white space one space; no space at either end.
 */

const COMBINING_MARKS = /\p{M}+/gu;
const INVISIBLE = /[\p{Cf}\p{Cc}]+/gu;
const WHITE_SPACE = /\s+/gu;
const QUOTED_PAIR = /\\(.)/gsu;
const SURROUNDING_QUOTES = /^["'\u201c\u201d\u2018\u2019](.*)["'\u201c\u201d\u2018\u2019]$/su;

/** The longest name compared: a SIP display name can be long, a name rule never needs more. */
export const MAX_CALLER_NAME = 256;

/** A caller name in the form rules compare ("" when nothing is left of it). */
export function normaliseCallerName(raw: string): string {
  const text = raw
    .slice(0, MAX_CALLER_NAME)
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .replace(INVISIBLE, ' ')
    .replace(QUOTED_PAIR, '$1')
    .replace(WHITE_SPACE, ' ')
    .trim();
  const unquoted = SURROUNDING_QUOTES.exec(text)?.[1]?.trim() ?? text;
  return unquoted.toLowerCase();
}

/**
 * A name wildcard as the admin writes it ("*spam*", "V?????????") -> a regular expression over normalised
 * names: * is any run of characters (also none), ? exactly one; everything else is itself.
 */
export function nameWildcardRegex(written: string): RegExp {
  const body = [...normaliseCallerName(written)]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'su');
}

/** Is this written name a wildcard (has * or ?) rather than one exact name? */
export function isNameWildcard(written: string): boolean {
  return /[*?]/.test(written);
}
