/**
 * The reputation entries worth copying into the AstDB blacklist, read from the bucketed reputation
 * store (src/adapters/redis/reputation-layout.ts).
 *
 * The sources may hold millions of numbers: each source's buckets are read one HGETALL at a time (a
 * bucket holds ~64 numbers, so each read is one short Redis command and the event loop is free between
 * them, so calls are screened meanwhile), and only the best `limit` candidates are kept in memory. A
 * number listed by several sources is one candidate with its best source's entry; a number whose agents'
 * last verdict was `ok` is never a candidate (the agents overrule the feeds).
 */
import type { RedisClient } from './redis-connection';
import { bucketKey, parseSourceTable, sourcesKey, type SourceRecord } from './reputation-layout';
import { dayStartMs, decodeFeedbackEntry, decodeFeedEntry } from '../../domain/reputation-entry';
import { compareCandidates, effectiveReputationScore, type ReputationCandidate } from '../../domain/reputation';
import type { ReputationCandidateQuery, ReputationCandidateSource } from '../../ports/reputation-candidates';

type Ranked = ReputationCandidate & { effective: number };

export class RedisReputationCandidates implements ReputationCandidateSource {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async candidates(query: ReputationCandidateQuery): Promise<ReputationCandidate[]> {
    const { sources } = parseSourceTable(await this.redis.hgetall(sourcesKey(this.keyPrefix)));
    const cleared = new Set<string>();
    for (const source of sources.filter((s) => s.kind === 'feedback')) {
      await this.eachBucket(source, (field, value) => {
        if (decodeFeedbackEntry(value)?.last === 'ok') cleared.add(field);
      });
    }
    // per number the best entry; trimmed to the best `limit` numbers whenever it grows large
    let best = new Map<string, Ranked>();
    const trim = (): void => {
      best = new Map(
        [...best.values()]
          .sort(compareCandidates)
          .slice(0, query.limit)
          .map((c) => [c.e164, c]),
      );
    };
    for (const source of sources.filter((s) => s.kind !== 'feedback')) {
      await this.eachBucket(source, (field, value) => {
        if (cleared.has(field)) return;
        const entry = decodeFeedEntry(value);
        if (!entry || entry.score / 100 < query.minScore) return;
        const candidate: ReputationCandidate = {
          e164: `+${field}`,
          score: entry.score / 100,
          reports: entry.reports,
          lastSeenAt: dayStartMs(entry.lastDay),
        };
        const category = entry.category > 0 ? source.categories[entry.category - 1] : undefined;
        if (category) candidate.category = category;
        const effective = effectiveReputationScore(candidate, query.now, query.halfLifeDays);
        if (effective < query.minScore) return;
        const held = best.get(candidate.e164);
        if (!held || compareCandidates({ ...candidate, effective }, held) < 0)
          best.set(candidate.e164, { ...candidate, effective });
      });
      if (best.size > 2 * query.limit + 1000) trim();
    }
    trim();
    return [...best.values()].map(({ effective: _effective, ...candidate }) => candidate);
  }

  private async eachBucket(source: SourceRecord, visit: (field: string, value: string) => void): Promise<void> {
    for (let bucket = 0; bucket < source.buckets; bucket++) {
      const fields = await this.redis.hgetall(bucketKey(this.keyPrefix, source.name, source.gen, bucket));
      for (const [field, value] of Object.entries(fields)) visit(field, value);
    }
  }
}
