/**
 * Caller-ID normalisation under random input (caller-id-notation.test.ts has the notation table and the
 * property that notations of one number decide alike). Here: anything a trunk can send, in any region,
 * gives a value and never an exception; a number normalises to an E.164 form that normalises to itself;
 * the early guess is never a different number than the full parse. Fixed seed: see docs/development.md,
 * "Property tests", to reproduce a failure.
 */
import fc from 'fast-check';
import { getCountries, type CountryCode } from 'libphonenumber-js/max';
import { guessE164, normalisePhoneNumber, type PhoneNumber } from '../../src/domain/phone-number';
import { fuzzRuns } from '../support/hostile-yaml';

const RUNS = fuzzRuns(12_005, 3_000);

const regions = fc.constantFrom(...getCountries());
const digit = fc.constantFrom(...'0123456789');
/** digits with the separators people and trunks write between them */
const numberish = fc.string({ unit: fc.constantFrom(...'0123456789 -./()'), minLength: 1, maxLength: 22 });
/** an international prefix (or none) before national or international digits */
const dialled = fc
  .tuple(fc.constantFrom('', '+', '00', '011', '++', '+0', '0'), numberish)
  .map(([prefix, rest]) => `${prefix}${rest}`);
/** a dialled number in the wrappings SIP and tel URIs give it, schemes in any case */
const wrapped = fc
  .tuple(
    fc.constantFrom('sip:', 'SIP:', 'sIpS:', 'tel:', 'TEL:', 'http:', ''),
    dialled,
    fc.constantFrom('', ';ext=45', ';user=phone', ' x12', '#9', ';', ';;=', ':pw'),
    fc.constantFrom('', '@host', '@[2001:db8::1]:5061', '@', '@@'),
    fc.constantFrom('', ';tag=1', '?X=1', '>', ';user=phone>'),
    fc.constantFrom('', '<', '"Name" <', 'Name <', '"unterminated <', '<<'),
  )
  .map(([scheme, number, userParams, host, tail, head]) => `${head}${scheme}${number}${userParams}${host}${tail}`);
/** anything at all: random text of any script, lone surrogates, control characters, very long */
const callerIds = fc.oneof(
  { weight: 3, arbitrary: dialled },
  { weight: 3, arbitrary: wrapped },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 400 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom('+', '0', '1', '9', ' ', '\u0660', '\uff11'), maxLength: 40 }),
  },
);

/** one of the three kinds, with the fields that kind has */
function wellFormed(n: PhoneNumber, raw: string): boolean {
  if (n.raw !== raw) return false;
  switch (n.kind) {
    case 'withheld':
      return true;
    case 'unparseable':
      return n.reason.length > 0;
    case 'e164':
      return /^\+[1-9][0-9]{1,17}$/.test(n.e164) && typeof n.valid === 'boolean' && typeof n.possible === 'boolean';
  }
  return false;
}

describe('caller-ID normalisation under random input', () => {
  test('normalisePhoneNumber never throws: any caller ID in any region is a number, withheld, or unparseable with a reason', () => {
    fc.assert(
      fc.property(callerIds, regions, (raw, region) => wellFormed(normalisePhoneNumber(raw, region), raw)),
      RUNS,
    );
  });

  test('idempotent: the E.164 form a caller ID normalises to normalises to itself in any region, just as valid (and, when valid, just as possible)', () => {
    fc.assert(
      fc.property(callerIds, regions, regions, (raw, region, elsewhere) => {
        const n = normalisePhoneNumber(raw, region);
        if (n.kind !== 'e164') return true;
        // an E.164 form is the same number whatever the default region
        expect({ raw, region, elsewhere, e164: normalisePhoneNumber(n.e164, elsewhere) }).toMatchObject({
          e164: { kind: 'e164', e164: n.e164, valid: n.valid },
        });
        const again = normalisePhoneNumber(n.e164, region);
        // A known gap, left as it is: `possible` of an invalid number may differ. A national number parsed in
        // a region that shares its calling code ("00000" in CX, "0110000" in IM) is judged by that region's
        // lengths (not possible: impossibleNumber points), its E.164 form (+6100000, +440110000) by the main
        // region's (possible: invalidNumber points). Both are invalid either way.
        const expected = n.valid ? { e164: n.e164, valid: true, possible: n.possible } : { e164: n.e164, valid: false };
        expect({ raw, region, again }).toMatchObject({ again: { kind: 'e164', ...expected } });
        return true;
      }),
      RUNS,
    );
  });

  test('the early guess is undefined or the number the full parse gives, never another one', () => {
    fc.assert(
      fc.property(callerIds, regions, (raw, region) => {
        const guess = guessE164(raw, region);
        if (guess === undefined) return true;
        const n = normalisePhoneNumber(raw, region);
        expect({ raw, region, guess }).toEqual({ raw, region, guess: n.kind === 'e164' ? n.e164 : n.kind });
        return true;
      }),
      RUNS,
    );
  });

  test('digits only, any length, any region: the same (never throws, idempotent, the guess agrees)', () => {
    const plain = fc
      .tuple(fc.constantFrom('', '+'), fc.array(digit, { minLength: 0, maxLength: 20 }))
      .map(([plus, ds]) => `${plus}${ds.join('')}`);
    fc.assert(
      fc.property(plain, regions, (raw, region: CountryCode) => {
        const n = normalisePhoneNumber(raw, region);
        if (!wellFormed(n, raw)) return false;
        const guess = guessE164(raw, region);
        if (n.kind !== 'e164') return guess === undefined;
        expect(normalisePhoneNumber(n.e164, region)).toMatchObject({ e164: n.e164 });
        if (guess !== undefined) expect({ raw, region, guess }).toEqual({ raw, region, guess: n.e164 });
        return true;
      }),
      RUNS,
    );
  });
});
