import type { Decision } from '../domain/decision';

/**
 * How a challenged call's CAPTCHA ended: passed / failed (wrong code or silence) / hangup (the caller
 * hung up first) / timeout (the watchdog, captcha.maxDurationMs) / abandoned (the daemon shut down) /
 * error (a fault in the IVR). The last three send the call to the agents (fail open).
 */
export type CaptchaOutcome = 'passed' | 'failed' | 'hangup' | 'timeout' | 'abandoned' | 'error';

/** One screened call as the log keeps it: the decision with its reasons, and what happened next. */
export interface ScreenedCallRecord {
  callId: string;
  /** ISO time the call entered screening */
  at: string;
  channel: string;
  decision: Decision;
  /**
   * where the call went: 'agents', 'voicemail', 'hangup' (reject treatment hangup), 'announcement'
   * (reject treatment announcement, then hung up), or 'none' (routing failed or the caller hung up first)
   */
  routedTo: string;
  /** ms from StasisStart to the decision */
  decisionMs: number;
  /** ms the one Redis round trip took (absent when the decision needed none) */
  historyMs?: number;
  /** ms from StasisStart to Asterisk accepting the route */
  routeMs?: number;
  /** set when routing failed (the dialplan's fallback then takes the call) */
  routeError?: string;
  /** a challenged call's CAPTCHA: outcome, attempts started, ms from answer to outcome */
  captcha?: { outcome: CaptchaOutcome; attempts: number; ms: number; failure?: 'wrong' | 'silence' };
  /** which daemon screened it */
  host: string;
}

/** The screened-call log (a bounded Redis stream). */
export interface CallLog {
  append(record: ScreenedCallRecord): Promise<void>;
  /** newest first */
  recent(count: number): Promise<ScreenedCallRecord[]>;
}
