import {
  buildRuleSet,
  compileRule,
  countRules,
  describeRule,
  expiredRules,
  parseExpiry,
  type Rule,
  type RuleDefinition,
  type RuleMatchContext,
} from '../../src/domain/rule-set';
import { compileGuardedRegex } from '../../src/domain/regex-guard';

const at = (line: number) => ({ file: 'rules.yaml', line, column: 5 });
type Extras = Partial<Pick<RuleDefinition, 'label' | 'expires' | 'dids'>>;
type What = { number: string } | { range: { from: string; to: string } } | { regex: string };

/** Compile a rule that must compile (region US unless told). */
const rule = (
  list: 'allow' | 'deny',
  what: string | What,
  line = 1,
  extras: Extras = {},
  region: 'US' | 'DE' = 'US',
): Rule => {
  const def = {
    list,
    ...(typeof what === 'string' ? { number: what } : what),
    ...extras,
    source: at(line),
  } as RuleDefinition;
  const r = compileRule(def, region);
  if ('reason' in r) throw new Error(r.reason);
  return r;
};

const NOW = new Date('2026-06-15T12:00:00Z');
const call = (did = '+12125550100', now = NOW): RuleMatchContext => ({
  did: { raw: did, ...(did.startsWith('+') ? { e164: did } : {}) },
  now,
});

describe('compileRule: exact numbers are normalised to E.164', () => {
  test.each([
    ['international, DE', '+49 30 1234567', 'DE', '+49301234567'],
    ['national, takes the default region', '030 1234567', 'DE', '+49301234567'],
    ['00 international prefix', '0049 30 1234567', 'DE', '+49301234567'],
    ['00 international prefix in a US call centre', '0049 30 1234567', 'US', '+49301234567'],
    ['US notation', '+1 (833) 631-7911', 'US', '+18336317911'],
    ['US national notation', '(212) 555-0147', 'US', '+12125550147'],
    ['US national with the trunk 1', '1-212-555-0147', 'US', '+12125550147'],
    ['dots as separators', '+41.44.668.18.00', 'DE', '+41446681800'],
  ] as const)('%s: %s', (_name, number, region, e164) => {
    expect(compileRule({ list: 'deny', number, source: at(3) }, region)).toMatchObject({
      match: { kind: 'exact', e164 },
      written: number,
    });
  });
});

describe('compileRule: wildcards', () => {
  test.each([
    ['international prefix', '+49301234*', 'DE', '+49301234*', 6],
    ['00 prefix', '0049 301*', 'DE', '+49301*', 3],
    ['national prefix drops the trunk 0', '030 12*', 'DE', '+493012*', 4],
    ['national prefix drops the NANP trunk 1', '1 212 555*', 'US', '+1212555*', 6],
    ['? for one digit, separators ignored', '+1 212 555 01??', 'US', '+121255501??', 8],
    ['X and x for one digit', '+1 (212) 555-01Xx', 'US', '+121255501??', 8],
    ['national with X', '(212) 555-01XX', 'US', '+121255501??', 8],
    ['? and * combined', '+1 900 ??? *', 'US', '+1900???*', 3],
    ['the US premium-rate prefix', '+1 900*', 'US', '+1900*', 3],
  ] as const)('%s: %s', (_name, number, region, pattern, fixedDigits) => {
    expect(compileRule({ list: 'deny', number, source: at(3) }, region)).toMatchObject({
      match: { kind: 'wildcard', pattern, fixedDigits },
      written: number,
    });
  });

  test.each([
    ['+1 212 555 01??', '+12125550100', true],
    ['+1 212 555 01??', '+12125550199', true],
    ['+1 212 555 01??', '+12125550200', false],
    ['+1 212 555 01??', '+121255501000', false], // exactly one digit per ?, no more
    ['+1 212 555 01??', '+1212555010', false],
    ['+1 9?0 555 0100', '+19105550100', true],
    ['+1 9?0 555 0100', '+19115550100', false],
    ['+1 900*', '+19005551234', true],
    ['+1 900*', '+1900', true],
    ['+1 900*', '+1901555123', false],
    ['+1 900 ??? *', '+19005551234', true],
    ['+1 900 ??? *', '+190055', false],
  ])('%s against %s: %s', (pattern, caller, matches) => {
    const set = buildRuleSet([rule('deny', pattern)]);
    expect(set.match(caller, call()) !== undefined).toBe(matches);
  });
});

