import {
  blacklistKeys,
  blacklistValue,
  CALLSCREEN_VALUE_PREFIX,
  desiredBlacklist,
  diffBlacklist,
  planBlacklist,
  type BlacklistPlanInput,
} from '../../src/blacklist/blacklist-plan';
import { effectiveReputationScore, type ReputationCandidate } from '../../src/domain/reputation';
import { compileRulesText } from '../../src/config/rules-file';
import type { Rule } from '../../src/domain/rule-set';

const NOW = new Date('2026-06-15T12:00:00Z');
const DAY = 86_400_000;

const rules = (yaml: string, region: 'US' | 'DE' = 'US'): readonly Rule[] =>
  compileRulesText(yaml, 'rules.yaml', region).rules;

const input = (over: Partial<BlacklistPlanInput> = {}): BlacklistPlanInput => ({
  rules: [],
  reputation: [],
  current: new Map(),
  defaultRegion: 'US',
  maxEntries: 1000,
  minReputationScore: 0.9,
  halfLifeDays: 30,
  now: NOW,
  ...over,
});

const rep = (e164: string, score: number, extra: Partial<ReputationCandidate> = {}): ReputationCandidate => ({
  e164,
  score,
  reports: 1,
  ...extra,
});

describe('blacklistKeys: the forms a trunk may present', () => {
  test.each([
    ['US number, region US: E.164 and 10 digits', '+12015550123', 'US', ['+12015550123', '2015550123']],
    [
      'Canadian number, region US (same calling code): national form too',
      '+14165550123',
      'US',
      ['+14165550123', '4165550123'],
    ],
    [
      'German number, region DE: national form with the trunk prefix 0',
      '+49301234567',
      'DE',
      ['+49301234567', '0301234567'],
    ],
    ['German number, region US: E.164 only', '+49301234567', 'US', ['+49301234567']],
    ['US number, region DE: E.164 only', '+12015550123', 'DE', ['+12015550123']],
  ] as const)('%s', (_name, e164, region, keys) => {
    expect(blacklistKeys(e164, region)).toEqual(keys);
  });
});

