import type { CallerHistory } from '../domain/caller-history';

export interface CallerHistoryQuery {
  /** the caller, E.164 */
  e164: string;
  /** the called number as screening knows it (E.164 when it has one, else as dialled) */
  did: string;
  /** the call's time, epoch ms; every window ends here */
  at: number;
  /** unique per call (the channel id); a call is counted once however often it is fetched */
  callId: string;
  /** sliding windows for calls from the number, seconds */
  numberWindowsSeconds: readonly number[];
  /** sliding windows for calls from the number's block, seconds */
  blockWindowsSeconds: readonly number[];
  /** the block is the E.164 number without its last blockDigits digits */
  blockDigits: number;
  /** how long the last call per number and DID, and the last one that reached a person, are remembered (repeat caller), seconds */
  repeatWithinSeconds: number;
  /** distinct DIDs called by the number are counted over this window, seconds (0: not counted) */
  didWindowSeconds: number;
  /** block reputation: the block size whose listed numbers the sources count (0: not read) */
  blockReputationDigits: number;
  /**
   * true for a live call: the call is added to the windows and remembered as the last call to the DID.
   * false for `callscreen check`: nothing is written and the counts include the call as if it had been.
   */
  record: boolean;
}

/**
 * Everything a decision reads from Redis, in one round trip. Implemented on Redis with one Lua
 * script (src/adapters/redis/redis-caller-history-store.ts).
 */
export interface CallerHistoryStore {
  /** one round trip; rejects when the store cannot answer */
  fetch(query: CallerHistoryQuery): Promise<CallerHistory>;
  /** remember a CAPTCHA outcome for the number (written by the IVR) */
  recordCaptchaOutcome(e164: string, outcome: 'passed' | 'failed', at: number): Promise<void>;
  /**
   * remember that a call from the number to the DID (as in CallerHistoryQuery.did) reached a person at
   * `at` (epoch ms): it went on to the agents, or the caller passed the CAPTCHA. The next call to that DID
   * within the repeat caller's window gets its points (CallerHistory.reachedHumanAt). Written after
   * routing, off the call path.
   */
  recordReachedHuman(e164: string, did: string, at: number): Promise<void>;
  /**
   * Remembers that the business called the number at `at` (an answered outbound call) for `keepMs`: the
   * next fetch returns it as calledByUsAt. A later call wins; the memory never gets shorter.
   */
  recordCalledByUs(e164: string, at: number, keepMs: number): Promise<void>;
}
