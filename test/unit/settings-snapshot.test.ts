/**
 * One settings snapshot per call: the screener reads the settings in force once, when the call enters;
 * the evaluator decides with that snapshot and hands back what it decided with, and the route uses
 * exactly that. A reload while the call is being decided (here: between the read and the route) applies
 * to the next call only.
 */
import { CallEvaluator, type SettingsSnapshot } from '../../src/calls/call-evaluator';
import { CallScreener } from '../../src/calls/call-screener';
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { ContinueTarget } from '../../src/ports/ari';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { captureLogger, FakeAri, FakeCallerHistoryStore, FakeCallLog, fakeChannel } from '../support/fakes';

const DID = '+12125550200';
const ROBOCALLER = '+12015550123';
const STRANGER = '+14155552671';

/** The same file before and after an edit: the DID's policy names another voicemail target and thresholds. */
function snapshot(name: string): SettingsSnapshot {
  const loaded = loadConfigText(
    `
numbers: { defaultRegion: US }
screening: { timeZone: UTC, deadlineMs: 100 }
policies:
  - name: ${name}
    dids: ["${DID}"]
    voicemail: { context: ${name}-voicemail }
routing:
  agents: { context: agents-${name} }
`,
    'callscreen.yaml',
    {},
  );
  const rules = compileRulesText(`deny: ["${ROBOCALLER}"]`, 'rules.yaml', 'US');
  return { config: loaded.config, screening: loaded.screening, rules };
}

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('one settings snapshot per call', () => {
  test('a reload while the call is decided changes neither its decision nor its route', async () => {
    const before = snapshot('before');
    const after = snapshot('after');
    let inForce = before;
    let reads = 0;
    const history = new FakeCallerHistoryStore();
    const real = new CallEvaluator({ history });
    const snapshotsDecidedWith: SettingsSnapshot[] = [];
    let readsAtDecision = 0;
    const ari = new FakeAri();
    const screened: ScreenedCallRecord[] = [];
    const screener = new CallScreener({
      ari,
      evaluator: {
        evaluate: (facts, settings, options) => {
          snapshotsDecidedWith.push(settings);
          readsAtDecision = reads;
          inForce = after; // the edit lands while the call is being decided
          return real.evaluate(facts, settings, options);
        },
      },
      callLog: new FakeCallLog(),
      logger: captureLogger().logger,
      settings: () => {
        reads++;
        return inForce;
      },
      captchaHistory: history,
      onScreened: (record) => screened.push(record),
    });
    ari.on('event', screener.onAriEvent);

    ari.startCall(fakeChannel('call-1', ROBOCALLER), ['inbound', DID]);
    await until(() => screened.length === 1 && screener.callsInFlight === 0);

    expect(snapshotsDecidedWith).toEqual([before]);
    expect(screened[0]?.decision).toMatchObject({ verdict: 'voicemail', policies: ['before'] });
    const continued: ContinueTarget[] = ari.requestsOf('continueInDialplan').map((r) => r.args[1]);
    expect(continued).toEqual([{ context: 'before-voicemail', extension: DID, priority: 1 }]);
    expect(reads).toBe(readsAtDecision); // the route read nothing more

    // the next call is decided and routed with the edit
    ari.startCall(fakeChannel('call-2', STRANGER), ['inbound', DID]);
    await until(() => screened.length === 2 && screener.callsInFlight === 0);
    expect(screened[1]?.decision.policies).toEqual(['after']);
    expect(ari.requestsOf('continueInDialplan').map((r) => r.args[1])[1]).toEqual({
      context: 'agents-after',
      extension: DID,
      priority: 1,
    });
  });

  test('the evaluation carries the snapshot, the settings it resolved and the call normalised once', async () => {
    const settings = snapshot('only');
    const evaluation = await new CallEvaluator({ history: new FakeCallerHistoryStore() }).evaluate(
      { callerNumber: '(415) 555-2671', did: '212-555-0200', at: new Date('2026-11-23T15:00:00Z') },
      settings,
      { callId: 'call-1', record: false },
    );
    expect(evaluation.snapshot).toBe(settings);
    expect(evaluation.settings.policies).toEqual(['only']);
    expect(evaluation.settings.voicemail).toEqual({ context: 'only-voicemail', priority: 1 });
    expect(evaluation.call.caller).toMatchObject({ kind: 'e164', e164: STRANGER });
    expect(evaluation.call.did).toBe(evaluation.decision.did);
    expect(evaluation.call.did).toMatchObject({ kind: 'e164', e164: DID });
  });
});
