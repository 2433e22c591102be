/**
 * One number, many notations: whatever way a trunk writes a caller ID (a SIP or tel URI in any case, a
 * display name, parameters, an extension, other digit scripts, separators, an international prefix),
 * it is the same number and decides alike. docs/screening.md, "How caller IDs are normalised".
 */
import fc from 'fast-check';
import { getCountries, getExampleNumber, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { configSchema } from '../../src/config/schema';
import type { HistoryLookup } from '../../src/domain/caller-history';
import { guessE164, normalisePhoneNumber } from '../../src/domain/phone-number';
import { buildRuleSet, compileRule, type Rule } from '../../src/domain/rule-set';
import { screenCall } from '../../src/domain/screen-call';
import { compileScreening } from '../../src/domain/screening-policy';

const NUMBER = '+12015550123';
const AT = new Date('2026-11-23T15:00:00Z');
const deny = compileRule({ list: 'deny', number: NUMBER, source: { file: 'rules.yaml', line: 2, column: 5 } }, 'US');
if ('reason' in deny) throw new Error(deny.reason);
const rules = buildRuleSet([deny as Rule]);
const { model } = compileScreening(
  configSchema.parse({ numbers: { defaultRegion: 'US' }, screening: { timeZone: 'UTC' } }),
);
const clean: HistoryLookup = {
  status: 'found',
  history: {
    reputation: { entries: [] },
    numberCalls: [{ windowSeconds: 60, calls: 1 }],
    blockCalls: [{ windowSeconds: 60, calls: 1 }],
    captcha: { failures: 0 },
  },
};
const decide = (callerNumber: string) =>
  screenCall({ callerNumber, did: '+12125550100', at: AT }, { rules, history: clean }, model);

describe(`notations of ${NUMBER} (region US) decide alike: the deny rule for it hits each`, () => {
  const reference = decide(NUMBER);

  test.each([
    ['E.164', '+12015550123'],
    ['separators', '+1 (201) 555-0123'],
    ['dots and slashes', '+1.201.555/0123'],
    ['national, 10 digits', '2015550123'],
    ['national, 11 digits', '1 201 555 0123'],
    ['sip: URI', 'sip:+12015550123@192.0.2.10'],
    ['SIP: in capitals', 'SIP:+12015550123@host'],
    ['Sip: in mixed case', 'Sip:+12015550123@host'],
    ['sips: URI', 'sips:+12015550123@carrier.example'],
    ['sips: URI without the +, with a port', 'sips:12015550123@host:5061'],
    ['SIPS: in capitals', 'SIPS:+12015550123@carrier.example'],
    ['tel: URI', 'tel:+12015550123'],
    ['TEL: in capitals', 'TEL:+12015550123'],
    ['tel: URI with visual separators', 'tel:+1-201-555-0123'],
    ['sip: URI without the +', 'sip:12015550123@host'],
    ['angle brackets', '<sip:+12015550123@host>'],
    ['display name and angle brackets', '"Alice Example" <sip:+12015550123@host>'],
    ['display name holding another number', '"+44 20 7946 0000" <SIP:+12015550123@host>;tag=as5d8e'],
    ['unquoted display name', 'Alice <tel:+12015550123>'],
    ['port and URI parameters', 'sip:+12015550123@host:5060;user=phone'],
    ['STIR/SHAKEN verstat in the user part', 'sip:+12015550123;verstat=TN-Validation-Passed@host;user=phone'],
    ['URI headers', '<sip:+12015550123@host?X-Carrier=acme>'],
    ['password in the user info', 'sip:+12015550123:secret@host'],
    ['percent-encoded +', 'sip:%2B12015550123@host'],
    ['tel: URI with phone-context', 'tel:+12015550123;phone-context=example.com'],
    ['parameter without a URI', '+12015550123;user=phone'],
    ['extension as a URI parameter', 'sip:+12015550123;ext=45@host'],
    ['extension on a tel: URI', 'tel:+12015550123;ext=45'],
    ['extension as a parameter without a URI', '+12015550123;ext=45'],
    ['extension written x45', '+1 201 555 0123 x45'],
    ['extension written x45, no space', '+12015550123x45'],
    ['extension written ext. 45', '(201) 555-0123 ext. 45'],
    ['extension written Extension 45', '+1 201 555 0123 Extension 45'],
    ['fullwidth digits and plus', '＋１２０１５５５０１２３'],
    ['fullwidth digits with fullwidth separators', '＋１（２０１）５５５－０１２３'],
    ['Arabic-Indic digits', '+١٢٠١٥٥٥٠١٢٣'],
    ['Persian digits', '+۱۲۰۱۵۵۵۰۱۲۳'],
    ['Devanagari digits', '+१२०१५५५०१२३'],
    ['digits of several scripts', '+1 ２٠1 ５۵5 0१23'],
    ['mathematical bold digits', '+𝟏𝟐𝟎𝟏𝟓𝟓𝟓𝟎𝟏𝟐𝟑'],
    ['Arabic-Indic digits with right-to-left marks', '\u200f+١٢٠١\u200f٥٥٥٠١٢٣\u200e'],
    ['00 international prefix', '0012015550123'],
    ['00 international prefix with spaces', '00 1 201 555 0123'],
    ['011 international prefix', '011 1 201 555 0123'],
    ['doubled plus', '++12015550123'],
    ['doubled plus with a space', '+ +1 201 555 0123'],
    ['non-breaking and ideographic spaces', '+1\u00a0201\u3000555\u202f0123'],
    ['non-breaking hyphens and a minus sign', '+1\u2011201\u2011555\u22120123'],
    ['zero-width spaces and a soft hyphen', '+1\u200b201\u00ad555\u200b0123'],
    [
      'a sip: URI with everything',
      '  "ACME" <SiPs:%2B1-201-555-0123;ext=9;verstat=TN-Validation-Passed@[2001:db8::1]:5061;user=phone?X=1>;tag=1  ',
    ],
  ])('%s: %p', (_name, raw) => {
    const n = normalisePhoneNumber(raw, 'US');
    expect(n).toMatchObject({ kind: 'e164', e164: NUMBER, valid: true });
    expect(guessE164(raw, 'US')).toBe(NUMBER);
    const d = decide(raw);
    expect(d.verdict).toBe(reference.verdict);
    expect(d.score).toBe(reference.score);
    expect(d.reasons.map((r) => r.code)).toEqual(reference.reasons.map((r) => r.code));
    expect(d.reasons[0]?.code).toBe('rule.deny');
  });

  test.each([
    ['the word anonymous', 'anonymous'],
    ['the word restricted, capitalised', 'Restricted'],
    ['nothing', ''],
    ['sip: URI of anonymous', 'sip:anonymous@anonymous.invalid'],
    ['display name and anonymous URI', '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1'],
    ['restricted in capitals', 'SIP:Restricted@host'],
    ['tel: URI of unknown', 'TEL:unknown'],
    ['empty user part', '<sip:@host>'],
  ])('a URI of a withheld caller is withheld, like the plain word: %s', (_name, raw) => {
    expect(normalisePhoneNumber(raw, 'US')).toEqual({ kind: 'withheld', raw });
    expect(guessE164(raw, 'US')).toBeUndefined();
    expect(decide(raw).reasons.map((r) => r.code)).toContain('caller.withheld');
  });

  test.each([
    ['a country code cannot start with 0', '+0012015550123'],
    ['letters in the number', 'sip:+1201555ABCD@host'],
    ['another URI scheme', 'http:+12015550123@host'],
    ['superscript digits are not decimal digits', '+¹²⁰¹⁵⁵⁵⁰¹²³'],
    ['an extension after #', '+1 201 555 0123 #9'],
    ['a number part longer than 64 characters', `sip:${'+1 201 555 0123 '.repeat(5)}@host`],
    ['a caller ID longer than 256 characters', `"${'A'.repeat(300)}" <sip:+12015550123@host>`],
  ])('refused (unparseable, with a reason): %s', (_name, raw) => {
    const n = normalisePhoneNumber(raw, 'US');
    expect(n.kind).toBe('unparseable');
    expect(n.kind === 'unparseable' && n.reason.length).toBeGreaterThan(0);
    expect(guessE164(raw, 'US')).toBeUndefined();
  });

  test.each([
    ['00 in a NANP region', '00 44 20 7946 0000', 'CA', '+442079460000'],
    ['011 in a NANP region', '011 44 20 7946 0000', 'US', '+442079460000'],
  ] as const)('an international prefix is an international prefix to the guess too: %s', (_name, raw, region, e164) => {
    expect(normalisePhoneNumber(raw, region)).toMatchObject({ kind: 'e164', e164 });
    expect(guessE164(raw, region)).toBe(e164);
  });

  test.each([
    ['00 in DE', '0049 30 1234567', 'DE', '+49301234567'],
    ['0011 in AU', '0011 44 20 7946 0000', 'AU', '+442079460000'],
  ] as const)(
    "elsewhere the region's own international prefix is libphonenumber's to read: %s",
    (_name, raw, region, e164) => {
      expect(normalisePhoneNumber(raw, region)).toMatchObject({ kind: 'e164', e164 });
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// The same, as a property: random notations of random valid numbers normalise alike.

/** Decimal digit sets a caller ID may come in: their zeros (ASCII, fullwidth, Arabic-Indic, Persian, Devanagari, Bengali, Thai, mathematical bold). */
const DIGIT_ZEROS = [0x30, 0xff10, 0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0x1d7ce];
const SEPARATORS = ['', '', '', ' ', '-', '.', '/', '(', ')', '\u00a0', '\u2011', '\u3000', '\uff0d', '\u200b'];
const HOSTS = ['host', '192.0.2.10:5060', 'carrier.example', '[2001:db8::1]:5061'];
/** Default regions with the international prefixes a caller ID may carry there. */
const REGIONS: ReadonlyArray<{ region: CountryCode; prefixes: readonly string[] }> = [
  { region: 'US', prefixes: ['+', '00', '011'] },
  { region: 'CA', prefixes: ['+', '00', '011'] },
  { region: 'DE', prefixes: ['+', '00'] },
  { region: 'GB', prefixes: ['+', '00'] },
  { region: 'CH', prefixes: ['+', '00'] },
  { region: 'JP', prefixes: ['+'] },
  { region: 'AU', prefixes: ['+'] },
  { region: 'IN', prefixes: ['+'] },
];

/** A valid number: a region's example mobile number with its last two digits drawn at random. */
const validNumbers = fc
  .record({
    country: fc.constantFrom(...getCountries().filter((c) => getExampleNumber(c, examples) !== undefined)),
    tail: fc.integer({ min: 0, max: 99 }),
  })
  .map(({ country, tail }) => {
    const example = getExampleNumber(country, examples)?.number ?? '';
    const parsed = parsePhoneNumberFromString(`${example.slice(0, -2)}${String(tail).padStart(2, '0')}`);
    return parsed?.isValid() ? parsed.number : undefined;
  })
  .filter((n): n is string => n !== undefined);

const caseOf = (word: string, upper: boolean[]) =>
  [...word].map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch)).join('');

/** The number written out: in ASCII, in one other script, or each digit in its own; random separators. */
const writtenDigits = (digits: string) =>
  fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(Array<number>(digits.length).fill(0x30)) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(...DIGIT_ZEROS).map((zero) => Array<number>(digits.length).fill(zero)),
        },
        {
          weight: 1,
          arbitrary: fc.array(fc.constantFrom(...DIGIT_ZEROS), { minLength: digits.length, maxLength: digits.length }),
        },
      ),
      fc.array(fc.constantFrom(...SEPARATORS), { minLength: digits.length, maxLength: digits.length }),
    )
    .map(([zeros, separators]) =>
      [...digits]
        .map((d, i) => `${String.fromCodePoint((zeros[i] ?? 0x30) + Number(d))}${separators[i] ?? ''}`)
        .join(''),
    );

