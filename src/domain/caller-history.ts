/**
 * What Redis knows about a caller that one decision needs: the reputation entries and what the sources
 * list of its number block, how often the number and its block called recently and how many of the
 * company's DIDs it called, its CAPTCHA history, and whether it called this DID a moment ago (and
 * reached a person then). Fetched in one round trip (src/adapters/redis/redis-caller-history-store.ts); read by the pure
 * core (src/domain/screen-call.ts). Times are epoch milliseconds.
 */
import type { ReputationView } from './reputation';
import type { BlockCount } from './reputation-entry';

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
  /**
   * the last time a call from this number to this DID reached a person (continued to the agents, or
   * passed the CAPTCHA), if one is remembered within the repeat caller's window
   */
  reachedHumanAt?: number;
  /** distinct DIDs this number called within the DID-spread window, this call's included; absent: not counted */
  didsCalled?: number;
  /** what the reputation sources list of the caller's number block; absent: not read */
  block?: BlockListing;
  /** the last answered call the business placed to this number (a known customer), if one is remembered */
  calledByUsAt?: number;
}

/** One source's count of listed numbers in a number block. */
export interface SourceBlockCount extends BlockCount {
  source: string;
}

/** The listed numbers of the caller's number block, per source that counts blocks of this size. */
export interface BlockListing {
  /** the block is the number without its last blockDigits digits */
  blockDigits: number;
  /** sources with at least one listed number in the block */
  counts: SourceBlockCount[];
}

/** The outcome of the one round trip as the core sees it. */
export type HistoryLookup = { status: 'found'; history: CallerHistory } | { status: 'unavailable'; reason: string };

export const EMPTY_CAPTCHA_HISTORY: CaptchaHistory = Object.freeze({ failures: 0 });
