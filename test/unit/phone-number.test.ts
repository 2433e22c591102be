import fc from 'fast-check';
import { guessE164, normalisePhoneNumber } from '../../src/domain/phone-number';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

describe('normalisePhoneNumber', () => {
  test.each([
    ['international with separators', '+1 (833) 631-7911', 'US', '+18336317911'],
    ['national German number takes the default region', '030 1234567', 'DE', '+49301234567'],
    ['00 international prefix', '0049 30 1234567', 'DE', '+49301234567'],
    ['Swiss national number', '0412490010', 'CH', '+41412490010'],
    ['tel: URI', 'tel:+18336317911', 'US', '+18336317911'],
    ['non-breaking spaces and dots', '+49\u00a030.1234567', 'DE', '+49301234567'],
  ])('%s: %p -> %p', (_name, raw, region, e164) => {
    const n = normalisePhoneNumber(raw, region as 'US');
    expect(n).toMatchObject({ kind: 'e164', e164 });
  });

  test.each([
    ['empty', ''],
    ['anonymous', 'anonymous'],
    ['Anonymous with spaces', '  Anonymous '],
    ['restricted', 'Restricted'],
    ['private', 'PRIVATE'],
  ])('withheld caller ID: %s', (_name, raw) => {
    expect(normalisePhoneNumber(raw, 'US')).toEqual({ kind: 'withheld', raw });
  });

  test.each([
    ['letters', 'abc'],
    ['40 digits', '1'.repeat(40)],
    ['unicode', '☎️📞 hello'],
    ['digits with letters', '+1833ABC7911'],
    ['two digits', '12'],
    ['very long text', 'x'.repeat(5000)],
    ['SQL-ish', "1'; DROP TABLE--"],
  ])('garbage caller ID gives a reason, never an exception: %s', (_name, raw) => {
    const n = normalisePhoneNumber(raw, 'US');
    expect(n.kind).toBe('unparseable');
    expect(n.kind === 'unparseable' && n.reason.length).toBeGreaterThan(0);
  });

  test('a number outside the numbering plan is still E.164 but marked invalid', () => {
    expect(normalisePhoneNumber('+15551234567', 'US')).toMatchObject({
      kind: 'e164',
      e164: '+15551234567',
      valid: false,
    });
  });

  test('the number type is reported (toll free)', () => {
    expect(normalisePhoneNumber('+18336317911', 'US')).toMatchObject({ valid: true, country: 'US', type: 'TOLL_FREE' });
  });
});

describe('guessE164: the cheap guess that starts the Redis lookup early', () => {
  test.each([
    ['an international number', '+1 (212) 555-0147', 'US', '+12125550147'],
    ['a 10-digit NANP number', '(212) 555-0147', 'US', '+12125550147'],
    ['an 11-digit NANP number', '1 212 555 0147', 'CA', '+12125550147'],
    ['a national trunk 0 written after the country code: no guess', '+44 020 7946 0000', 'GB', undefined],
    ['a national number outside NANP: no guess', '030 1234567', 'DE', undefined],
    ['withheld: no guess', 'anonymous', 'US', undefined],
  ] as const)('%s', (_name, raw, region, guess) => {
    expect(guessE164(raw, region)).toBe(guess);
  });

  test('10,000 random caller IDs: a guess is almost always what normalisation gives (a wrong one only costs a second lookup)', () => {
    // international numbers with spaces, and NANP numbers written nationally
    const callerIds = fc.oneof(
      fc.stringMatching(/^\+[1-9][0-9 ]{6,16}$/),
      fc.stringMatching(/^\(?[2-9][0-9]{2}\)? ?[0-9]{3}-?[0-9]{4}$/),
    );
    let guessed = 0;
    let wrong = 0;
    fc.assert(
      fc.property(callerIds, fc.constantFrom('US', 'DE', 'GB', 'CH', 'CA', 'IT', 'RU'), (raw, region) => {
        const guess = guessE164(raw, region);
        if (guess === undefined) return true;
        guessed++;
        const n = normalisePhoneNumber(raw, region);
        if (n.kind === 'e164' && n.possible && n.e164 !== guess) wrong++;
        return /^\+[1-9][0-9]{6,14}$/.test(guess);
      }),
      { seed: 12_008, numRuns: 10_000 },
    );
    expect(guessed).toBeGreaterThan(1000);
    expect(wrong / guessed).toBeLessThan(0.01);
  });
});

describe('validity', () => {
  test('10,000 random numbers: valid is what libphonenumber isValid() says (it is computed from the type)', () => {
    const numbers = fc.stringMatching(/^\+[1-9][0-9]{6,14}$/);
    fc.assert(
      fc.property(numbers, (raw) => {
        const n = normalisePhoneNumber(raw, 'US');
        if (n.kind !== 'e164') return true;
        const parsed = parsePhoneNumberFromString(n.e164);
        return !parsed || n.valid === parsed.isValid();
      }),
      { seed: 12_008, numRuns: 10_000 },
    );
  });
});
