/**
 * Agents' verdicts on numbers ("spam" / "ok"): what `callscreen report`, the HTTP feedback route and the
 * managed allow list need of the store. Implemented on Redis by src/adapters/redis/redis-feedback-store.ts.
 */
import type { FeedbackEntry, FeedbackVerdict } from '../domain/reputation-entry';

export interface FeedbackReport {
  /** E.164 */
  e164: string;
  verdict: FeedbackVerdict;
  note?: string | undefined;
  agent?: string | undefined;
  /** epoch ms */
  at: number;
  /** the host the report came from (machine name for the CLI, client address for HTTP) */
  host: string;
}

/** One audit stream entry. */
export interface FeedbackAuditEntry {
  /** the stream entry id */
  id: string;
  e164: string;
  verdict: FeedbackVerdict;
  note: string;
  agent: string;
  host: string;
  at: number;
}

export interface FeedbackStore {
  report(report: FeedbackReport): Promise<FeedbackEntry>;
  lookup(e164: string): Promise<FeedbackEntry | null>;
  history(e164: string, limit: number): Promise<FeedbackAuditEntry[]>;
}

/**
 * Reading the whole audit stream back by time (the accuracy and shadow reports): every agent's verdict
 * in a range, oldest first, in batches, so a reader never holds the stream at once.
 */
export interface FeedbackAuditReader {
  /**
   * entries appended from fromMs through toMs (ms since the epoch, both inclusive; toMs absent: up to
   * the newest), oldest first; an entry that is not a verdict (no number, another verdict) is skipped
   */
  auditEntries(range: { fromMs: number; toMs?: number }, batchSize?: number): AsyncGenerator<FeedbackAuditEntry>;
}
