/**
 * What is known about one call (src/accuracy/call-truth.ts) and whether the screening kept it from the
 * agents (call-handling.ts): each truth rule, the agents' verdict winning over the CAPTCHA, and which
 * verdicts and CAPTCHA outcomes count as kept.
 */
import { callHandling, firedSignals } from '../../src/accuracy/call-handling';
import { AgentVerdicts, callTruth } from '../../src/accuracy/call-truth';
import type { CaptchaOutcome } from '../../src/ports/call-log';
import { reason, screenedCall } from '../support/screened-calls';

const T = Date.parse('2026-11-30T10:00:00Z');
const MIN = 60_000;
const NUMBER = '+1 212 555 0147';
const E164 = '+12125550147';

const verdicts = (...entries: Array<['spam' | 'ok', number]>): AgentVerdicts => {
  const v = new AgentVerdicts();
  for (const [verdict, at] of entries) v.add(E164, verdict, at);
  return v;
};
const truthOf = (v: AgentVerdicts, captcha?: CaptchaOutcome, caller = NUMBER) =>
  callTruth(screenedCall({ caller, verdict: 'challenge', at: T, ...(captcha ? { captcha } : {}) }), T, v);

describe('the truth of a call', () => {
  test('an agent reporting the number as spam after the call makes the call spam', () => {
    expect(truthOf(verdicts(['spam', T + 5 * MIN]))).toEqual({ truth: 'spam', source: 'agent-after' });
  });

  test('an agent calling the number ok after the call makes it good', () => {
    expect(truthOf(verdicts(['ok', T + MIN]))).toEqual({ truth: 'good', source: 'agent-after' });
  });

  test('of several verdicts after the call the last one counts (a corrected click)', () => {
    expect(truthOf(verdicts(['spam', T + MIN], ['ok', T + 2 * MIN]))).toEqual({ truth: 'good', source: 'agent-after' });
    expect(truthOf(verdicts(['ok', T + 2 * MIN], ['spam', T + MIN]))).toEqual({ truth: 'good', source: 'agent-after' });
  });

  test('a verdict given before the call counts when none came after it, marked as known before', () => {
    expect(truthOf(verdicts(['ok', T - 60 * MIN]))).toEqual({ truth: 'good', source: 'agent-before' });
    expect(truthOf(verdicts(['ok', T - 60 * MIN], ['spam', T - 30 * MIN]))).toEqual({
      truth: 'spam',
      source: 'agent-before',
    });
  });

  test('a verdict after the call wins over one before it', () => {
    expect(truthOf(verdicts(['spam', T - 60 * MIN], ['ok', T + MIN]))).toEqual({
      truth: 'good',
      source: 'agent-after',
    });
  });

  test('a verdict at the very millisecond of the call counts as after it', () => {
    expect(truthOf(verdicts(['spam', T]))).toEqual({ truth: 'spam', source: 'agent-after' });
  });

  test("another number's verdict says nothing about this call", () => {
    const v = new AgentVerdicts();
    v.add('+12125550148', 'spam', T + MIN);
    expect(truthOf(v)).toEqual({ truth: 'unknown', source: 'none' });
  });

  test('a passed CAPTCHA makes the call good, a failed one spam', () => {
    expect(truthOf(new AgentVerdicts(), 'passed')).toEqual({ truth: 'good', source: 'captcha-passed' });
    expect(truthOf(new AgentVerdicts(), 'failed')).toEqual({ truth: 'spam', source: 'captcha-failed' });
  });

  test.each<CaptchaOutcome>(['hangup', 'timeout', 'abandoned', 'error'])(
    'a CAPTCHA that ended with %s says nothing',
    (outcome) => {
      expect(truthOf(new AgentVerdicts(), outcome)).toEqual({ truth: 'unknown', source: 'none' });
    },
  );

  test("the agents' verdict wins over the CAPTCHA when they disagree", () => {
    expect(truthOf(verdicts(['ok', T + MIN]), 'failed')).toEqual({ truth: 'good', source: 'agent-after' });
    expect(truthOf(verdicts(['spam', T + MIN]), 'passed')).toEqual({ truth: 'spam', source: 'agent-after' });
  });

  test('a withheld caller is known only by its CAPTCHA', () => {
    expect(truthOf(verdicts(['spam', T + MIN]), undefined, 'anonymous')).toEqual({ truth: 'unknown', source: 'none' });
    expect(truthOf(verdicts(['spam', T + MIN]), 'passed', 'anonymous')).toEqual({
      truth: 'good',
      source: 'captcha-passed',
    });
  });

  test('AgentVerdicts keeps one verdict per number and counts every entry', () => {
    const v = verdicts(['spam', T], ['ok', T + 1], ['spam', T + 2]);
    expect(v.entries).toBe(3);
    expect(v.numbers).toBe(1);
    expect(v.of(E164)).toEqual({ verdict: 'spam', at: T + 2 });
  });
});

describe('whether the screening kept a call from the agents', () => {
  const kept = (verdict: 'allow' | 'challenge' | 'voicemail' | 'reject', captcha?: CaptchaOutcome, shadow = false) =>
    callHandling(
      screenedCall({
        caller: NUMBER,
        verdict,
        at: T,
        ...(captcha ? { captcha } : {}),
        ...(shadow ? { shadowVerdict: 'reject' as const } : {}),
      }),
    ).keptFromAgents;

  test('voicemail and reject keep the call from the agents, allow does not', () => {
    expect(kept('voicemail')).toBe(true);
    expect(kept('reject')).toBe(true);
    expect(kept('allow')).toBe(false);
  });

  test('a challenge keeps the caller out when the CAPTCHA failed or the caller hung up during it', () => {
    expect(kept('challenge', 'failed')).toBe(true);
    expect(kept('challenge', 'hangup')).toBe(true);
  });

  test('a challenge passed, or failed open, reaches the agents', () => {
    for (const outcome of ['passed', 'timeout', 'abandoned', 'error'] as const)
      expect(kept('challenge', outcome)).toBe(false);
    expect(kept('challenge')).toBe(false); // no CAPTCHA ran (the daemon was shutting down)
  });

  test('a shadow-mode call reached the agents, whatever it would have been', () => {
    expect(kept('allow', undefined, true)).toBe(false);
  });
});

describe('the signals that fired on a call', () => {
  test('reasons that moved the score and the decisive rules, each once, with their direction', () => {
    expect(
      firedSignals([
        reason('policy'),
        reason('rule.deny'),
        reason('reputation.listed', 40),
        reason('reputation.listed', 40),
        reason('attestation', -10),
        reason('velocity.number', 0),
        reason('score'),
      ]),
    ).toEqual([
      { code: 'rule.deny', direction: 'spam' },
      { code: 'reputation.listed', direction: 'spam' },
      { code: 'attestation', direction: 'good' },
    ]);
    expect(firedSignals([reason('rule.allow')])).toEqual([{ code: 'rule.allow', direction: 'good' }]);
  });
});
