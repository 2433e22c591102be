/**
 * The accuracy report's figures (src/accuracy/accuracy-report.ts) on the hand-worked month of
 * test/support/accuracy-scenario.ts: catch and error rates, how the truth is known, per-signal counts,
 * the groupings by week, DID and signal, and the thin-truth flag; and the text a person reads.
 */
import { AccuracyReport, NO_SIGNAL, thinTruth, weekOf, type GroupBy } from '../../src/accuracy/accuracy-report';
import { AgentVerdicts } from '../../src/accuracy/call-truth';
import { renderAccuracy } from '../../src/accuracy/report-render';
import { SCENARIO_CALLS, SCENARIO_REPORTS } from '../support/accuracy-scenario';
import { logged, reason } from '../support/screened-calls';

const RANGE = { fromMs: Date.parse('2026-11-07T00:00:00Z'), untilMs: Date.parse('2026-12-07T00:00:00Z') };

function scenario(by?: GroupBy) {
  const verdicts = new AgentVerdicts();
  for (const r of SCENARIO_REPORTS) verdicts.add(r.e164, r.verdict, r.at);
  const report = new AccuracyReport(verdicts, by);
  for (const spec of SCENARIO_CALLS) report.add(logged(spec));
  return report.result(RANGE);
}

describe('accuracy figures', () => {
  test('catch rate: 4 of the 6 known spam calls kept from the agents; shadow mode let one through', () => {
    const { spam } = scenario().overall;
    expect(spam).toEqual({ known: 6, keptFromAgents: 4, shadowLetThrough: 1, catchRate: 4 / 6 });
  });

  test('error rate: 4 of the 5 known good callers challenged (2), sent to voicemail (1) or rejected (1)', () => {
    const { good } = scenario().overall;
    expect(good).toEqual({ known: 5, challenged: 2, voicemail: 1, rejected: 1, errorRate: 0.8 });
  });

  test('counts the calls with no known truth and says how the known ones are known', () => {
    const r = scenario();
    expect(r.overall.calls).toBe(14);
    expect(r.overall.unknown).toBe(3);
    expect(r.overall.truthFrom).toEqual({
      'agent-after': 8,
      'agent-before': 1,
      'captcha-passed': 1,
      'captcha-failed': 1,
    });
    expect(r.feedback).toEqual({ entries: 7, numbers: 7 });
  });

  test('says the truth is thin: 11 known calls are fewer than 30', () => {
    const { overall } = scenario();
    expect(overall.thin).toBe(true);
    expect(overall.thinReason).toBe('only 11 of 14 calls have a known truth (fewer than 30)');
  });

  test('per signal: how often it fired on known spam and known good callers, and its precision', () => {
    expect(scenario().signals).toEqual([
      {
        signal: 'reputation.listed',
        code: 'reputation.listed',
        direction: 'spam',
        calls: 5,
        onSpam: 4,
        onGood: 1,
        onUnknown: 0,
        precision: 0.8,
        thin: true,
      },
      {
        signal: 'velocity.number',
        code: 'velocity.number',
        direction: 'spam',
        calls: 5,
        onSpam: 2,
        onGood: 2,
        onUnknown: 1,
        precision: 0.5,
        thin: true,
      },
      {
        signal: 'attestation (towards good)',
        code: 'attestation',
        direction: 'good',
        calls: 3,
        onSpam: 0,
        onGood: 2,
        onUnknown: 1,
        precision: 1,
        thin: true,
      },
      {
        signal: 'rule.deny',
        code: 'rule.deny',
        direction: 'spam',
        calls: 2,
        onSpam: 1,
        onGood: 1,
        onUnknown: 0,
        precision: 0.5,
        thin: true,
      },
      {
        signal: 'caller.withheld',
        code: 'caller.withheld',
        direction: 'spam',
        calls: 1,
        onSpam: 0,
        onGood: 0,
        onUnknown: 1,
        precision: null,
        thin: true,
      },
    ]);
  });

  test('without --by there are no groups', () => {
    const r = scenario();
    expect(r.by).toBeNull();
    expect(r.groups).toEqual([]);
  });
});

