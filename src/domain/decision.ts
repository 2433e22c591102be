/**
 * A screening decision: the verdict and every reason that led to it. The same value feeds the log
 * line, the screened-call log in Redis, the CLI and the review page, so all of them explain a call
 * the same way.
 */
import type { PhoneNumber } from './phone-number';
import type { RuleList, RuleSource } from './rule-set';

export const VERDICTS = ['allow', 'challenge', 'voicemail', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

export type ReasonCode =
  | 'rule.allow'
  | 'rule.deny'
  | 'reputation.listed'
  | 'reputation.below-threshold'
  | 'reputation.unlisted'
  | 'reputation.unavailable'
  | 'caller.withheld'
  | 'caller.unparseable'
  | 'caller.invalid'
  | 'no-match';

export interface Reason {
  code: ReasonCode;
  /** one sentence for a person */
  text: string;
  /** the rule that matched, with where it is written */
  rule?: { list: RuleList; written: string; label?: string; source: RuleSource };
  /** a signal's value, e.g. the reputation score */
  value?: number;
}

export interface Decision {
  verdict: Verdict;
  reasons: Reason[];
  /** true when a signal could not be read (Redis down or slow) and the verdict rests on what was local */
  degraded: boolean;
  caller: PhoneNumber;
  did: PhoneNumber;
}

/** "rule.deny: +18336317911 denied by rules.yaml:12 (Known robocaller)" joined with "; " */
export function explainDecision(decision: Decision): string {
  return decision.reasons.map((r) => `${r.code}: ${r.text}`).join('; ');
}
