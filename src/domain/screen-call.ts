/**
 * screenCall: the whole decision for one inbound call, from plain inputs. Pure: no I/O, no clock.
 * Precedence: allow list, then deny list, then the reputation list, then the caller-ID policies.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Decision, Reason, Verdict } from './decision';
import { normalisePhoneNumber, type PhoneNumber } from './phone-number';
import type { ReputationLookup } from './reputation';
import type { Rule, RuleSet } from './rule-set';

export interface ScreeningPolicy {
  defaultRegion: CountryCode;
  /** a listed number with a score at or above this is spam */
  reputationThreshold: number;
  /** what happens to a withheld / anonymous caller ID */
  withheldCaller: Verdict;
  /** what happens to a caller ID that is not a phone number at all */
  unparseableCaller: Verdict;
  /** where screened-out calls go */
  spamVerdict: Verdict;
}

export interface CallFacts {
  callerNumber: string;
  did: string;
}

export interface ScreeningInputs {
  rules: RuleSet;
  /** the reputation lookup for the caller; 'unlisted' when the caller has no E.164 number */
  reputation: ReputationLookup;
}

/** The caller and the called number, normalised once per call. */
export interface NormalisedCall {
  caller: PhoneNumber;
  did: PhoneNumber;
}

export function normaliseCall(facts: CallFacts, policy: Pick<ScreeningPolicy, 'defaultRegion'>): NormalisedCall {
  return { caller: normalisePhoneNumber(facts.callerNumber, policy.defaultRegion), did: normalisePhoneNumber(facts.did, policy.defaultRegion) };
}

/** Screen a call from its raw facts. */
export function screenCall(facts: CallFacts, inputs: ScreeningInputs, policy: ScreeningPolicy): Decision {
  return decideCall(normaliseCall(facts, policy), inputs, policy);
}

/** Screen a call whose numbers are already normalised (the live path needs the caller for its lookup first). */
export function decideCall({ caller, did }: NormalisedCall, inputs: ScreeningInputs, policy: ScreeningPolicy): Decision {
  const reasons: Reason[] = [];
  const degraded = inputs.reputation.status === 'unavailable';
  const decide = (verdict: Verdict): Decision => ({ verdict, reasons, degraded, caller, did });
  if (inputs.reputation.status === 'unavailable') {
    reasons.push({ code: 'reputation.unavailable', text: `reputation list not consulted: ${inputs.reputation.reason}` });
  }

  if (caller.kind === 'withheld') {
    reasons.push({ code: 'caller.withheld', text: caller.raw.trim() === '' ? 'no caller ID' : `caller ID withheld ("${caller.raw}")` });
    return decide(policy.withheldCaller);
  }
  if (caller.kind === 'unparseable') {
    reasons.push({ code: 'caller.unparseable', text: `caller ID ${JSON.stringify(caller.raw)} is not a phone number: ${caller.reason}` });
    return decide(policy.unparseableCaller);
  }

  const rule = inputs.rules.match(caller.e164);
  if (rule) {
    reasons.unshift(ruleReason(rule, caller));
    return decide(rule.list === 'allow' ? 'allow' : policy.spamVerdict);
  }

  const rep = inputs.reputation;
  if (rep.status === 'listed') {
    const { score, reports, category, source } = rep.entry;
    const what = `score ${score}${reports ? `, ${reports} reports` : ''}${category ? `, ${category}` : ''}${source ? ` (source ${source})` : ''}`;
    if (score >= policy.reputationThreshold) {
      reasons.push({ code: 'reputation.listed', text: `on the reputation list: ${what}, at or above ${policy.reputationThreshold}`, value: score });
      return decide(policy.spamVerdict);
    }
    reasons.push({ code: 'reputation.below-threshold', text: `on the reputation list below ${policy.reputationThreshold}: ${what}`, value: score });
  } else if (rep.status === 'unlisted') {
    reasons.push({ code: 'reputation.unlisted', text: 'not on the reputation list' });
  }
  if (!caller.valid) reasons.push({ code: 'caller.invalid', text: `${caller.e164} is not a valid number in its numbering plan` });
  reasons.push({ code: 'no-match', text: 'no rule or signal against the caller' });
  return decide('allow');
}

function ruleReason(rule: Rule, caller: PhoneNumber & { kind: 'e164' }): Reason {
  const where = `${rule.source.file}:${rule.source.line}`;
  const label = rule.label ? ` (${rule.label})` : '';
  const how = rule.match.kind === 'exact' ? caller.e164 : `${caller.e164} matches ${rule.written}`;
  return {
    code: rule.list === 'allow' ? 'rule.allow' : 'rule.deny',
    text: `${how} ${rule.list === 'allow' ? 'allowed' : 'denied'} by ${where}${label}`,
    rule: { list: rule.list, written: rule.written, source: rule.source, ...(rule.label !== undefined ? { label: rule.label } : {}) },
  };
}
