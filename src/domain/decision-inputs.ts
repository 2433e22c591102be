/**
 * Everything one decision was made from, kept with the screened-call record so the call can be decided
 * again later under other settings (`callscreen replay`): the call's facts as they arrived and what Redis
 * and the lookup providers answered in that moment. Pure types and their check; the decision itself is
 * src/domain/screen-call.ts.
 */
import type { HistoryLookup } from './caller-history';
import type { LookupAnswer } from './lookup-answer';
import type { CallFacts } from './screen-call';

/** The inputs as kept: the facts without their time (the record's decision.at is the call's time). */
export interface DecisionInputs {
  /** the format: a replay refuses inputs of a version it does not know */
  v: 1;
  facts: Omit<CallFacts, 'at'>;
  /** what Redis answered (absent: not asked, e.g. a rule decided, or the caller had no number) */
  history?: HistoryLookup;
  /** what the online lookup providers answered (absent: none consulted) */
  lookups?: readonly LookupAnswer[];
}

export const DECISION_INPUTS_VERSION = 1;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalText = (v: unknown): boolean => v === undefined || typeof v === 'string';

/**
 * Kept inputs as read back from the log, or why they cannot be replayed (another version, a shape this code
 * does not write). Checks what the decision reads without a guard; the history's inner fields are the
 * store's own output and are read defensively by the signals.
 */
export function readDecisionInputs(value: unknown): { inputs: DecisionInputs } | { problem: string } {
  if (!isObject(value)) return { problem: 'inputs are not an object' };
  if (value.v !== DECISION_INPUTS_VERSION) return { problem: `inputs version ${String(value.v)} is not known` };
  const facts = value.facts;
  if (!isObject(facts)) return { problem: 'inputs.facts is missing' };
  if (typeof facts.callerNumber !== 'string' || typeof facts.did !== 'string')
    return { problem: 'inputs.facts has no caller number or DID' };
  for (const field of ['attestation', 'verstat', 'fromNumber', 'forwardedBy', 'region', 'callerName'])
    if (!optionalText(facts[field])) return { problem: `inputs.facts.${field} is not text` };
  const history = value.history;
  if (history !== undefined) {
    if (!isObject(history)) return { problem: 'inputs.history is not an object' };
    if (history.status === 'found') {
      const h = history.history;
      if (
        !isObject(h) ||
        !isObject(h.reputation) ||
        !Array.isArray(h.reputation.entries) ||
        !Array.isArray(h.numberCalls) ||
        !Array.isArray(h.blockCalls) ||
        !isObject(h.captcha)
      )
        return { problem: 'inputs.history is not a caller history' };
    } else if (history.status !== 'unavailable') return { problem: 'inputs.history has no status' };
  }
  if (value.lookups !== undefined && !Array.isArray(value.lookups)) return { problem: 'inputs.lookups is not a list' };
  return { inputs: value as unknown as DecisionInputs };
}
