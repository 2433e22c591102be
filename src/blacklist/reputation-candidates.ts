/**
 * The reputation entries worth copying into the AstDB blacklist, read from the Redis reputation hash
 * (`<prefix>reputation`, field E.164 -> JSON entry; see src/adapters/redis/redis-reputation-store.ts).
 *
 * The hash may hold millions of numbers: it is walked with HSCAN in batches (each batch is one short
 * Redis command, and the event loop is free between batches, so calls are screened meanwhile), and only
 * the best `limit` candidates are kept in memory.
 */
import type { RedisClient } from '../adapters/redis/redis-connection';
import { parseReputationEntry } from '../adapters/redis/redis-caller-history-store';
import { compareCandidates, effectiveReputationScore, type ReputationCandidate } from './blacklist-plan';

export interface ReputationCandidateQuery {
  /** faded score at least this */
  minScore: number;
  /** keep at most this many (the best) */
  limit: number;
  now: number;
  halfLifeDays?: number;
}

/** Where the sync gets its reputation candidates from. */
export interface ReputationCandidateSource {
  /** the best candidates, best first; rejects when the list cannot be read (the sync then changes nothing) */
  candidates(query: ReputationCandidateQuery): Promise<ReputationCandidate[]>;
}

export class RedisReputationCandidates implements ReputationCandidateSource {
  readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly batch = 500,
  ) {
    this.key = `${keyPrefix}reputation`;
  }

  async candidates(query: ReputationCandidateQuery): Promise<ReputationCandidate[]> {
    type Ranked = ReputationCandidate & { effective: number };
    let kept: Ranked[] = [];
    const trim = (): void => {
      kept.sort(compareCandidates);
      kept = kept.slice(0, query.limit);
    };
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.key, cursor, 'COUNT', this.batch);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const e164 = flat[i] as string;
        const entry = parseReputationEntry(flat[i + 1] as string);
        if (!entry || entry.score < query.minScore) continue;
        const candidate: ReputationCandidate = { e164, score: entry.score, reports: entry.reports };
        if (entry.category !== undefined) candidate.category = entry.category;
        if (entry.lastSeenAt !== undefined) candidate.lastSeenAt = entry.lastSeenAt;
        const effective = effectiveReputationScore(candidate, query.now, query.halfLifeDays);
        if (effective < query.minScore) continue;
        kept.push({ ...candidate, effective });
      }
      if (kept.length > 2 * query.limit + 1000) trim();
    } while (cursor !== '0');
    trim();
    return kept.map(({ effective: _effective, ...candidate }) => candidate);
  }
}
