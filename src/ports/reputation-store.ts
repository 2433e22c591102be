import type { ReputationView } from '../domain/reputation';

/** One number's entry for a live source (entries an admin adds one by one). */
export interface LiveReputationEntry {
  e164: string;
  /** 0..1 */
  score: number;
  reports?: number;
  category?: string;
  /** epoch ms; default now */
  at?: number;
}

/**
 * The reputation list: what every source says about a caller number. Implemented on Redis
 * (src/adapters/redis/redis-reputation-store.ts); feeds are imported whole (src/cli/import-command.ts),
 * agents' verdicts go through the feedback store.
 */
export interface ReputationStore {
  /** every source's entry for an E.164 number and the agents' feedback; rejects when the store cannot answer */
  lookup(e164: string): Promise<ReputationView>;
  /** add or replace entries of a live source (created when missing); returns how many were written */
  put(source: string, entries: readonly LiveReputationEntry[]): Promise<number>;
}
