import fc from 'fast-check';
import { getCountries, getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { createFeedNumberNormaliser } from '../../src/reputation/feeds/feed-numbers';

const CALLING_CODES = [...new Set(getCountries().map((c) => getCountryCallingCode(c)))];

/** what the slow path (libphonenumber) makes of a number: its E.164 form when possible, else undefined */
function reference(raw: string, region: CountryCode): string | undefined {
  const n = normalisePhoneNumber(raw, region);
  return n.kind === 'e164' && n.possible ? n.e164 : undefined;
}

describe('feed number fast path', () => {
  test.each<CountryCode>(['US', 'CH', 'DE', 'GB', 'FR', 'AR'])(
    'agrees with normalisePhoneNumber on random numbers (region %s)',
    (region) => {
      const normalise = createFeedNumberNormaliser(region);
      const digits = (min: number, max: number) =>
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
      const raw = fc.oneof(
        fc.tuple(fc.constantFrom(...CALLING_CODES), digits(4, 13)).map(([cc, d]) => `+${cc}${d}`),
        digits(6, 14).map((d) => `0${d}`),
        fc.tuple(fc.constantFrom(...CALLING_CODES), digits(4, 13)).map(([cc, d]) => `00${cc}${d}`),
        digits(7, 12),
      );
      fc.assert(
        fc.property(raw, (r) => {
          const result = normalise(r);
          expect('e164' in result ? result.e164 : undefined).toBe(reference(r, region));
        }),
        { seed: 12_009, numRuns: 1000 },
      );
    },
  );

  test('answers E.164 and national NANP numbers without libphonenumber, and leaves the rest to it', () => {
    const us = createFeedNumberNormaliser('US');
    expect(us('+12025550143')).toEqual({ e164: '+12025550143' });
    expect(us('2025550143')).toEqual({ e164: '+12025550143' });
    expect(us('12025550143')).toEqual({ e164: '+12025550143' });
    expect(us('(202) 555-0143')).toEqual({ e164: '+12025550143' });
    expect(us('+1833')).toEqual({ problem: expect.stringContaining('+1833') });
    expect(us('')).toEqual({ problem: 'no number' });
  });
});
