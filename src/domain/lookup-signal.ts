/**
 * Online lookups as the core scores them: one reason (code 'lookup') per provider consulted for the
 * call, naming the provider and what it said ("tellows: score 0.8, 12 reports, telemarketer"), with
 * round(weight x score) points for an answer; an unknown number, a late or failed provider explains and
 * scores nothing. And who is never looked up (lookupExemption): a caller the history shows is a person.
 * Pure: no I/O.
 */
import type { CallerHistory } from './caller-history';
import type { Reason } from './decision';
import type { LookupAnswer } from './lookup-answer';
import type { ScreeningSettings } from './screening-policy';
import { knownCustomerSignal } from './signals';

const DAY_MS = 86_400_000;

/** The reasons the providers' answers give, in the order given. */
export function lookupSignals(answers: readonly LookupAnswer[] | undefined): Reason[] {
  return (answers ?? []).map(lookupReason);
}

export function lookupReason(answer: LookupAnswer): Reason {
  const cached = answer.cached ? ' (cached)' : '';
  switch (answer.status) {
    case 'answered': {
      const score = clamp01(answer.score ?? 0);
      const facts = [
        `score ${Math.round(score * 100) / 100}`,
        answer.reports !== undefined ? `${answer.reports} report${answer.reports === 1 ? '' : 's'}` : undefined,
        answer.category,
        answer.name !== undefined ? `"${answer.name}"` : undefined,
      ].filter((f): f is string => f !== undefined && f !== '');
      return {
        code: 'lookup',
        text: `${answer.provider}: ${facts.join(', ')}${cached}`,
        points: Math.round(answer.weight * score),
        value: Math.round(score * 100) / 100,
      };
    }
    case 'unknown':
      return { code: 'lookup', text: `${answer.provider}: number not known${cached}`, points: 0 };
    case 'late':
      return {
        code: 'lookup',
        text: `${answer.provider}: ${answer.detail ?? 'no answer in time'}; late: counts for the next call`,
      };
    case 'failed':
      return { code: 'lookup', text: `${answer.provider}: not consulted: ${answer.detail ?? 'failed'}${cached}` };
  }
}

/**
 * Why this caller is not looked up, or undefined when it may be: the history shows a person (the
 * CAPTCHA passed within captcha.trustDays and not failed since; the agents' last verdict was "not
 * spam"; the business called the number within knownCustomer.days), or there is no history to tell
 * (Redis not consulted: no trust known, no cache). Allow-listed callers never get this far (a rule
 * decides before).
 */
export function lookupExemption(
  history: CallerHistory | undefined,
  at: number,
  settings: ScreeningSettings,
): string | undefined {
  if (!history) return 'no call history (Redis not consulted)';
  const { captcha } = history;
  const trustDays = settings.signals.captcha.trustDays;
  const failedSince =
    captcha.lastFailedAt !== undefined &&
    (captcha.lastPassedAt === undefined || captcha.lastFailedAt > captcha.lastPassedAt);
  if (captcha.lastPassedAt !== undefined && !failedSince && at - captcha.lastPassedAt <= trustDays * DAY_MS)
    return 'passed the CAPTCHA recently';
  const feedback = history.reputation.feedback;
  if (feedback?.last === 'ok' && feedback.ok > 0) return 'agents said not spam';
  if (knownCustomerSignal(history, at, settings)) return 'a known customer (called by us)';
  return undefined;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
