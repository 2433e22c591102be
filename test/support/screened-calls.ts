/**
 * Screened-call records as the daemon writes them, for the accuracy and shadow report tests: a caller,
 * a verdict, the reasons that fired, and optionally a CAPTCHA outcome or a shadow verdict.
 */
import type { Reason, Verdict } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import type { CaptchaOutcome, LoggedCall, ScreenedCallRecord } from '../../src/ports/call-log';

export interface CallSpec {
  caller: string;
  verdict: Verdict;
  /** ms since the epoch */
  at: number;
  did?: string;
  reasons?: Reason[];
  captcha?: CaptchaOutcome;
  shadowVerdict?: Verdict;
  policies?: string[];
}

let seq = 0;

export const reason = (code: Reason['code'], points?: number): Reason => ({
  code,
  text: `${code} fired`,
  ...(points !== undefined ? { points } : {}),
});

export function screenedCall(spec: CallSpec): ScreenedCallRecord {
  seq += 1;
  const at = new Date(spec.at).toISOString();
  const reasons = spec.reasons ?? [];
  const routedTo =
    spec.verdict === 'allow'
      ? 'agents'
      : spec.verdict === 'challenge'
        ? spec.captcha === 'failed'
          ? 'voicemail'
          : spec.captcha === 'hangup'
            ? 'none'
            : 'agents'
        : spec.verdict === 'reject'
          ? 'hangup'
          : 'voicemail';
  return {
    callId: `1765000000.${seq}`,
    at,
    channel: `PJSIP/trunk-${String(seq).padStart(8, '0')}`,
    decision: {
      verdict: spec.verdict,
      score: reasons.reduce((sum, r) => sum + (r.points ?? 0), 0),
      reasons,
      degraded: false,
      policies: spec.policies ?? [],
      caller: normalisePhoneNumber(spec.caller, 'US'),
      did: normalisePhoneNumber(spec.did ?? '+1 212 555 0100', 'US'),
      at,
      ...(spec.shadowVerdict ? { shadowVerdict: spec.shadowVerdict } : {}),
    },
    routedTo,
    decisionMs: 4,
    historyMs: 1,
    host: 'pbx1',
    ...(spec.captcha
      ? {
          captcha: {
            outcome: spec.captcha,
            attempts: 1,
            ms: 9000,
            ...(spec.captcha === 'failed' ? { failure: 'wrong' as const } : {}),
          },
        }
      : {}),
  };
}

/** the record as read back from the log, with a stream id at its time */
export const logged = (spec: CallSpec): LoggedCall => ({ id: `${spec.at}-0`, record: screenedCall(spec) });
