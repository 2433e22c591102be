/**
 * What Redis knows about a caller that one decision needs: the reputation entries, how often the number
 * and its number block called recently, its CAPTCHA history and whether it called this DID a moment
 * ago. Fetched in one round trip (src/adapters/redis/redis-caller-history-store.ts); read by the pure
 * core (src/domain/screen-call.ts). Times are epoch milliseconds.
 */
import type { ReputationView } from './reputation';

/** Calls counted in one sliding window ending at the call's time. */
export interface WindowCount {
  windowSeconds: number;
  /** calls in (at - windowSeconds, at], the call being screened included */
  calls: number;
}

export interface CaptchaHistory {
  /** last time this number passed the CAPTCHA */
  lastPassedAt?: number;
  /** last time it failed (wrong digits or silence) */
  lastFailedAt?: number;
  /** failures since it last passed */
  failures: number;
}

export interface CallerHistory {
  /** what every reputation source and the agents' feedback say about the number (no entries: not listed) */
  reputation: ReputationView;
  /** calls from this number, one count per configured window, in the query's order */
  numberCalls: WindowCount[];
  /** calls from this number's block (the number without its last blockDigits digits) */
  blockCalls: WindowCount[];
  captcha: CaptchaHistory;
  /** the previous call from this number to this DID, if one is remembered (not the call being screened) */
  previousCallToDidAt?: number;
}

/** The outcome of the one round trip as the core sees it. */
export type HistoryLookup = { status: 'found'; history: CallerHistory } | { status: 'unavailable'; reason: string };

export const EMPTY_CAPTCHA_HISTORY: CaptchaHistory = Object.freeze({ failures: 0 });