describe('blacklistValue', () => {
  test('carries the ownership prefix, without control characters, cut to 80 characters', () => {
    expect(blacklistValue('deny Bad\r\nactor')).toBe(`${CALLSCREEN_VALUE_PREFIX} deny Bad actor`);
    const long = blacklistValue(`deny ${'x'.repeat(200)}`);
    expect(long).toHaveLength(80);
    expect(long.startsWith(CALLSCREEN_VALUE_PREFIX)).toBe(true);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('effectiveReputationScore', () => {
  test('halves every halfLifeDays since the last report; no date or no half-life: the score as listed', () => {
    expect(
      effectiveReputationScore({ score: 0.96, lastSeenAt: NOW.getTime() - 30 * DAY }, NOW.getTime(), 30),
    ).toBeCloseTo(0.48);
    expect(effectiveReputationScore({ score: 0.96 }, NOW.getTime(), 30)).toBe(0.96);
    expect(effectiveReputationScore({ score: 0.96, lastSeenAt: 0 }, NOW.getTime(), undefined)).toBe(0.96);
    expect(effectiveReputationScore({ score: 7 }, NOW.getTime(), 30)).toBe(1);
  });
});

describe('desiredBlacklist: which deny rules can be copied', () => {
  const yaml = `
deny:
  - number: "+1 201 555 0101"
    label: Known scammer
  - "+1 900*"
  - "+1 (718) 555-02XX"
  - range: "+1 347 555 0100 .. +1 347 555 0149"
  - regex: '^\\+1(268|473)\\d{7}$'
  - number: "+1 201 555 0102"
    dids: ["+1 212 555 0100"]
  - number: "+1 201 555 0103"
    expires: 2026-01-01
  - number: "+1 201 555 0104"
    expires: 2027-01-01
  - "+49 30 1234567"
`;
  const result = desiredBlacklist(input({ rules: rules(yaml) }));

  test('exact numbers are written in both forms (E.164 and national), labelled', () => {
    expect(result.desired.map((e) => [e.key, e.value])).toEqual([
      ['+12015550101', 'callscreen: deny Known scammer'],
      ['2015550101', 'callscreen: deny Known scammer'],
      ['+12015550104', 'callscreen: deny +1 201 555 0104'],
      ['2015550104', 'callscreen: deny +1 201 555 0104'],
      ['+49301234567', 'callscreen: deny +49 30 1234567'],
    ]);
    expect(result.numbers).toEqual({ deny: 3, reputation: 0 });
  });

  test('ranges, wildcards, regexes, DID-scoped and expired rules are counted as skipped', () => {
    expect(result.skipped).toMatchObject({
      range: 1,
      wildcard: 2,
      regex: 1,
      didScoped: 1,
      expired: 1,
      allowListed: 0,
      overLimitNumbers: 0,
    });
  });
});

describe('desiredBlacklist: reputation numbers', () => {
  test('only those whose faded score reaches minReputationScore, highest first (then reports, then number)', () => {
    const reputation = [
      rep('+12015550201', 0.91),
      rep('+12015550202', 0.99, { category: 'robocall' }),
      rep('+12015550203', 0.95, { lastSeenAt: NOW.getTime() - 60 * DAY }), // faded to ~0.24
      rep('+12015550204', 0.5),
      rep('+12015550205', 0.91, { reports: 40 }),
      rep('not a number', 1),
    ];
    const { desired, numbers } = desiredBlacklist(input({ reputation }));
    expect(desired.filter((e) => e.key.startsWith('+')).map((e) => e.key)).toEqual([
      '+12015550202',
      '+12015550205',
      '+12015550201',
    ]);
    expect(desired[0]).toEqual({
      key: '+12015550202',
      value: 'callscreen: reputation 0.99 robocall',
      e164: '+12015550202',
      origin: 'reputation',
    });
    expect(numbers).toEqual({ deny: 0, reputation: 3 });
  });

  test('a number both denied and on the reputation list is written once, as a deny', () => {
    const { desired } = desiredBlacklist(
      input({ rules: rules('deny: ["+1 201 555 0301"]'), reputation: [rep('+12015550301', 1)] }),
    );
    expect(desired.map((e) => e.origin)).toEqual(['deny', 'deny']);
  });

  test('the allow list wins: an allow-listed number (any kind, even scoped to a DID) is never written', () => {
    const yaml = `
allow:
  - "+1 201 555 0401"
  - number: "+1 201 555 05*"
    dids: ["+1 212 555 0100"]
deny:
  - "+1 201 555 0401"
  - "+1 201 555 0402"
`;
    const { desired, skipped } = desiredBlacklist(
      input({ rules: rules(yaml), reputation: [rep('+12015550599', 1), rep('+12015550600', 1)] }),
    );
    expect(desired.map((e) => e.key)).toEqual(['+12015550402', '2015550402', '+12015550600', '2015550600']);
    expect(skipped.allowListed).toBe(2);
  });
});

describe('desiredBlacklist: maxEntries', () => {
  const yaml = 'deny: ["+1 201 555 0001", "+1 201 555 0002", "+49 30 1234567"]';
  const reputation = [rep('+12015550003', 1), rep('+12015550004', 0.95)];

  test('deny rules first, then reputation; both forms count; a number is written whole or not at all', () => {
    const { desired, skipped } = desiredBlacklist(input({ rules: rules(yaml), reputation, maxEntries: 6 }));
    // 2 + 2 (US deny) + 1 (DE deny, E.164 only) = 5; the next reputation number needs 2: left out, and all after it
    expect(desired.map((e) => e.key)).toEqual([
      '+12015550001',
      '2015550001',
      '+12015550002',
      '2015550002',
      '+49301234567',
    ]);
    expect(skipped).toMatchObject({ overLimitNumbers: 2, overLimitEntries: 4 });
  });

  test('never more entries than maxEntries', () => {
    for (let max = 1; max <= 10; max++) {
      const { desired, skipped, numbers } = desiredBlacklist(
        input({ rules: rules(yaml), reputation, maxEntries: max }),
      );
      expect(desired.length).toBeLessThanOrEqual(max);
      expect(numbers.deny + numbers.reputation + skipped.overLimitNumbers).toBe(5);
    }
  });
});

describe('diffBlacklist / planBlacklist: only callscreen entries are touched', () => {
  const denyYaml = 'deny: [{ number: "+1 201 555 0101", label: Scam }, "+1 201 555 0102"]';

  test('an empty family: everything is put, nothing deleted', () => {
    const plan = planBlacklist(input({ rules: rules(denyYaml) }));
    expect(plan.put.map((p) => p.key)).toEqual(['+12015550101', '2015550101', '+12015550102', '2015550102']);
    expect(plan.del).toEqual([]);
  });

  test('writes only the difference: entries already right are left, changed values rewritten, unwanted ones of ours deleted', () => {
    const current = new Map([
      ['+12015550101', 'callscreen: deny Scam'],
      ['2015550101', 'callscreen: deny Scam'],
      ['+12015550102', 'callscreen: deny old label'],
      ['+12015559999', 'callscreen: deny a rule since removed'],
      ['2015559999', 'callscreen: deny a rule since removed'],
    ]);
    const plan = planBlacklist(input({ rules: rules(denyYaml), current }));
    expect(plan.put).toEqual([
      { key: '+12015550102', value: 'callscreen: deny +1 201 555 0102' },
      { key: '2015550102', value: 'callscreen: deny +1 201 555 0102' },
    ]);
    expect(plan.del).toEqual(['+12015559999', '2015559999']);
  });

  test('entries made by hand (in FreePBX) are never overwritten or deleted, even when callscreen wants that key', () => {
    const current = new Map([
      ['+12015550101', 'Added by the office manager'], // a key callscreen wants too
      ['3055550000', 'Ex-partner'], // one callscreen knows nothing of
      ['blocked', '1'], // FreePBX's "block unknown callers" flag
      ['4045550000', ''], // no description at all
    ]);
    const plan = planBlacklist(input({ rules: rules(denyYaml), current }));
    expect(plan.put.map((p) => p.key)).toEqual(['2015550101', '+12015550102', '2015550102']);
    expect(plan.del).toEqual([]);
    expect(plan.skipped.heldByOthers).toBe(1);
  });

  test('nothing wanted any more: every callscreen entry, and only those, is deleted', () => {
    const current = new Map([
      ['+12015550101', 'callscreen: deny Scam'],
      ['2015550101', 'callscreen: reputation 0.95'],
      ['3055550000', 'Ex-partner'],
    ]);
    const { put, del } = diffBlacklist([], current);
    expect(put).toEqual([]);
    expect(del).toEqual(['+12015550101', '2015550101']);
  });

  test('the plan applied to the family gives the desired set, and planning again gives nothing to do', () => {
    const current = new Map([
      ['+12015559999', 'callscreen: deny gone'],
      ['3055550000', 'Ex-partner'],
    ]);
    const first = planBlacklist(input({ rules: rules(denyYaml), reputation: [rep('+12015550700', 0.97)], current }));
    const after = new Map(current);
    for (const { key, value } of first.put) after.set(key, value);
    for (const key of first.del) after.delete(key);
    expect([...after.keys()].sort()).toEqual([
      '+12015550101',
      '+12015550102',
      '+12015550700',
      '2015550101',
      '2015550102',
      '2015550700',
      '3055550000',
    ]);
    const second = planBlacklist(
      input({ rules: rules(denyYaml), reputation: [rep('+12015550700', 0.97)], current: after }),
    );
    expect(second.put).toEqual([]);
    expect(second.del).toEqual([]);
  });
});
