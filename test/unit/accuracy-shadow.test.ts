/**
 * The shadow report (src/accuracy/shadow-report.ts): which calls were screened in shadow mode (a
 * shadowVerdict, or a shadow policy for calls it would have allowed), what would have happened per DID,
 * the top reasons, the known-truth split and the rates it would have had; and its text.
 */
import { AgentVerdicts } from '../../src/accuracy/call-truth';
import { renderShadow } from '../../src/accuracy/report-render';
import { ShadowReport, shadowVerdictOf } from '../../src/accuracy/shadow-report';
import { shadowPolicies } from '../../src/accuracy/report-reading';
import { logged, reason, screenedCall } from '../support/screened-calls';

const T = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;
const RANGE = { fromMs: T - 7 * 86_400_000, untilMs: T + 86_400_000 };
const ROLLOUT = '+1 212 555 0150';
const POLICIES = shadowPolicies([
  { name: 'rollout', shadow: true },
  { name: 'override-off', shadow: false },
  { name: 'night' },
]);

function report() {
  const verdicts = new AgentVerdicts();
  verdicts.add('+12125550111', 'spam', T + 60 * MIN);
  verdicts.add('+12125550112', 'ok', T + 60 * MIN);
  verdicts.add('+12125550114', 'ok', T + 60 * MIN);
  const shadow = new ShadowReport(verdicts, POLICIES);
  const listed = reason('reputation.listed', 40);
  const velocity = reason('velocity.number', 20);
  for (const spec of [
    { caller: '+1 212 555 0111', did: ROLLOUT, reasons: [listed, velocity], shadowVerdict: 'reject' as const },
    { caller: '+1 212 555 0112', did: ROLLOUT, reasons: [velocity], shadowVerdict: 'challenge' as const },
    { caller: '+1 212 555 0113', did: ROLLOUT, reasons: [listed], shadowVerdict: 'voicemail' as const },
    // allowed in shadow mode: no shadowVerdict, found by the rollout policy
    { caller: '+1 212 555 0114', did: ROLLOUT, reasons: [reason('attestation', -10)], policies: ['rollout'] },
    // a later policy turns shadow mode off: not a shadow call
    { caller: '+1 212 555 0115', did: ROLLOUT, policies: ['rollout', 'override-off'] },
    // not in shadow mode at all
    { caller: '+1 212 555 0116', did: '+1 212 555 0100', reasons: [listed] },
    { caller: '+1 212 555 0117', did: '+1 212 555 0160', reasons: [listed], shadowVerdict: 'reject' as const },
  ].entries())
    shadow.add(logged({ ...spec[1], verdict: 'allow', at: T + spec[0] * MIN }));
  return shadow.result(RANGE);
}

describe('the shadow report', () => {
  test('lists each DID that had shadow-mode calls, most calls first', () => {
    const r = report();
    expect(r.dids.map((d) => [d.did, d.calls])).toEqual([
      ['+12125550150', 4],
      ['+12125550160', 1],
    ]);
    expect(r.callsRead).toBe(7);
  });

  test('counts what would have happened, including the calls shadow mode would have allowed', () => {
    expect(report().dids[0]?.wouldHave).toEqual({ allow: 1, challenge: 1, voicemail: 1, reject: 1 });
  });

  test('names the reasons that fired most on the shadow calls', () => {
    expect(report().dids[0]?.topReasons).toEqual([
      { signal: 'reputation.listed', calls: 2 },
      { signal: 'velocity.number', calls: 2 },
      { signal: 'attestation (towards good)', calls: 1 },
    ]);
  });

  test('splits by known truth, with the catch and error rates shadow mode would have had', () => {
    const did = report().dids[0];
    expect(did?.truth).toEqual({
      spam: { allow: 0, challenge: 0, voicemail: 0, reject: 1 },
      good: { allow: 1, challenge: 1, voicemail: 0, reject: 0 },
      unknown: { allow: 0, challenge: 0, voicemail: 1, reject: 0 },
    });
    expect(did?.wouldCatchRate).toBe(1);
    expect(did?.wouldErrorRate).toBe(0.5);
    expect(report().dids[1]).toMatchObject({ wouldCatchRate: null, wouldErrorRate: null });
  });

  test('a call is in shadow mode by its shadowVerdict, or by the last shadow setting of its policies', () => {
    const call = (policies: string[], verdict: 'allow' | 'reject' = 'allow') =>
      screenedCall({ caller: '+1 212 555 0120', verdict, at: T, policies });
    expect(shadowVerdictOf(call(['rollout']), POLICIES)).toBe('allow');
    expect(shadowVerdictOf(call(['rollout', 'night']), POLICIES)).toBe('allow');
    expect(shadowVerdictOf(call(['rollout', 'override-off']), POLICIES)).toBeUndefined();
    expect(shadowVerdictOf(call(['night']), POLICIES)).toBeUndefined();
    expect(shadowVerdictOf(call(['unknown-policy']), POLICIES)).toBeUndefined();
    // a verdict other than allow was not let through by shadow mode
    expect(shadowVerdictOf(call(['rollout'], 'reject'), POLICIES)).toBeUndefined();
  });

  test('as text: a row per DID and its top reasons', () => {
    const text = renderShadow(report());
    expect(text).toMatch(/^\+12125550150 +4 +1 +1 +1 +1 +1 +2 +1 +100\.0 % +50\.0 %$/m);
    expect(text).toContain(
      '+12125550150 top reasons: reputation.listed 2, velocity.number 2, attestation (towards good) 1',
    );
  });

  test('says so when no call was screened in shadow mode', () => {
    const empty = new ShadowReport(new AgentVerdicts()).result(RANGE);
    expect(empty.dids).toEqual([]);
    expect(renderShadow(empty)).toContain('no shadow-mode calls among the 0 calls read');
  });
});
