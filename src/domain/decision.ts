/**
 * A screening decision: the verdict, the score and every reason that led to it, each with the points
 * it added. The same value feeds the log line, the screened-call log in Redis, `callscreen check` and
 * the review page, so all of them explain a call the same way.
 */
import type { PhoneNumber } from './phone-number';
import type { RuleList, RuleSource } from './rule-set';

/** From mildest to harshest. */
export const VERDICTS = ['allow', 'challenge', 'voicemail', 'reject'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const verdictRank = (v: Verdict): number => VERDICTS.indexOf(v);

/** The points of some reasons together, to a tenth: a decision's score is that of all its reasons. */
export function sumOfPoints(reasons: readonly Reason[]): number {
  return Math.round(reasons.reduce((sum, r) => sum + (r.points ?? 0), 0) * 10) / 10;
}

export type ReasonCode =
  | 'rule.allow'
  | 'rule.deny'
  | 'rule.name'
  | 'reputation.listed'
  | 'feedback.ok'
  | 'feedback.spam'
  | 'reputation.unlisted'
  | 'reputation.block'
  | 'lookup'
  | 'history.unavailable'
  | 'caller.withheld'
  | 'caller.unparseable'
  | 'caller.invalid'
  | 'caller.impossible'
  | 'caller.number-type'
  | 'caller.foreign-country'
  | 'caller.identity-mismatch'
  | 'caller.forwarded'
  | 'known-customer'
  | 'attestation'
  | 'velocity.number'
  | 'velocity.block'
  | 'velocity.dids'
  | 'neighbour-spoofing'
  | 'captcha.passed'
  | 'captcha.failed'
  | 'repeat-caller'
  | 'score'
  | 'score.capped'
  | 'policy'
  | 'policy.verdict'
  | 'policy.shadow';

export interface Reason {
  code: ReasonCode;
  /** one sentence for a person */
  text: string;
  /** what this reason added to the score (absent: it explains, it does not score) */
  points?: number;
  /** the rule that matched, with where it is written */
  rule?: { list: RuleList; written: string; label?: string; source: RuleSource };
  /** the signal's raw value, e.g. the listed reputation score or a call count */
  value?: number;
}

export interface Decision {
  /** what happens to the call */
  verdict: Verdict;
  /** sum of the reasons' points */
  score: number;
  /** every reason: rules, signals with their points, the threshold reached, the policies applied */
  reasons: Reason[];
  /** true when Redis could not answer in time: the verdict rests on what was local (rules, the number itself) */
  degraded: boolean;
  /** names of the policies that applied, in order */
  policies: string[];
  /** shadow mode: the verdict the call would have had (it was let through) */
  shadowVerdict?: Verdict;
  caller: PhoneNumber;
  did: PhoneNumber;
  /** STIR/SHAKEN attestation as handed over by the dialplan, or as the carrier's verstat means it */
  attestation?: string;
  /** the carrier's verstat (TN-Validation-Passed, ...), when the attestation comes from it */
  verstat?: string;
  /** the call's time the decision was taken for (ISO) */
  at: string;
}

/** "rule.deny: +18336317911 denied by rules.yaml:12 (Known robocaller)" joined with "; " */
export function explainDecision(decision: Decision): string {
  return decision.reasons
    .map((r) => `${r.code}${r.points !== undefined ? ` ${formatPoints(r.points)}` : ''}: ${r.text}`)
    .join('; ');
}

export function formatPoints(points: number): string {
  return points > 0 ? `+${points}` : String(points);
}

/** The reasons that moved the score, largest first (for one-line summaries and tables). */
export function topReasons(decision: Decision, count = 3): Reason[] {
  const decisive = decision.reasons.filter((r) => r.code === 'rule.allow' || r.code === 'rule.deny');
  const scored = decision.reasons
    .filter((r) => r.points !== undefined && r.points !== 0)
    .sort((a, b) => Math.abs(b.points ?? 0) - Math.abs(a.points ?? 0));
  return [...decisive, ...scored].slice(0, count);
}
