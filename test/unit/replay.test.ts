/**
 * `callscreen replay`'s core: a logged call decided again from the inputs its record kept. Under the settings
 * it was decided with, every decision comes out the same (a property over random histories and facts); under a
 * candidate, the transitions, the effect on likely customers and the changed calls' reasons are summed up; old
 * records without inputs are replayed apart, unreadable inputs skipped with the reason.
 */
import fc from 'fast-check';
import { CallEvaluator } from '../../src/calls/call-evaluator';
import { loadConfigText, type LoadedConfig } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { CallerHistory } from '../../src/domain/caller-history';
import type { CallFacts } from '../../src/domain/screen-call';
import type { LoggedCall, ScreenedCallRecord } from '../../src/ports/call-log';
import { replayCall, type ReplayCandidate } from '../../src/replay/replay-call';
import { ReplayReport } from '../../src/replay/replay-report';
import { renderReplay } from '../../src/cli/replay-command';
import { cleanHistory, FakeCallerHistoryStore } from '../support/fakes';
import { histories } from '../support/history-arbitraries';

const CONFIG = `numbers:
  defaultRegion: US
screening:
  timeZone: UTC
policies:
  - name: sales-shadow
    dids: ["+1 212 555 0200"]
    shadow: true
`;
const RULES = `allow:
  - "+1 212 555 0147"
deny:
  - number: "+1 900*"
  - name: "*spam risk*"
`;
const loaded: LoadedConfig = loadConfigText(CONFIG, 'callscreen.yaml', {});
const rules = compileRulesText(RULES, 'rules.yaml', 'US');
const running: ReplayCandidate = { model: loaded.screening, rules };

/** Decide a call as the daemon does (the real evaluator on a fake history) and log it as the screener would. */
async function logged(
  facts: Omit<CallFacts, 'at'> & { at?: Date },
  history: Partial<CallerHistory> | 'down' = {},
  extra: Partial<ScreenedCallRecord> = {},
): Promise<LoggedCall> {
  const store = new FakeCallerHistoryStore();
  if (history === 'down') store.answer = () => Promise.reject(new Error('Redis is down'));
  else store.answer = (q) => Promise.resolve({ ...cleanHistory(q), ...history });
  const evaluator = new CallEvaluator({ history: store });
  const at = facts.at ?? new Date('2026-11-23T15:00:00Z');
  const evaluation = await evaluator.evaluate(
    { ...facts, at },
    { config: loaded.config, screening: loaded.screening, rules },
    {
      callId: 'c',
      record: false,
    },
  );
  const record: ScreenedCallRecord = {
    callId: `call-${Math.random()}`,
    at: at.toISOString(),
    channel: 'PJSIP/pstn-trunk-1',
    decision: evaluation.decision,
    routedTo: 'agents',
    decisionMs: 1,
    host: 'pbx1',
    inputs: JSON.parse(JSON.stringify(evaluation.inputs)) as ScreenedCallRecord['inputs'],
    ...extra,
  };
  // as read back from the log: through JSON
  return { id: `${at.getTime()}-0`, record: JSON.parse(JSON.stringify(record)) as ScreenedCallRecord };
}

const listed = (score: number): Partial<CallerHistory> => ({
  reputation: {
    entries: [
      { score, reports: 40, category: 'robocall', source: 'robocall', lastSeenAt: Date.parse('2026-11-20T00:00:00Z') },
    ],
  },
});

