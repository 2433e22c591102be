import fc from 'fast-check';
import { decodeFeedbackEntry, encodeFeedbackEntry, type FeedbackEntry } from '../../src/domain/reputation-entry';
import { resolveCredentials } from '../../src/http-api/http-auth';
import { numberForFeedback } from '../../src/reputation/managed-allow-list';

const minute = fc.integer({ min: 0, max: 60_000_000 }).map((m) => m * 60_000);
const entryArb: fc.Arbitrary<FeedbackEntry> = fc.record({
  spam: fc.nat({ max: 1_000_000 }),
  ok: fc.nat({ max: 1_000_000 }),
  last: fc.constantFrom('spam' as const, 'ok' as const),
  firstAt: minute,
  lastAt: minute,
});

describe('feedback entry codec', () => {
  test('encode then decode gives the entry back (times at minute precision)', () => {
    fc.assert(
      fc.property(entryArb, (e) => expect(decodeFeedbackEntry(encodeFeedbackEntry(e))).toEqual(e)),
      { seed: 12_010, numRuns: 100 },
    );
  });

  test('times are cut to the minute', () => {
    const e = decodeFeedbackEntry(
      encodeFeedbackEntry({ spam: 1, ok: 2, last: 'ok', firstAt: 90_000, lastAt: 179_999 }),
    );
    expect(e).toEqual({ spam: 1, ok: 2, last: 'ok', firstAt: 60_000, lastAt: 120_000 });
  });

  test.each(['', '1:2:o:3', '1:2:x:3:4', 'a:2:o:3:4', '-1:2:s:3:4', '1:2:o:3:4:5', '1.5:2:o:3:4'])(
    '%j is not an entry',
    (v) => {
      expect(decodeFeedbackEntry(v)).toBeNull();
    },
  );
});

describe('numbers agents report', () => {
  test('written any way people write them, to E.164', () => {
    expect(numberForFeedback('(212) 555-0147', 'US')).toEqual({ e164: '+12125550147' });
    expect(numberForFeedback('+41 44 668 18 00', 'US')).toEqual({ e164: '+41446681800' });
  });
  test.each([
    ['call me', /contains characters other than digits/],
    ['anonymous', /not a phone number/],
    ['+1 212 555', /has a length no number in its country has/],
  ])('%j is refused with the reason', (raw, reason) => {
    const r = numberForFeedback(raw, 'US');
    expect('reason' in r && r.reason).toMatch(reason);
  });
});

describe('HTTP credentials', () => {
  const TOKEN = 'tok-0123456789abcdef';
  const auth = (a: Partial<Parameters<typeof resolveCredentials>[0]>, env: NodeJS.ProcessEnv = {}) =>
    resolveCredentials({ tokens: [], ...a }, env);

  test('a bearer token from the environment, several separated by commas', () => {
    const { credentials } = auth({ tokenEnv: 'CS_TOKENS' }, { CS_TOKENS: `${TOKEN}, other-token-0123456789` });
    expect(credentials.authenticate(`Bearer ${TOKEN}`)).toEqual({ scheme: 'bearer', name: 'token #1' });
    expect(credentials.authenticate('bearer other-token-0123456789')).toEqual({ scheme: 'bearer', name: 'token #2' });
    expect(credentials.authenticate(`Bearer ${TOKEN}x`)).toBeUndefined();
    expect(credentials.authenticate(`Bearer ${TOKEN.slice(0, -1)}`)).toBeUndefined();
    expect(credentials.authenticate(TOKEN)).toBeUndefined();
    expect(credentials.authenticate(undefined)).toBeUndefined();
    expect(credentials.challenges).toEqual(['Bearer realm="callscreen"']);
  });

  test('Basic: user and password from the environment; the wrong password fails', () => {
    const { credentials } = auth({ basic: { user: 'alice', passwordEnv: 'PW' } }, { PW: 's3cret' });
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect(credentials.authenticate(basic('alice', 's3cret'))).toEqual({ scheme: 'basic', name: 'alice' });
    expect(credentials.authenticate(basic('alice', 'wrong'))).toBeUndefined();
    expect(credentials.authenticate(basic('bob', 's3cret'))).toBeUndefined();
    expect(credentials.challenges).toContain('Basic realm="callscreen", charset="UTF-8"');
  });

  test('no usable credentials: refused, naming the variable and never a secret', () => {
    expect(() => auth({ tokenEnv: 'CS_TOKENS' }, {})).toThrow(/CS_TOKENS, which is not set or empty/);
    const short = auth({ tokenEnv: 'T', tokens: [TOKEN] }, { T: 'short-secret' });
    expect(short.warnings).toEqual(['token 1 in T is shorter than 16 characters; ignored']);
    expect(short.warnings.join(' ')).not.toContain('short-secret');
  });
});
