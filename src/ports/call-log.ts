import type { Decision } from '../domain/decision';
import type { DecisionInputs } from '../domain/decision-inputs';
import type { HourTally } from '../domain/call-counts';

/**
 * How a challenged call's CAPTCHA ended: passed / failed (wrong code or silence) / hangup (the caller
 * hung up first) / timeout (the watchdog, captcha.maxDurationMs) / abandoned (the daemon shut down) /
 * error (a fault in the IVR). The last three send the call to the agents (fail open).
 */
export const CAPTCHA_OUTCOMES = ['passed', 'failed', 'hangup', 'timeout', 'abandoned', 'error'] as const;
export type CaptchaOutcome = (typeof CAPTCHA_OUTCOMES)[number];

/** One screened call as the log keeps it: the decision with its reasons, and what happened next. */
export interface ScreenedCallRecord {
  callId: string;
  /** ISO time the call entered screening */
  at: string;
  channel: string;
  /** the caller ID name the call arrived with (absent when it had none) */
  callerName?: string;
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
  /** what the decision was made from (absent in records written before callscreen kept them): `callscreen replay` */
  inputs?: DecisionInputs;
}

/** The screened-call log (a bounded Redis stream). */
export interface CallLog {
  /**
   * Resolves once the record is in the log. The same record (callId and at) may be appended again, by
   * a writer that retries after a lost answer or replays what it kept during an outage: the log keeps
   * it once (the Redis log for an hour; see WRITTEN_WINDOW_MS in adapters/redis/redis-call-log.ts).
   */
  append(record: ScreenedCallRecord): Promise<unknown>;
  /** newest first */
  recent(count: number): Promise<ScreenedCallRecord[]>;
}

/** One entry of the log as read back: the stream id (its millisecond part is when it was appended) and the record. */
export interface LoggedCall {
  id: string;
  record: ScreenedCallRecord;
}

/** Reading the log back (the `callscreen log` command): by time range, and new entries as they come. */
export interface CallLogReader {
  /** entries in the range, oldest first, read in batches (never the whole log at once) */
  entries(range: IdRange, options?: ReadOptions): AsyncGenerator<LoggedCall>;
  /** the same, newest first */
  entriesNewestFirst(range: IdRange, options?: ReadOptions): AsyncGenerator<LoggedCall>;
  /**
   * entries after `afterId`, waiting up to blockMs for the first one (none when none came); lastId is
   * where to read on from (past unreadable entries too), afterId when nothing came
   */
  readAfter(
    afterId: string,
    blockMs: number,
    count?: number,
    options?: Pick<ReadOptions, 'onUnreadable'>,
  ): Promise<{ calls: LoggedCall[]; lastId: string }>;
  /** the id of the newest entry, '0-0' when the log is empty */
  lastId(): Promise<string>;
  /**
   * the per-hour counts kept as calls are logged (src/domain/call-counts.ts), oldest first; absent: the log
   * keeps none (a summary then reads the entries)
   */
  hourTallies?(firstHour: number, hours: number): Promise<HourTally[]>;
  /**
   * the hour (epoch ms / HOUR_MS, by the append clock of the stream ids) counting began in; it and the hours
   * before are read from the entries
   */
  countedSince?(): Promise<number | undefined>;
}

/**
 * Inclusive bounds as stream ids: '1700000000000' (a millisecond: from its first / through its last
 * entry) or a full id '1700000000000-3'. The ms part is the append time, so a time range is cheap.
 */
export interface IdRange {
  start: string;
  end: string;
}

export interface ReadOptions {
  /** entries per round trip (default 1000) */
  batchSize?: number;
  /**
   * an entry that is not a call record as the daemon writes it (no record field, not JSON, a field
   * missing or of the wrong type, too large): skipped, never an error of the read, and reported here
   * with what is wrong with it
   */
  onUnreadable?: (id: string, problem: string) => void;
}