describe('compileRule: ranges', () => {
  test.each([
    [
      'object form',
      { range: { from: '+1 212 555 0100', to: '+1 (212) 555-0199' } },
      '+1 212 555 0100 .. +1 (212) 555-0199',
    ],
    [
      'string shorthand in number',
      { number: '+1 212 555 0100 .. +1 212 555 0199' },
      '+1 212 555 0100 .. +1 212 555 0199',
    ],
    ['national ends', { range: { from: '212 555 0100', to: '212 555 0199' } }, '212 555 0100 .. 212 555 0199'],
  ])('%s', (_name, what, written) => {
    expect(rule('deny', what as What)).toMatchObject({
      match: { kind: 'range', from: '+12125550100', to: '+12125550199' },
      written,
    });
  });

  test.each([
    ['+12125550100', true], // the first number
    ['+12125550150', true],
    ['+12125550199', true], // the last number
    ['+12125550099', false], // one below
    ['+12125550200', false], // one above
    ['+121255501000', false], // longer, even though it sorts between the ends as a string
    ['+1212555010', false],
  ])('inclusive at both ends, nothing outside: %s -> %s', (caller, matches) => {
    const set = buildRuleSet([rule('deny', { range: { from: '+1 212 555 0100', to: '+1 212 555 0199' } })]);
    expect(set.match(caller, call()) !== undefined).toBe(matches);
  });

  test.each([
    ['backwards', '+1 212 555 0199', '+1 212 555 0100', /runs backwards/, ['range']],
    ['different lengths', '+49 30 1234567', '+49 30 12345678', /different lengths/, ['range']],
    ['whole countries', '+1 200 000 0000', '+1 999 999 9999', /whole countries/, ['range']],
    ['a start that is not a number', 'front desk', '+1 212 555 0199', /range start/, ['range', 'from']],
    ['an end that is not a number', '+1 212 555 0100', '+1 212 555 01', /range end/, ['range', 'to']],
  ])('a bad range says why: %s', (_name, from, to, reason, field) => {
    expect(compileRule({ list: 'deny', range: { from, to }, source: at(9) }, 'US')).toMatchObject({
      source: at(9),
      reason: expect.stringMatching(reason),
      field,
    });
  });
});

describe('compileRule: regular expressions', () => {
  test('a regex is tested against the caller in E.164', () => {
    const set = buildRuleSet([rule('deny', { regex: '^\\+1900\\d{7}$' })]);
    expect(set.match('+19005551234', call())?.match.kind).toBe('regex');
    expect(set.match('+19005551234', call())?.written).toBe('^\\+1900\\d{7}$');
    expect(set.match('+190055512345', call())).toBeUndefined();
    expect(set.match('+12125550147', call())).toBeUndefined();
  });

  test('an alternation of area codes is fine', () => {
    const set = buildRuleSet([rule('deny', { regex: '^\\+1(268|473|876)\\d{7}$' })]);
    expect(set.match('+18765550100', call())).toBeDefined();
    expect(set.match('+18775550100', call())).toBeUndefined();
  });

  test.each([
    ['nested quantifier', '(\\d+)+', /repeats a group that itself repeats/],
    ['quantified alternation', '(a|aa)*', /repeats a group that itself repeats or has alternatives/],
    ['nested quantifier, deeper', '^\\+((\\d{2})x)+$', /repeats a group/],
    ['numbered backreference', '^\\+(\\d)\\1', /backreference/],
    ['named backreference', '^\\+(?<d>\\d)\\k<d>', /backreference/],
    ['lookahead', '^(?=\\+1)\\+\\d+$', /lookahead or lookbehind/],
    ['negative lookahead', '^\\+(?!1)\\d+$', /lookahead or lookbehind/],
    ['lookbehind', '(?<=\\+1)900', /lookahead or lookbehind/],
    ['too long', `^\\+1${'\\d'.repeat(130)}$`, /at most 256/],
    ['invalid syntax', '^\\+1(900', /does not compile/],
    ['invalid quantifier', '^+*', /does not compile/],
    ['many repetitions in a row', '\\d*\\d*\\d*\\d*x', /too many optional or repeated parts/],
  ])('unsafe or broken regexes are refused with the reason: %s', (_name, regex, reason) => {
    expect(compileRule({ list: 'deny', regex, source: at(12) }, 'US')).toMatchObject({
      source: at(12),
      reason: expect.stringMatching(reason),
      field: ['regex'],
    });
  });

  test.each([['[(]+'], ['(?:00)?'], ['a{2,3}'], ['[]+'], ['^\\+1\\d{3}555\\d{4}$'], ['(?<area>212)555']])(
    'harmless constructs pass: %s',
    (regex) => {
      expect(compileGuardedRegex(regex)).toHaveProperty('regex');
    },
  );

  test('a regex runs without flags: no g state between calls, no u', () => {
    const r = compileGuardedRegex('^\\+1900');
    expect('regex' in r && r.regex.flags).toBe('');
  });
});

