/**
 * What an online lookup provider (lookups: in callscreen.yaml) said about a caller, as the core reads it.
 * The lookup service (src/reputation/lookups/) asks the providers, caches their answers in Redis and
 * hands the core one LookupAnswer per provider that was consulted for the call; the core turns them into
 * reasons (code 'lookup') with points. Pure types: no I/O.
 */

/**
 * - answered: the provider knows the number (score, and perhaps reports, category, name)
 * - unknown:  the provider answered that it knows nothing about the number
 * - late:     no answer within lookups.budgetMs; the answer, when it comes, is cached for the next call
 * - failed:   the provider failed (HTTP error, garbage, circuit breaker open, rate limited)
 */
export type LookupStatus = 'answered' | 'unknown' | 'late' | 'failed';

export interface LookupAnswer {
  /** the provider's name from the configuration */
  provider: string;
  status: LookupStatus;
  /** answered: 0 (clean) .. 1 (certainly spam), mapped from the provider's own scale */
  score?: number;
  /** answered: how many reports the provider has */
  reports?: number;
  category?: string;
  /** a caller name the provider gave (explains; never scores) */
  name?: string;
  /** points for a score of 1 (the provider's configured weight) */
  weight: number;
  /** the answer came from the cache (Redis), not from the provider during this call */
  cached?: boolean;
  /** late or failed: what happened, for the reason's text */
  detail?: string;
}
