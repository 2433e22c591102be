import type { ReputationEntry } from '../domain/reputation';

/**
 * The reputation list: what is known about a caller number. Implemented on Redis
 * (src/adapters/redis/redis-reputation-store.ts).
 */
export interface ReputationStore {
  /** the entry for an E.164 number, or null when it is not listed; rejects when the store cannot answer */
  lookup(e164: string): Promise<ReputationEntry | null>;
  /** add or replace entries; returns how many were written */
  put(entries: ReadonlyArray<{ e164: string; entry: ReputationEntry }>): Promise<number>;
}
