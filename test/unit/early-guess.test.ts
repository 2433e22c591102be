/**
 * The early E.164 guess (guessE164) lets the Redis round trip start before libphonenumber's full parse.
 * A guess that differs from the parse would read, and count the call under, a number that did not call:
 * so the guess is either absent or exactly the parse's result, for every numbering plan libphonenumber has.
 */
import { getCountryCallingCode, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/examples.mobile.json';
import { guessE164, normalisePhoneNumber } from '../../src/domain/phone-number';

const REGIONS: CountryCode[] = ['US', 'DE', 'CH', 'SM', 'AR', 'GB'];

const notations = (region: CountryCode, national: string): string[] => {
  const cc = getCountryCallingCode(region);
  return [`+${cc}${national}`, `+${cc} ${national.slice(0, 3)} ${national.slice(3)}`, `00${cc}${national}`];
};

describe('the early E.164 guess', () => {
  test.each(Object.entries(examples as Record<string, string>))(
    'never contradicts the full parse for an example number of %s',
    (region, national) => {
      for (const raw of notations(region as CountryCode, national)) {
        for (const defaultRegion of REGIONS) {
          const guess = guessE164(raw, defaultRegion);
          if (guess === undefined) continue;
          const parsed = normalisePhoneNumber(raw, defaultRegion);
          expect({ raw, defaultRegion, guess }).toEqual({
            raw,
            defaultRegion,
            guess: parsed.kind === 'e164' ? parsed.e164 : undefined,
          });
        }
      }
    },
  );

  test('makes no guess where the plan rewrites the national number (San Marino)', () => {
    expect(normalisePhoneNumber('+378921269', 'US')).toMatchObject({ e164: '+3780549921269' });
    expect(guessE164('+378921269', 'US')).toBeUndefined();
  });

  test('still guesses the common cases', () => {
    expect(guessE164('+12015550123', 'DE')).toBe('+12015550123');
    expect(guessE164('(201) 555-0123', 'US')).toBe('+12015550123');
    expect(guessE164('+41446681800', 'US')).toBe('+41446681800');
  });
});
