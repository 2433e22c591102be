/**
 * What the screening did to one call, as the accuracy figures count it. Pure.
 *
 * "Kept from the agents": the call did not reach them because of the screening: voicemail, reject, or a
 * challenge whose CAPTCHA did not let the caller through (failed, or the caller hung up during it). A
 * challenge that was passed, or that failed open (timeout, abandoned, error, or no CAPTCHA ran because
 * the daemon was shutting down) reached the agents. A shadow-mode call (verdict allow, shadowVerdict
 * set) reached them too: shadow mode lets every call through; the shadow report says what it would
 * have done. This is the decision's intent: a call whose route failed (the dialplan's fallback took
 * it) is counted by its verdict all the same.
 */
import type { Reason, Verdict } from '../domain/decision';
import type { ScreenedCallRecord } from '../ports/call-log';

export interface CallHandling {
  verdict: Verdict;
  /** the verdict shadow mode would have given (absent: not a shadow call as the record tells) */
  shadowVerdict?: Verdict;
  keptFromAgents: boolean;
}

export function callHandling(record: Pick<ScreenedCallRecord, 'decision' | 'captcha'>): CallHandling {
  const { verdict, shadowVerdict } = record.decision;
  const outcome = record.captcha?.outcome;
  const keptFromAgents =
    verdict === 'voicemail' ||
    verdict === 'reject' ||
    (verdict === 'challenge' && (outcome === 'failed' || outcome === 'hangup'));
  return { verdict, ...(shadowVerdict !== undefined ? { shadowVerdict } : {}), keptFromAgents };
}

/** which way a signal pushed the call: towards spam (it added points) or towards good (it took some off) */
export type SignalDirection = 'spam' | 'good';

export interface FiredSignal {
  code: string;
  direction: SignalDirection;
}

/**
 * The signals that fired on a call: every reason that moved the score, and the decisive rules
 * (rule.deny, rule.allow carry no points). Each code and direction once per call.
 */
export function firedSignals(reasons: readonly Reason[]): FiredSignal[] {
  const seen = new Map<string, FiredSignal>();
  for (const r of reasons) {
    let direction: SignalDirection | undefined;
    if (r.code === 'rule.deny') direction = 'spam';
    else if (r.code === 'rule.allow') direction = 'good';
    else if (typeof r.points === 'number' && r.points !== 0) direction = r.points > 0 ? 'spam' : 'good';
    if (!direction) continue;
    const key = signalKey(r.code, direction);
    if (!seen.has(key)) seen.set(key, { code: r.code, direction });
  }
  return [...seen.values()];
}

/** "velocity.number" for a signal that adds points, "attestation (towards good)" for one that takes them off */
export function signalKey(code: string, direction: SignalDirection): string {
  return direction === 'spam' ? code : `${code} (towards good)`;
}