describe('compileRule: problems are located and explained', () => {
  test.each([
    ['not a number', 'hello', /not a phone number|characters other than digits|must be digits/],
    ['pattern with letters', '+49ab*', /must be digits/],
    ['prefix too short', '+4*', /too short/],
    ['whole country', '+49 30*', /whole countries/],
    ['wildcard in the country code', '+4? 301234*', /country code/],
    ['no such country code', '+999 123 4567*', /country calling code/],
    ['* in the middle', '+1 900 * 123', /optional \* at the end/],
    ['anonymous', 'anonymous', /not a phone number/],
    ['impossible length', '+1 212 555 01', /length no number/],
  ])('%s', (_name, number, reason) => {
    const r = compileRule({ list: 'allow', number, source: at(7) }, 'DE');
    expect(r).toMatchObject({ source: at(7), reason: expect.stringMatching(reason) });
  });
});

describe('expiry', () => {
  test.each([
    ['a date means 00:00 UTC that day', '2026-12-31', '2026-12-31T00:00:00.000Z'],
    ['a UTC time', '2026-12-31T18:00:00Z', '2026-12-31T18:00:00.000Z'],
    ['an offset', '2026-12-31T18:00:00-05:00', '2026-12-31T23:00:00.000Z'],
    ['YAML timestamp spacing', '2026-12-31 18:00:00 +01:00', '2026-12-31T17:00:00.000Z'],
    ['fractions', '2026-12-31T18:00:00.5Z', '2026-12-31T18:00:00.500Z'],
  ])('%s', (_name, text, iso) => {
    expect(parseExpiry(text)).toEqual({ iso });
  });

  test('a Date is taken as the instant it is', () => {
    expect(parseExpiry(new Date('2026-12-31T18:00:00Z'))).toEqual({ iso: '2026-12-31T18:00:00.000Z' });
  });

  test.each([['tomorrow'], ['2026-02-30'], ['2026-12-31T25:00:00Z'], ['2026-12-31T18:00:00'], ['31.12.2026']])(
    '%s is refused',
    (text) => {
      expect(compileRule({ list: 'deny', number: '+1 900*', expires: text, source: at(4) }, 'US')).toMatchObject({
        reason: expect.stringMatching(/expires/),
        field: ['expires'],
      });
    },
  );

  test('an expiring rule matches before its expiry and not from it on', () => {
    const set = buildRuleSet([rule('deny', '+1 201 555 0123', 1, { expires: '2026-07-01T00:00:00Z' })]);
    expect(set.match('+12015550123', call(undefined, new Date('2026-06-30T23:59:59.999Z')))).toBeDefined();
    expect(set.match('+12015550123', call(undefined, new Date('2026-07-01T00:00:00Z')))).toBeUndefined();
    expect(set.match('+12015550123', call(undefined, new Date('2027-01-01T00:00:00Z')))).toBeUndefined();
  });

  test('an expired rule lets the next one decide', () => {
    const set = buildRuleSet([
      rule('allow', '+1 900 555 0100', 1, { expires: '2026-01-01' }),
      rule('deny', '+1 900*', 2),
    ]);
    expect(set.match('+19005550100', call())?.source.line).toBe(2);
  });

  test('expiredRules lists what no longer matches', () => {
    const set = buildRuleSet([
      rule('deny', '+1 201 555 0123', 1, { expires: '2026-01-01' }),
      rule('deny', '+1 900*', 2, { expires: '2027-01-01' }),
      rule('deny', '+1 976*', 3),
    ]);
    expect(expiredRules(set, NOW).map((r) => r.source.line)).toEqual([1]);
  });
});

