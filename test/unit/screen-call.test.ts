import type { ReputationLookup } from '../../src/domain/reputation';
import { buildRuleSet, compileRule, type Rule } from '../../src/domain/rule-set';
import { screenCall, type ScreeningPolicy } from '../../src/domain/screen-call';

const policy: ScreeningPolicy = { defaultRegion: 'US', reputationThreshold: 0.7, withheldCaller: 'allow', unparseableCaller: 'voicemail', spamVerdict: 'voicemail' };
const r = (list: 'allow' | 'deny', number: string, line: number): Rule => {
  const c = compileRule({ list, number, label: `${list} ${line}`, source: { file: 'rules.yaml', line, column: 5 } }, 'US');
  if ('reason' in c) throw new Error(c.reason);
  return c;
};
const rules = buildRuleSet([r('allow', '+1 212 555 0147', 3), r('deny', '+1 201 555 0123', 8), r('deny', '+1900*', 9)]);
const unlisted: ReputationLookup = { status: 'unlisted' };
const listed = (score: number): ReputationLookup => ({ status: 'listed', entry: { score, reports: 12, category: 'robocall', source: 'feed' } });
const down: ReputationLookup = { status: 'unavailable', reason: 'Redis timeout' };

describe('screenCall', () => {
  test.each([
    ['allow-listed caller reaches the agents even when listed as spam', '+12125550147', listed(0.99), 'allow', 'rule.allow'],
    ['deny-listed caller goes to voicemail', '+1 (201) 555-0123', unlisted, 'voicemail', 'rule.deny'],
    ['deny prefix catches premium-rate callers', '+19005551234', unlisted, 'voicemail', 'rule.deny'],
    ['reputation at the threshold is spam', '+18336317911', listed(0.7), 'voicemail', 'reputation.listed'],
    ['reputation below the threshold is allowed', '+18336317911', listed(0.4), 'allow', 'reputation.below-threshold'],
    ['a clean number is allowed', '+18336317911', unlisted, 'allow', 'no-match'],
    ['a withheld caller follows the withheld policy', 'anonymous', unlisted, 'allow', 'caller.withheld'],
    ['an empty caller ID counts as withheld', '', unlisted, 'allow', 'caller.withheld'],
    ['a garbage caller ID follows the unparseable policy', 'abc', unlisted, 'voicemail', 'caller.unparseable'],
    ['Redis down: deny rules still apply', '+12015550123', down, 'voicemail', 'rule.deny'],
    ['Redis down: a clean number is allowed', '+18336317911', down, 'allow', 'no-match'],
  ])('%s', (_name, caller, reputation, verdict, code) => {
    const d = screenCall({ callerNumber: caller, did: '+12125550100' }, { rules, reputation }, policy);
    expect(d.verdict).toBe(verdict);
    expect(d.reasons.map((x) => x.code)).toContain(code);
  });

  test('a rule decision names the file, line and label of the rule', () => {
    const d = screenCall({ callerNumber: '+12015550123', did: '100' }, { rules, reputation: unlisted }, policy);
    expect(d.reasons[0]).toMatchObject({ code: 'rule.deny', rule: { source: { file: 'rules.yaml', line: 8 }, label: 'deny 8' } });
    expect(d.reasons[0]?.text).toContain('rules.yaml:8');
  });

  test('a reputation decision carries the score', () => {
    const d = screenCall({ callerNumber: '+18336317911', did: '100' }, { rules, reputation: listed(0.95) }, policy);
    expect(d.reasons.find((x) => x.code === 'reputation.listed')).toMatchObject({ value: 0.95 });
  });

  test('an unavailable reputation list marks the decision degraded and says why', () => {
    const d = screenCall({ callerNumber: '+18336317911', did: '100' }, { rules, reputation: down }, policy);
    expect(d.degraded).toBe(true);
    expect(d.reasons.find((x) => x.code === 'reputation.unavailable')?.text).toContain('Redis timeout');
  });

  test('a number outside the numbering plan is allowed with a note', () => {
    const d = screenCall({ callerNumber: '+15551234567', did: '100' }, { rules, reputation: unlisted }, policy);
    expect(d.verdict).toBe('allow');
    expect(d.reasons.map((x) => x.code)).toContain('caller.invalid');
  });
});