describe('grouping', () => {
  test('by week: the Monday (UTC) of each call', () => {
    const groups = scenario('week').groups;
    expect(groups.map((g) => g.group)).toEqual(['2026-11-23', '2026-11-30']);
    const [earlier, later] = groups;
    expect(earlier).toMatchObject({ calls: 2, unknown: 1, spam: { known: 1, keptFromAgents: 1, catchRate: 1 } });
    expect(earlier?.good).toEqual({ known: 0, challenged: 0, voicemail: 0, rejected: 0, errorRate: null });
    expect(later).toMatchObject({
      calls: 12,
      unknown: 2,
      spam: { known: 5, keptFromAgents: 3, shadowLetThrough: 1, catchRate: 0.6 },
      good: { known: 5, errorRate: 0.8 },
    });
  });

  test('by DID', () => {
    const groups = scenario('did').groups;
    expect(groups.map((g) => g.group)).toEqual(['+12125550100', '+12125550199']);
    expect(groups[0]).toMatchObject({
      calls: 12,
      unknown: 3,
      spam: { known: 6, keptFromAgents: 4, catchRate: 4 / 6 },
      good: { known: 3, challenged: 2, voicemail: 0, rejected: 0, errorRate: 2 / 3 },
    });
    expect(groups[1]).toMatchObject({
      calls: 2,
      good: { known: 2, challenged: 0, voicemail: 1, rejected: 1, errorRate: 1 },
    });
  });

  test('by signal: a call counts under every signal that fired on it, and under "(no signal)" when none did', () => {
    const verdicts = new AgentVerdicts();
    for (const r of SCENARIO_REPORTS) verdicts.add(r.e164, r.verdict, r.at);
    const report = new AccuracyReport(verdicts, 'signal');
    for (const spec of SCENARIO_CALLS) report.add(logged(spec));
    report.add(logged({ caller: '+1 212 555 0399', verdict: 'allow', at: Date.parse('2026-12-01T10:00:00Z') }));
    const groups = report.result(RANGE).groups;
    expect(groups.map((g) => [g.group, g.calls])).toEqual([
      ['reputation.listed', 5],
      ['velocity.number', 5],
      ['attestation (towards good)', 3],
      ['rule.deny', 2],
      [NO_SIGNAL, 1],
      ['caller.withheld', 1],
    ]);
    expect(groups[0]).toMatchObject({
      spam: { known: 4, keptFromAgents: 2, shadowLetThrough: 1, catchRate: 0.5 },
      good: { known: 1, voicemail: 1, errorRate: 1 },
    });
  });

  test('weekOf puts a Sunday in the week of the Monday before it', () => {
    expect(weekOf(Date.parse('2026-12-06T23:59:59Z'))).toBe('2026-11-30');
    expect(weekOf(Date.parse('2026-11-30T00:00:00Z'))).toBe('2026-11-30');
  });
});

describe('thin truth', () => {
  test('fewer than 30 known calls is thin', () => {
    expect(thinTruth(29, 29)).toBe('only 29 of 29 calls have a known truth (fewer than 30)');
  });

  test('known calls under 5 % of the calls is thin however many they are', () => {
    expect(thinTruth(30, 601)).toBe('only 30 of 601 calls have a known truth (under 5 %)');
    expect(thinTruth(30, 600)).toBeUndefined();
  });

  test('no calls, or none known, says so', () => {
    expect(thinTruth(0, 0)).toBe('no calls');
    expect(thinTruth(0, 12)).toBe('no call of 12 has a known truth');
  });

  test('30 known calls out of 100 is not thin, and the figures say so', () => {
    const verdicts = new AgentVerdicts();
    const report = new AccuracyReport(verdicts);
    const at = Date.parse('2026-12-01T10:00:00Z');
    for (let i = 0; i < 100; i++)
      report.add(
        logged({
          caller: `+1 312 555 ${String(1000 + i)}`,
          verdict: i < 30 ? 'challenge' : 'allow',
          at: at + i,
          reasons: [reason('velocity.number', 20)],
          ...(i < 30 ? { captcha: i < 20 ? ('failed' as const) : ('passed' as const) } : {}),
        }),
      );
    const r = report.result(RANGE);
    expect(r.overall).toMatchObject({ calls: 100, unknown: 70, thin: false });
    expect(r.overall.thinReason).toBeUndefined();
    expect(r.overall.spam.catchRate).toBe(1);
    expect(r.overall.good.errorRate).toBe(1);
    expect(r.signals[0]).toMatchObject({ onSpam: 20, onGood: 10, precision: 20 / 30, thin: false });
  });
});

describe('the report as text', () => {
  test('headline figures with percentages, the thin-truth warning, the groups and the signals', () => {
    const text = renderAccuracy(scenario('did'));
    expect(text).toContain('Screening accuracy, 2026-11-07 00:00 UTC to 2026-12-07 00:00 UTC');
    expect(text).toContain('calls 14; known truth 11 (78.6 %): 6 spam, 5 good; no known truth 3');
    expect(text).toContain('catch rate  66.7 %  4 of 6 known spam kept from the agents (1 let through by shadow mode)');
    expect(text).toContain(
      'error rate  80.0 %  4 of 5 known good callers bothered: challenged 2, sent to voicemail 1, rejected 1',
    );
    expect(text).toContain('THIN TRUTH: only 11 of 14 calls have a known truth (fewer than 30)');
    expect(text).toMatch(/^\+12125550199 +2 +2 +0 +0 +- +2 +2 +100\.0 % +2 +thin: only 2 of 2 calls/m);
    expect(text).toMatch(/^reputation\.listed +5 +4 +1 +0 +80\.0 % +thin$/m);
    expect(text).toContain("truth from 7 agents' verdicts on 7 numbers");
  });
});