describe('replayed under the settings it was decided with, a call is decided the same', () => {
  test('for random histories, callers, DIDs, attestations and names', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories,
        fc.constantFrom('+14155550123', '+19005550100', '+12125550147', 'anonymous', '(415) 555-0188', '07700 900123'),
        fc.constantFrom('+12125550100', '+12125550200', 's'),
        fc.constantFrom(undefined, 'A', 'C', 'failed'),
        fc.constantFrom(undefined, 'SPAM RISK', 'Jane Doe'),
        async (lookup, callerNumber, did, attestation, callerName) => {
          const history = lookup.status === 'found' ? lookup.history : 'down';
          const call = await logged(
            { callerNumber, did, ...(attestation ? { attestation } : {}), ...(callerName ? { callerName } : {}) },
            history,
          );
          const replayed = replayCall(call.record, running);
          expect(replayed.kind).toBe('full');
          if (replayed.kind === 'skipped') return;
          expect(replayed.after).toEqual(call.record.decision);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('under a candidate, what would change', () => {
  const stricter = loadConfigText(
    `${CONFIG}  - name: after-hours\n    when: [{ days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "23:59" }]\n    thresholds: { challenge: 5 }\n`,
    'candidate.yaml',
    {},
  );

  test('the transition matrix, the changed calls with old and new reasons, and likely customers newly challenged', async () => {
    const report = new ReplayReport();
    const calls = [
      await logged({ callerNumber: '+14155550101', did: '+12125550100', attestation: 'C' }), // +10: allow -> challenge
      await logged({ callerNumber: '+14155550102', did: '+12125550100' }), // 0: stays allow
      await logged(
        { callerNumber: '+14155550103', did: '+12125550100', attestation: 'C' },
        { captcha: { failures: 0, lastPassedAt: Date.parse('2026-11-20T00:00:00Z') } },
      ), // passed before: -60
      await logged({ callerNumber: '+14155550104', did: '+12125550100' }, listed(0.9)), // already voicemail or more
    ];
    const candidate = { model: stricter.screening, rules };
    for (const call of calls) report.add(call, replayCall(call.record, candidate));
    const s = report.summary();
    expect(s).toMatchObject({ calls: 4, replayed: 4, partial: 0, skipped: 0, changed: 1 });
    expect(s.matrix.allow.challenge).toBe(1);
    expect(s.effect).toMatchObject({ agentCallsAvoided: 1, customersNewlyChallenged: 0 });
    expect(s.changedCalls[0]).toMatchObject({ caller: '+14155550101', before: 'allow', after: 'challenge' });
    expect(s.changedCalls[0]?.newReasons.join('\n')).toMatch(/policy: policy after-hours applies/);
    expect(s.topNumbers).toEqual([{ number: '+14155550101', changed: 1 }]);
    expect(renderReplay(s)).toContain('changed: 1 (25.0 %)');
  });

  test('removing an allow rule: the customer it let through is counted and called out loudly when sent to voicemail', async () => {
    const customer = await logged({ callerNumber: '+12125550147', did: '+12125550100', attestation: 'failed' });
    expect(customer.record.decision.verdict).toBe('allow');
    const harsh = loadConfigText(
      `${CONFIG.replace('screening:\n  timeZone: UTC', 'screening:\n  timeZone: UTC\n  withoutRecord: reject\n  thresholds: { challenge: 10, voicemail: 20, reject: 90 }')}`,
      'candidate.yaml',
      {},
    );
    const report = new ReplayReport();
    const replayed = replayCall(customer.record, {
      model: harsh.screening,
      rules: compileRulesText('allow: []\ndeny: []\n', 'r.yaml', 'US'),
    });
    expect(replayed).toMatchObject({ kind: 'full', withoutHistory: true });
    report.add(customer, replayed);
    const s = report.summary();
    expect(s.effect.customersNewlyVoicemail).toBe(1);
    expect(s.withoutHistory).toBe(1);
    expect(renderReplay(s)).toContain('!! LIKELY CUSTOMERS NEWLY SENT TO VOICEMAIL: 1');
  });

  test('a shadow DID with shadow mode off: its calls get the verdict they would have had', async () => {
    const call = await logged({ callerNumber: '+14155550109', did: '+12125550200' }, listed(1));
    expect(call.record.decision).toMatchObject({ verdict: 'allow', shadowVerdict: expect.any(String) });
    const noShadow = loadConfigText(CONFIG.replace('    shadow: true\n', '    shadow: false\n'), 'candidate.yaml', {});
    const replayed = replayCall(call.record, { model: noShadow.screening, rules });
    expect(replayed.kind === 'full' && replayed.after.verdict).toBe(call.record.decision.shadowVerdict);
  });
});

describe('records that cannot be replayed in full', () => {
  test('an old record without inputs is replayed from its decision, without history, and counted apart', async () => {
    const call = await logged({ callerNumber: '+19005550100', did: '+12125550100' });
    delete call.record.inputs;
    const replayed = replayCall(call.record, running);
    expect(replayed).toMatchObject({ kind: 'partial', before: 'voicemail' });
    const report = new ReplayReport();
    report.add(call, replayed);
    expect(report.summary()).toMatchObject({ partial: 1, replayed: 0 });
    expect(report.summary().partialMatrix.voicemail.voicemail).toBe(1);
  });

  test.each([
    ['another version', { v: 2, facts: {} }, 'inputs version 2 is not known'],
    ['no facts', { v: 1 }, 'inputs.facts is missing'],
    [
      'a history that is not one',
      { v: 1, facts: { callerNumber: '+1', did: '' }, history: { status: 'found', history: {} } },
      'inputs.history is not a caller history',
    ],
  ])('inputs of %s are skipped with the reason', async (_what, inputs, problem) => {
    const call = await logged({ callerNumber: '+14155550123', did: '+12125550100' });
    (call.record as unknown as { inputs: unknown }).inputs = inputs;
    expect(replayCall(call.record, running)).toEqual({ kind: 'skipped', problem });
  });
});
