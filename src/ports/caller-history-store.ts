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
  /** how long the last call per number and DID is remembered (repeat caller), seconds */
  repeatWithinSeconds: number;
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
}
