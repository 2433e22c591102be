/**
 * One logged call decided again under candidate settings, by the pure core and nothing else: no Redis, no
 * clock, no lookup provider. A record that kept its inputs (src/domain/decision-inputs.ts) is decided from
 * exactly what the daemon knew then; an older record without them is decided from what its decision shows
 * (caller, DID, time, attestation, name) with no history, which says little about reputation or velocity:
 * such calls are counted apart ('partial').
 */
import type { Decision, Verdict } from '../domain/decision';
import { readDecisionInputs } from '../domain/decision-inputs';
import type { PhoneNumber } from '../domain/phone-number';
import type { RuleSet } from '../domain/rule-set';
import { decideCall, normaliseCall, regionOfCall, type CallFacts } from '../domain/screen-call';
import { resolveSettings, type ScreeningModel } from '../domain/screening-policy';
import type { ScreenedCallRecord } from '../ports/call-log';

/** The settings a replay decides with: the candidate configuration's model and the candidate rules. */
export interface ReplayCandidate {
  model: ScreeningModel;
  rules: RuleSet;
}

export type ReplayedCall =
  | {
      kind: 'full' | 'partial';
      before: Verdict;
      after: Decision;
      /**
       * scored now without the history a decision needs: Redis was not asked then (a rule decided, or the
       * caller had no number), and no rule decides now
       */
      withoutHistory?: boolean;
    }
  | { kind: 'skipped'; problem: string };

/** Decide `record`'s call again with `candidate`. Never throws for a record's content: 'skipped' says why. */
export function replayCall(record: ScreenedCallRecord, candidate: ReplayCandidate): ReplayedCall {
  const before = record.decision.verdict;
  const at = new Date(record.decision.at);
  if (Number.isNaN(at.getTime()))
    return { kind: 'skipped', problem: `decision.at "${record.decision.at}" is not a time` };
  if (record.inputs === undefined) {
    const facts = factsFromDecision(record, at);
    return { kind: 'partial', before, after: decide(facts, record.decision.caller, candidate, {}) };
  }
  const read = readDecisionInputs(record.inputs);
  if ('problem' in read) return { kind: 'skipped', problem: read.problem };
  const { facts, history, lookups } = read.inputs;
  const inputs = { ...(history ? { history } : {}), ...(lookups ? { lookups } : {}) };
  const after = decide({ ...facts, at }, record.decision.caller, candidate, inputs);
  const scored = !after.reasons.some((r) => r.code === 'rule.allow' || r.code === 'rule.deny');
  return { kind: 'full', before, after, ...(history === undefined && scored ? { withoutHistory: true } : {}) };
}

function decide(
  facts: CallFacts,
  logged: PhoneNumber,
  candidate: ReplayCandidate,
  inputs: Omit<Parameters<typeof decideCall>[1], 'rules'>,
): Decision {
  const { model, rules } = candidate;
  const region = regionOfCall(facts, model);
  // a caller that arrived in E.164 reads the same in every region: the logged normalisation stands (parsing a
  // number is most of a decision's time, and a replay decides a million of them)
  const caller =
    logged.kind === 'e164' && logged.raw === facts.callerNumber && logged.raw.startsWith('+') ? logged : undefined;
  const call = caller ? normaliseCall(facts, region, undefined, caller) : normaliseCall(facts, region);
  return decideCall(call, { rules, ...inputs }, resolveSettings(model, call.did, call.at));
}

/** What an old record's decision shows of the call it decided. */
function factsFromDecision(record: ScreenedCallRecord, at: Date): CallFacts {
  const d = record.decision;
  return {
    callerNumber: d.caller.raw,
    did: d.did.raw,
    at,
    // the verstat's own text when the attestation came from it, else the attestation as handed over
    ...(d.verstat !== undefined
      ? { verstat: d.verstat }
      : d.attestation !== undefined
        ? { attestation: d.attestation }
        : {}),
    ...(record.callerName !== undefined ? { callerName: record.callerName } : {}),
  };
}
