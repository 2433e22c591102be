/**
 * Where the AstDB blacklist sync gets the reputation entries worth copying: the best candidates of every
 * source, faded as the reputation signal fades them. Implemented on Redis by
 * src/adapters/redis/redis-reputation-candidates.ts.
 */
import type { ReputationCandidate } from '../domain/reputation';

export interface ReputationCandidateQuery {
  /** faded score at least this */
  minScore: number;
  /** keep at most this many (the best) */
  limit: number;
  now: number;
  halfLifeDays?: number;
}

export interface ReputationCandidateSource {
  /** the best candidates, best first; rejects when the list cannot be read (the sync then changes nothing) */
  candidates(query: ReputationCandidateQuery): Promise<ReputationCandidate[]>;
}