describe('DID scope', () => {
  const hotline = '+12125550100';
  const sales = '+12125550200';
  const set = buildRuleSet([
    rule('allow', '+1 347 555 0111', 1, { dids: ['+1 (212) 555-0100'] }),
    rule('deny', '+1 347 555 01??', 2, { dids: ['212 555 0200', 's'] }),
  ]);

  test('DIDs are normalised like numbers; extensions are kept as written', () => {
    expect(set.rules.map((r) => r.dids)).toEqual([[hotline], [sales, 's']]);
  });

  test('a scoped rule matches only on its DIDs', () => {
    expect(set.match('+13475550111', call(hotline))?.list).toBe('allow');
    expect(set.match('+13475550111', call(sales))?.list).toBe('deny');
    expect(set.match('+13475550111', call('+12125550300'))).toBeUndefined();
  });

  test('an extension DID such as "s" is compared with the raw DID', () => {
    expect(set.match('+13475550122', { did: { raw: 's' }, now: NOW })?.source.line).toBe(2);
    expect(set.match('+13475550122', { did: { raw: '100' }, now: NOW })).toBeUndefined();
  });

  test('a rule without dids applies to every DID', () => {
    const open = buildRuleSet([rule('deny', '+1 900*')]);
    expect(open.match('+19005550100', { did: { raw: 's' }, now: NOW })).toBeDefined();
    expect(open.match('+19005550100', call(sales))).toBeDefined();
  });

  test.each([
    ['+1 212 555 01', /length no number/],
    ['  ', /empty/],
    ['(212) 5550', /./],
  ])('a DID that is neither a number nor an extension is refused: %j', (did, reason) => {
    expect(compileRule({ list: 'deny', number: '+1 900*', dids: [did], source: at(5) }, 'US')).toMatchObject({
      reason: expect.stringMatching(reason),
      field: ['dids', 0],
    });
  });

  test('an empty dids list is refused rather than read as "every DID"', () => {
    expect(compileRule({ list: 'deny', number: '+1 900*', dids: [], source: at(5) }, 'US')).toMatchObject({
      field: ['dids'],
    });
  });
});

describe('precedence', () => {
  test.each([
    ['exact', '+1 212 555 0147'],
    ['range', '+1 212 555 0100 .. +1 212 555 0199'],
    ['wildcard', '+1 212 555 01??'],
    ['regex', { regex: '^\\+1212' }],
  ] as const)('allow beats deny whatever the kinds: a %s allow over every kind of deny', (_kind, allow) => {
    const denies = [
      rule('deny', '+1 212 555 0147', 1),
      rule('deny', '+1 212 555 0100 .. +1 212 555 0199', 2),
      rule('deny', '+1 212*', 3),
      rule('deny', { regex: '^\\+1212555' }, 4),
    ];
    const set = buildRuleSet([...denies, rule('allow', allow, 9)]);
    expect(set.match('+12125550147', call())).toMatchObject({ list: 'allow', source: { line: 9 } });
  });

  test('within a list: exact, then range, then wildcard, then regex, whatever the file order', () => {
    const kinds = [
      rule('deny', { regex: '^\\+1212' }, 1),
      rule('deny', '+1 212 555*', 2),
      rule('deny', '+1 212 555 0100 .. +1 212 555 0199', 3),
      rule('deny', '+1 212 555 0147', 4),
    ];
    for (let n = kinds.length; n > 0; n--) {
      const expected = kinds[n - 1]?.match.kind;
      expect(buildRuleSet(kinds.slice(0, n)).match('+12125550147', call())?.match.kind).toBe(expected);
    }
  });

  test('the narrowest range wins', () => {
    const set = buildRuleSet([
      rule('deny', '+1 212 555 0000 .. +1 212 555 9999', 1),
      rule('deny', '+1 212 555 0100 .. +1 212 555 0199', 2),
      rule('deny', '+1 212 555 0000 .. +1 212 555 0999', 3),
    ]);
    expect(set.match('+12125550147', call())?.source.line).toBe(2);
  });

  test('the wildcard with most digits written out wins; a longer prefix beats a shorter one', () => {
    const set = buildRuleSet([
      rule('deny', '+49301*', 1, {}, 'DE'),
      rule('deny', '+49301234*', 2, {}, 'DE'),
      rule('deny', '+49 30 123 45??', 3, {}, 'DE'),
    ]);
    expect(set.match('+49301234567', call())?.source.line).toBe(3);
    expect(set.match('+49301234000', call())?.source.line).toBe(2);
    expect(set.match('+49301000000', call())?.source.line).toBe(1);
  });

  test('regexes go in file order', () => {
    const set = buildRuleSet([
      rule('deny', { regex: '^\\+1212' }, 1, { label: 'first' }),
      rule('deny', { regex: '^\\+1212555' }, 2),
    ]);
    expect(set.match('+12125550147', call())?.label).toBe('first');
  });

  test('between equal exact rules the first written wins', () => {
    const set = buildRuleSet([
      rule('deny', '+1 201 555 0123', 1, { label: 'a' }),
      rule('deny', '(201) 555-0123', 2, { label: 'b' }),
    ]);
    expect(set.match('+12015550123', call())?.label).toBe('a');
  });

  test('a scoped exact rule for another DID does not hide an unscoped one', () => {
    const set = buildRuleSet([
      rule('deny', '+1 201 555 0123', 1, { dids: ['+1 212 555 0200'] }),
      rule('deny', '+1 201 555 0123', 2),
    ]);
    expect(set.match('+12015550123', call('+12125550100'))?.source.line).toBe(2);
  });
});

