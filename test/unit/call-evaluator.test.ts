/**
 * CallEvaluator: one call's facts -> Decision, with the caller's history from a store in memory. The
 * configuration and the rules come from the real loaders, on the texts below, so the settings are the
 * ones a daemon would run with. The history's effect on the score is the core's (screen-call.test.ts);
 * here: when the evaluator asks, what it asks, and what it decides when the store is slow or fails.
 */
import { CallEvaluator, type EvaluateOptions, type SettingsSnapshot } from '../../src/calls/call-evaluator';
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { Decision, ReasonCode } from '../../src/domain/decision';
import type { CallFacts } from '../../src/domain/screen-call';
import { FakeCallerHistoryStore } from '../support/fakes';

const DEADLINE_MS = 40;
const HOTLINE = '+12125550100';
const SALES = '+12125550200';
const SPREAD_OFF = '+12125550300'; // its policy turns the DID spread off
const KEY_ACCOUNT = '+12125550147';
const ROBOCALLER = '+12015550123';
const STRANGER = '+14155552671';
const AT = new Date('2026-11-23T15:00:00Z');

const loaded = loadConfigText(
  `
numbers:
  defaultRegion: US
screening:
  deadlineMs: ${DEADLINE_MS}
  timeZone: UTC
didGroups:
  hotline: ["+1 212 555 0100"]
policies:
  - name: hotline
    dids: [hotline]
    signals:
      repeatCaller: { withinMinutes: 30, points: -100 }
      velocity:
        number: [{ windowSeconds: 120, calls: 5, points: 30 }]
      didSpread: { windowSeconds: 120 }
  - name: one-line-callers
    dids: ["${SPREAD_OFF}"]
    signals:
      didSpread: { windowSeconds: 0 }
`,
  'callscreen.yaml',
  {},
);
const rules = compileRulesText(
  `
allow:
  - number: "+1 212 555 0147"
    label: Key account
deny:
  - number: "+1 201 555 0123"
    label: Known robocaller
`,
  'rules.yaml',
  'US',
);

/** the settings in force, as the screener reads them once per call */
const snapshot: SettingsSnapshot = { config: loaded.config, screening: loaded.screening, rules };

async function decide(
  history: FakeCallerHistoryStore,
  callerNumber: string,
  did = SALES,
  options: Partial<EvaluateOptions> = {},
): Promise<Decision> {
  const facts: CallFacts = { callerNumber, did, at: AT };
  const evaluator = new CallEvaluator({ history });
  const { decision } = await evaluator.evaluate(facts, snapshot, { callId: 'call-1', record: true, ...options });
  return decision;
}

const codes = (decision: Decision): ReasonCode[] => decision.reasons.map((r) => r.code);
const reason = (decision: Decision, code: ReasonCode) => decision.reasons.find((r) => r.code === code);

