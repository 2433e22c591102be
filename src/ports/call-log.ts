import type { Decision } from '../domain/decision';

/** One screened call as the log keeps it: the decision with its reasons, and what happened next. */
export interface ScreenedCallRecord {
  callId: string;
  /** ISO time the call entered screening */
  at: string;
  channel: string;
  decision: Decision;
  /** the dialplan target the call was sent on to ('agents', 'voicemail'), or 'none' if routing failed */
  routedTo: string;
  /** ms from StasisStart to the decision */
  decisionMs: number;
  /** ms the one Redis round trip took (absent when the decision needed none) */
  historyMs?: number;
  /** ms from StasisStart to Asterisk accepting the route */
  routeMs?: number;
  /** set when routing failed (the dialplan's fallback then takes the call) */
  routeError?: string;
  /** which daemon screened it */
  host: string;
}

/** The screened-call log (a bounded Redis stream). */
export interface CallLog {
  append(record: ScreenedCallRecord): Promise<void>;
  /** newest first */
  recent(count: number): Promise<ScreenedCallRecord[]>;
}