const notations = (e164: string, prefixes: readonly string[]) =>
  fc
    .record({
      prefix: fc.constantFrom(...prefixes, '++', '\uff0b'),
      digits: writtenDigits(e164.slice(1)),
      wrapper: fc.constantFrom('none', 'tel', 'sip', 'sips', 'bracketed', 'named'),
      upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      host: fc.constantFrom(...HOSTS),
      userParams: fc.constantFrom('', ';ext=45', ';verstat=TN-Validation-Passed', ';isub=1;ext=7'),
      uriParams: fc.constantFrom('', ';user=phone', ';transport=tcp;user=phone', '?X-Carrier=acme'),
      extension: fc.constantFrom('', '', ' x12', 'x12', ' ext. 12', ' Extension 12'),
    })
    .map(({ prefix, digits, wrapper, upper, host, userParams, uriParams, extension }) => {
      const number = `${prefix === '++' ? '++' : prefix}${digits}`;
      const scheme = (name: string) => `${caseOf(name, upper)}:`;
      switch (wrapper) {
        case 'none':
          return `${number}${userParams || extension}`;
        case 'tel':
          return `${scheme('tel')}${number}${userParams}`;
        case 'sip':
        case 'sips':
          return `${scheme(wrapper)}${number}${userParams}@${host}${uriParams}`;
        case 'bracketed':
          return `<${scheme('sip')}${number}${userParams}@${host}${uriParams}>`;
        case 'named':
          return `"Caller ${e164}" <${scheme('sips')}${number}${userParams}@${host}${uriParams}>;tag=1`;
      }
      return number;
    });

