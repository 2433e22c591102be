/**
 * Screened-call records as the daemon writes them, for replay tests over real HTTP: each call decided by
 * the real CallEvaluator (on a fake history store answering a clean history) under a configuration and
 * rules given as text, and passed through JSON as the log keeps it. So a replay sees the inputs a live
 * decision kept, not a hand-written record.
 */
import { CallEvaluator } from '../../src/calls/call-evaluator';
import type { LoadedConfig } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { CallFacts } from '../../src/domain/screen-call';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { FakeCallerHistoryStore } from './fakes';

let seq = 0;

/** A record of `facts` decided under `loaded` and `rulesText` (rules.yaml's text), `at` defaulting to a minute ago. */
export async function decidedRecord(
  loaded: LoadedConfig,
  rulesText: string,
  facts: Omit<CallFacts, 'at'> & { at?: Date },
): Promise<ScreenedCallRecord> {
  const store = new FakeCallerHistoryStore(); // answers a clean history
  const rules = compileRulesText(rulesText, 'rules.yaml', loaded.config.numbers.defaultRegion);
  const at = facts.at ?? new Date(Date.now() - 60_000);
  const evaluation = await new CallEvaluator({ history: store }).evaluate(
    { ...facts, at },
    { config: loaded.config, screening: loaded.screening, rules },
    { callId: 'c', record: false },
  );
  seq += 1;
  const record: ScreenedCallRecord = {
    callId: `1765000000.${seq}`,
    at: at.toISOString(),
    channel: `PJSIP/pstn-trunk-${String(seq).padStart(8, '0')}`,
    decision: evaluation.decision,
    routedTo: ['allow', 'challenge'].includes(evaluation.decision.verdict) ? 'agents' : evaluation.decision.verdict,
    decisionMs: 1,
    host: 'pbx-test',
    inputs: evaluation.inputs,
  };
  return JSON.parse(JSON.stringify(record)) as ScreenedCallRecord;
}
