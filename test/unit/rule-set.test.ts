import { buildRuleSet, compileRule, type Rule, type RuleDefinition } from '../../src/domain/rule-set';

const at = (line: number) => ({ file: 'rules.yaml', line, column: 5 });
const rule = (list: 'allow' | 'deny', number: string, line = 1, label?: string): Rule => {
  const def: RuleDefinition = { list, number, source: at(line), ...(label ? { label } : {}) };
  const r = compileRule(def, 'DE');
  if ('reason' in r) throw new Error(r.reason);
  return r;
};

describe('compileRule', () => {
  test.each([
    ['international exact number', '+49 30 1234567', { kind: 'exact', e164: '+49301234567' }],
    ['national exact number', '030 1234567', { kind: 'exact', e164: '+49301234567' }],
    ['US notation', '+1 (833) 631-7911', { kind: 'exact', e164: '+18336317911' }],
    ['international prefix', '+49301234*', { kind: 'prefix', prefix: '+49301234' }],
    ['00 prefix', '0049 30*', { kind: 'prefix', prefix: '+4930' }],
    ['national prefix takes the default region', '030 12*', { kind: 'prefix', prefix: '+493012' }],
  ])('%s', (_name, number, match) => {
    expect(compileRule({ list: 'deny', number, source: at(3) }, 'DE')).toMatchObject({ match, written: number.trim() });
  });

  test.each([
    ['not a number', 'hello', /not a phone number|characters other than digits/],
    ['prefix with letters', '+49ab*', /must be digits/],
    ['prefix too short', '+4*', /too short/],
    ['anonymous', 'anonymous', /not a phone number/],
  ])('a rule that does not parse says why: %s', (_name, number, reason) => {
    const r = compileRule({ list: 'allow', number, source: at(7) }, 'DE');
    expect(r).toMatchObject({ source: at(7), reason: expect.stringMatching(reason) });
  });
});

describe('RuleSet.match', () => {
  const set = buildRuleSet([
    rule('deny', '+4930*', 1, 'Berlin block'),
    rule('deny', '+49301234*', 2),
    rule('allow', '+49 30 1234567', 3, 'customer'),
    rule('deny', '+49 89 999999', 4),
  ]);

  test('allow beats a deny prefix that also matches', () => {
    expect(set.match('+49301234567')).toMatchObject({ list: 'allow', label: 'customer' });
  });
  test('the longer deny prefix wins over the shorter one', () => {
    expect(set.match('+49301234000')?.source.line).toBe(2);
  });
  test('an exact deny matches', () => {
    expect(set.match('+4989999999')?.source.line).toBe(4);
  });
  test('no rule, no match', () => {
    expect(set.match('+4940123456')).toBeUndefined();
  });
});
