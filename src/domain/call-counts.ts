/**
 * What a screened call adds to the per-hour counts the console's summary is made of: its verdict, its
 * CAPTCHA outcome, and its caller when the call was spam. One definition for the counters the daemon keeps
 * in Redis as it logs (src/adapters/redis/redis-call-log.ts) and for a count made by reading the log.
 */
import type { Decision, ReasonCode, Verdict } from './decision';

export const HOUR_MS = 3_600_000;

/** reasons that mark a call as spam whatever its verdict (shadow mode lets such calls through) */
const SPAM_REASONS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'rule.deny',
  'reputation.listed',
  'feedback.spam',
  'captcha.failed',
]);
const SPAM_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(['voicemail', 'reject']);

export type CaptchaCount = 'passed' | 'failed' | 'other';

export interface CallCount {
  /** the hour the call came in: epoch ms / HOUR_MS, rounded down */
  hour: number;
  verdict: Verdict;
  captcha?: CaptchaCount;
  /** the caller (E.164, or as received), when the call was spam and the caller not withheld */
  spamCaller?: string;
}

/** The call's contribution to the hourly counts; `atMs`: when it came in. */
export function callCountOf(decision: Decision, captchaOutcome: string | undefined, atMs: number): CallCount {
  const spam =
    SPAM_VERDICTS.has(decision.verdict) ||
    (decision.shadowVerdict !== undefined && SPAM_VERDICTS.has(decision.shadowVerdict)) ||
    (decision.reasons ?? []).some((r) => SPAM_REASONS.has(r.code));
  const caller = decision.caller;
  const count: CallCount = { hour: Math.floor(atMs / HOUR_MS), verdict: decision.verdict };
  if (captchaOutcome !== undefined)
    count.captcha = captchaOutcome === 'passed' ? 'passed' : captchaOutcome === 'failed' ? 'failed' : 'other';
  if (spam && caller.kind !== 'withheld') count.spamCaller = caller.kind === 'e164' ? caller.e164 : caller.raw;
  return count;
}

/** One hour's counts as kept: calls per verdict, CAPTCHA outcomes, the spam callers with their calls (the top of them). */
export interface HourTally {
  hour: number;
  verdicts: Record<Verdict, number>;
  captcha: Record<CaptchaCount, number>;
  spamCallers: Array<{ number: string; calls: number }>;
}
