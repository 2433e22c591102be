/**
 * The core's reading of the lookups: one 'lookup' reason per provider, naming it and its answer, with
 * round(weight x score) points for an answer; unknown, late and failed explain and do not score. A
 * decision adds those points to the score like any other signal (alone they never take a caller past
 * the CAPTCHA: record-cap.test.ts).
 */
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { LookupAnswer } from '../../src/domain/lookup-answer';
import { lookupSignals } from '../../src/domain/lookup-signal';
import { screenCall } from '../../src/domain/screen-call';

const history = {
  status: 'found' as const,
  history: { reputation: { entries: [] }, numberCalls: [], blockCalls: [], captcha: { failures: 0 } },
};
const rules = compileRulesText('allow: []\ndeny: []\n', 'rules.yaml', 'US');
describe('lookup signal', () => {
  test('an answer names the provider, its score, reports and category, and scores round(weight x score)', () => {
    const [reason] = lookupSignals([
      { provider: 'tellows', status: 'answered', score: 0.8, reports: 12, category: 'telemarketer', weight: 40 },
    ]);
    expect(reason).toEqual({
      code: 'lookup',
      text: 'tellows: score 0.8, 12 reports, telemarketer',
      points: 32,
      value: 0.8,
    });
  });

  test('a cached answer says so; unknown scores 0; late and failed explain without points', () => {
    const answers: LookupAnswer[] = [
      { provider: 'a', status: 'answered', score: 0.25, weight: 30, cached: true },
      { provider: 'b', status: 'unknown', weight: 30 },
      { provider: 'c', status: 'late', weight: 30, detail: 'no answer within the 150 ms budget' },
      { provider: 'd', status: 'failed', weight: 30, detail: 'HTTP 503' },
    ];
    expect(lookupSignals(answers)).toEqual([
      { code: 'lookup', text: 'a: score 0.25 (cached)', points: 8, value: 0.25 },
      { code: 'lookup', text: 'b: number not known', points: 0 },
      { code: 'lookup', text: 'c: no answer within the 150 ms budget; late: counts for the next call' },
      { code: 'lookup', text: 'd: not consulted: HTTP 503' },
    ]);
  });

  test("a provider's answer raises the decision's score by its points", () => {
    const { screening } = loadConfigText('numbers: { defaultRegion: US }\n', 'callscreen.yaml', {});
    const facts = { callerNumber: '+12015550123', did: '+12125550100', at: new Date('2026-11-23T15:00:00Z') };
    const without = screenCall(facts, { rules, history }, screening);
    const withLookup = screenCall(
      facts,
      { rules, history, lookups: [{ provider: 'p', status: 'answered', score: 1, weight: 45 }] },
      screening,
    );
    expect(withLookup.score - without.score).toBe(45);
    expect(withLookup.reasons.find((r) => r.code === 'lookup')?.text).toBe('p: score 1');
  });
});