describe('CallEvaluator', () => {
  test('a number its plan rewrites while parsing is looked up and counted once, under the number it normalises to', async () => {
    // San Marino: "+378 921269" normalises to +3780549921269; counting the call under +378921269 too
    // would credit a number that did not call (issue 12, item 13)
    const history = new FakeCallerHistoryStore();
    await decide(history, '+378921269');
    expect(history.queries.map((q) => [q.e164, q.record])).toEqual([['+3780549921269', true]]);
  });

  test('an allow rule decides without a history lookup', async () => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, KEY_ACCOUNT);
    expect(decision).toMatchObject({ verdict: 'allow', degraded: false });
    expect(reason(decision, 'rule.allow')?.rule).toMatchObject({ list: 'allow', label: 'Key account' });
    expect(history.queries).toEqual([]);
  });

  test('a deny rule decides without a history lookup: the denyVerdict', async () => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, ROBOCALLER);
    expect(decision).toMatchObject({ verdict: loaded.config.screening.denyVerdict, degraded: false });
    expect(codes(decision)).toContain('rule.deny');
    expect(history.queries).toEqual([]);
  });

  test('a clean E.164 caller gets one lookup, recorded, with the windows of the screening defaults', async () => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, STRANGER, SALES);
    expect(decision).toMatchObject({ verdict: 'allow', degraded: false });
    expect(codes(decision)).toContain('reputation.unlisted');
    expect(history.queries).toEqual([
      {
        e164: STRANGER,
        did: SALES,
        at: AT.getTime(),
        callId: 'call-1',
        numberWindowsSeconds: [60, 3600],
        blockWindowsSeconds: [60],
        blockDigits: 4,
        repeatWithinSeconds: 15 * 60,
        didWindowSeconds: 600,
        blockReputationDigits: 3,
        record: true,
      },
    ]);
  });

  test("a caller to a policy's DID is looked up with the policy's windows and memory", async () => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, STRANGER, HOTLINE);
    expect(decision.policies).toEqual(['hotline']);
    expect(history.queries).toHaveLength(1);
    expect(history.queries[0]).toMatchObject({
      did: HOTLINE,
      numberWindowsSeconds: [120],
      repeatWithinSeconds: 30 * 60,
      didWindowSeconds: 120,
      blockReputationDigits: 3,
      record: true,
    });
  });

  test('a policy that turns the DID spread off: the distinct DIDs are not asked for', async () => {
    const history = new FakeCallerHistoryStore();
    await decide(history, STRANGER, SPREAD_OFF);
    expect(history.queries[0]).toMatchObject({ didWindowSeconds: 0, blockReputationDigits: 3 });
  });

  test('a caller written nationally is looked up once, as E.164', async () => {
    const history = new FakeCallerHistoryStore();
    await decide(history, '415 555 2671');
    expect(history.queries.map((q) => q.e164)).toEqual([STRANGER]);
  });

  test('the history found is what the decision rests on', async () => {
    const history = new FakeCallerHistoryStore().returns({
      reputation: {
        entries: [{ score: 1, reports: 40, category: 'robocall', source: 'feed', lastSeenAt: AT.getTime() }],
      },
    });
    const decision = await decide(history, STRANGER);
    expect(codes(decision)).toContain('reputation.listed');
    expect(decision.score).toBeGreaterThanOrEqual(loaded.config.screening.thresholds.voicemail);
    expect(decision.degraded).toBe(false);
  });

  test('a lookup slower than screening.deadlineMs gives a degraded decision at the deadline', async () => {
    jest.useFakeTimers();
    try {
      const history = new FakeCallerHistoryStore().answersAfter(10_000);
      const pending = decide(history, STRANGER);
      await jest.advanceTimersByTimeAsync(DEADLINE_MS);
      const decision = await pending;
      expect(decision).toMatchObject({ verdict: 'allow', degraded: true });
      expect(reason(decision, 'history.unavailable')?.text).toContain(
        `no answer within the ${DEADLINE_MS} ms deadline`,
      );
      expect(history.queries).toHaveLength(1);
      history.close();
    } finally {
      jest.useRealTimers();
    }
  });

  test('a store that never answers does not hold the decision either', async () => {
    const history = new FakeCallerHistoryStore().neverAnswers();
    const decision = await decide(history, STRANGER);
    expect(decision.degraded).toBe(true);
    expect(codes(decision)).toContain('history.unavailable');
  });

  test('a failing store gives a degraded decision naming the error', async () => {
    const history = new FakeCallerHistoryStore().fails(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    const decision = await decide(history, STRANGER);
    expect(decision).toMatchObject({ verdict: 'allow', degraded: true });
    expect(reason(decision, 'history.unavailable')?.text).toContain('connect ECONNREFUSED 127.0.0.1:6379');
  });

  test('rules still decide when the store is down: a deny-listed caller is not degraded', async () => {
    const history = new FakeCallerHistoryStore().fails(new Error('down'));
    const decision = await decide(history, ROBOCALLER);
    expect(decision).toMatchObject({ verdict: loaded.config.screening.denyVerdict, degraded: false });
    expect(history.queries).toEqual([]);
  });

  test.each([
    ['a withheld caller ID', '', 'caller.withheld'],
    ['an anonymous caller', 'anonymous', 'caller.withheld'],
    ['a caller ID that is not a number', 'abc', 'caller.unparseable'],
  ] as const)('%s needs no lookup', async (_what, callerNumber, code) => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, callerNumber);
    expect(codes(decision)).toContain(code);
    expect(decision.degraded).toBe(false);
    expect(history.queries).toEqual([]);
  });

  test('check mode (record: false) asks without recording the call', async () => {
    const history = new FakeCallerHistoryStore();
    await decide(history, STRANGER, SALES, { record: false });
    expect(history.queries).toHaveLength(1);
    expect(history.queries[0]?.record).toBe(false);
    expect(history.captchaOutcomes).toEqual([]);
  });

  test('while the daemon shuts down (skipHistory) the decision is taken on local facts, degraded, without a lookup', async () => {
    const history = new FakeCallerHistoryStore();
    const decision = await decide(history, STRANGER, SALES, { skipHistory: 'the daemon is shutting down' });
    expect(decision.degraded).toBe(true);
    expect(reason(decision, 'history.unavailable')?.text).toContain('the daemon is shutting down');
    expect(history.queries).toEqual([]);
  });

  test('the decision names the call: caller, DID and time', async () => {
    const decision = await decide(new FakeCallerHistoryStore(), '415 555 2671', HOTLINE);
    expect(decision.caller).toMatchObject({ kind: 'e164', e164: STRANGER });
    expect(decision.did).toMatchObject({ kind: 'e164', e164: HOTLINE });
    expect(decision.at).toBe(AT.toISOString());
  });
});