describe('RuleSet.match', () => {
  const set = buildRuleSet([
    rule('deny', '+49301*', 1, { label: 'Berlin block' }, 'DE'),
    rule('allow', '+49 30 1234567', 3, { label: 'customer' }, 'DE'),
    rule('deny', '+49 89 999999', 4, {}, 'DE'),
  ]);

  test('an exact deny matches', () => {
    expect(set.match('+4989999999', call())?.source.line).toBe(4);
  });
  test('no rule, no match', () => {
    expect(set.match('+4940123456', call())).toBeUndefined();
  });
  test.each([[''], ['4930123'], ['+49 30 1234567'], ['+0301234567'], [`+${'1'.repeat(16)}`]])(
    'a caller that is not E.164 matches nothing: %j',
    (caller) => {
      expect(buildRuleSet([rule('deny', { regex: '.*' })]).match(caller, call())).toBeUndefined();
    },
  );
  test('thousands of rules: exact ones are looked up, the rest scanned', () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      rule('deny', `+1 212 555 ${String(i).padStart(4, '0')}`, i + 1),
    );
    const wild = Array.from({ length: 2000 }, (_, i) =>
      rule('deny', `+1 ${String(300 + (i % 600)).padStart(3, '0')} ${String(i).padStart(4, '0')}*`, 6000 + i),
    );
    const big = buildRuleSet([...many, ...wild]);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) big.match('+13125550111', call());
    expect(big.match('+12125554999', call())?.source.line).toBe(5000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('reporting', () => {
  test('describeRule gives one line for logs', () => {
    expect(describeRule(rule('deny', '+1 900*', 14, { label: 'US premium-rate numbers' }))).toBe(
      'deny +1 900* (US premium-rate numbers) at rules.yaml:14',
    );
    expect(describeRule(rule('deny', { regex: '^\\+1900' }, 3))).toBe('deny regex ^\\+1900 at rules.yaml:3');
    expect(
      describeRule(rule('allow', '+1 212 555 0147', 2, { dids: ['+1 212 555 0100'], expires: '2027-01-01' })),
    ).toBe('allow +1 212 555 0147 for calls to +12125550100 until 2027-01-01T00:00:00.000Z at rules.yaml:2');
  });

  test('a rule exposes what an explanation needs', () => {
    expect(rule('deny', '+1 347 555 01??', 8, { label: 'x', expires: '2027-01-01', dids: ['s'] })).toEqual({
      list: 'deny',
      written: '+1 347 555 01??',
      match: { kind: 'wildcard', pattern: '+134755501??', fixedDigits: 8 },
      label: 'x',
      source: at(8),
      expires: '2027-01-01T00:00:00.000Z',
      dids: ['s'],
    });
  });

  test('countRules counts by list and kind', () => {
    const counts = countRules([
      rule('allow', '+1 212 555 0147'),
      rule('deny', '+1 900*'),
      rule('deny', { regex: '^\\+1976' }),
    ]);
    expect(counts).toEqual({
      allow: { exact: 1, range: 0, wildcard: 0, regex: 0, name: 0, 'name-wildcard': 0, 'name-regex': 0 },
      deny: { exact: 0, range: 0, wildcard: 1, regex: 1, name: 0, 'name-wildcard': 0, 'name-regex': 0 },
    });
  });

  test('compiled rules are frozen', () => {
    const r = rule('deny', '+1 900*');
    expect(Object.isFrozen(r) && Object.isFrozen(r.match) && Object.isFrozen(r.source)).toBe(true);
  });
});