describe('property: random notations of random valid numbers normalise alike', () => {
  test('1,000 numbers, each in a random notation, normalise to what the E.164 form normalises to; the guess never contradicts it', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...REGIONS)
          .chain(({ region, prefixes }) =>
            validNumbers.chain((e164) => fc.tuple(fc.constant(region), fc.constant(e164), notations(e164, prefixes))),
          ),
        ([region, e164, raw]) => {
          const expected = normalisePhoneNumber(e164, region);
          if (expected.kind !== 'e164') return false;
          const n = normalisePhoneNumber(raw, region);
          expect({ raw, region, n }).toMatchObject({ n: { kind: 'e164', e164: expected.e164, valid: expected.valid } });
          const guess = guessE164(raw, region);
          if (guess !== undefined) expect({ raw, region, guess }).toEqual({ raw, region, guess: expected.e164 });
          return true;
        },
      ),
      { seed: 20261206, numRuns: 1_000 },
    );
  });

  test('1,000 numbers in international notation: the early guess is the one the E.164 form gets', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...REGIONS)
          .chain(({ region }) =>
            validNumbers.chain((e164) => fc.tuple(fc.constant(region), fc.constant(e164), notations(e164, ['+']))),
          ),
        ([region, e164, raw]) => {
          expect({ raw, region, guess: guessE164(raw, region) }).toEqual({
            raw,
            region,
            guess: guessE164(e164, region),
          });
        },
      ),
      { seed: 20261206, numRuns: 1_000 },
    );
  });
});
