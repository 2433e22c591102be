/**
 * LookupService: what the call evaluator asks about a caller's number once its history is known. For
 * each configured provider: the cached answer (Redis, read in parallel with the history), or a request
 * to the provider - at most one in flight per number, within the provider's rate limit, not while its
 * circuit breaker is open. The call waits for the answers at most until lookups.budgetMs after it arrived,
 * less the time its route is expected to take (request.reserveMs; never past the decision deadline); an answer that comes later is cached all the same and counts for
 * that number's next call. Never rejects: every failure is an answer of status 'failed' or 'late'.
 *
 * Never looked up: callers a rule decides (the evaluator does not ask), callers the history shows are
 * people (CAPTCHA passed recently, agents' last verdict "not spam"; lookupExemption), and every caller
 * while Redis is not answering: no history means no trust known and no cache, and a number that might be
 * a trusted customer's is not sent to a third party on a guess.
 *
 * Logged: a breaker opening, half-opening and closing (once per change, with the call id that saw it);
 * single failures at debug level. Secrets and URLs are never logged.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { LookupProviderConfig, LookupsConfig } from '../../config/lookups-schema';
import type { HistoryLookup } from '../../domain/caller-history';
import type { LookupAnswer } from '../../domain/lookup-answer';
import { lookupExemption } from '../../domain/lookup-signal';
import type { ScreeningSettings } from '../../domain/screening-policy';
import { errorText } from '../../errors/error-text';
import type { CachedLookup, LookupCache } from '../../ports/lookup-cache';
import type { Logger } from '../../ports/logger';
import { CircuitBreaker, type BreakerChange, type BreakerState } from './circuit-breaker';
import { HttpJsonProvider } from './http-json-provider';
import type { LookupFailureKind, LookupProvider, ProviderOutcome } from './provider-outcome';
import { RateLimiter } from './rate-limiter';
import { SingleFlight } from './single-flight';

/** What the service reports, per provider (src/http-api/metrics.ts). */
export interface LookupMetrics {
  /** a request to the provider finished (in or past the call's budget) */
  lookupRequest(provider: string, outcome: ProviderOutcome['status'], seconds: number): void;
  lookupFailure(provider: string, kind: LookupFailureKind): void;
  lookupCache(provider: string, hit: boolean): void;
  /** a call went on without the provider's answer (it came, or will come, too late) */
  lookupLate(provider: string): void;
  lookupBreaker(provider: string, state: BreakerState): void;
}

export interface LookupServiceOptions {
  config: LookupsConfig;
  cache: LookupCache;
  logger: Logger;
  metrics?: LookupMetrics;
  /** where ${NAME} secrets are read; default process.env */
  env?: NodeJS.ProcessEnv;
  /** the providers to ask instead of HTTP JSON providers built from the config (unit tests), by name */
  providers?: ReadonlyMap<string, LookupProvider>;
  /** wall clock for breakers, rate limits and cache times; default Date.now */
  now?: () => number;
}

/** The cache read started with the history fetch: the entries, or why there are none. */
export type CacheRead = Promise<Map<string, CachedLookup> | { failed: string }>;

export interface LookupRequest {
  /** the caller, normalised */
  e164: string;
  callId: string;
  /** the call's time */
  at: Date;
  /** what Redis knew: lookups happen only when it answered, and not for a trusted caller */
  history: HistoryLookup | undefined;
  settings: ScreeningSettings;
  /** performance.now() when the call arrived: the budget counts from here */
  startedAt: number;
  /** screening.deadlineMs: the budget never reaches past it */
  deadlineMs: number;
  /** ms left at the end of the budget for what follows the wait (HoldOvershoot; cut to a fifth of the budget) */
  reserveMs?: number;
  /** the cache read started in parallel with the history (prefetch); else it is read now */
  cached?: CacheRead;
}

interface ProviderState {
  name: string;
  settings: LookupProviderConfig;
  provider: LookupProvider;
  breaker: CircuitBreaker;
  rate: RateLimiter;
}

/**
 * How long after the call arrived the wait for the providers ends, ms: lookups.budgetMs (never past the
 * decision deadline) less the reserve for what follows it, the reserve cut to a fifth of the budget.
 */
export function lookupWaitMs(budgetMs: number, deadlineMs: number, reserveMs = 0): number {
  const budget = Math.min(budgetMs, deadlineMs);
  return budget - Math.min(Math.max(0, reserveMs), budget / 5);
}

export class LookupService {
  private readonly providers: readonly ProviderState[];
  private readonly names: readonly string[];
  private readonly flights = new SingleFlight<ProviderOutcome>();
  /** requests and cache writes still running (close() waits for them, tests too) */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly now: () => number;

  /** Builds the HTTP JSON providers: a secret that is not in the environment throws a ConfigError. */
  constructor(private readonly options: LookupServiceOptions) {
    this.now = options.now ?? Date.now;
    const env = options.env ?? process.env;
    this.providers = options.config.providers.map((settings) => ({
      name: settings.name,
      settings,
      provider: options.providers?.get(settings.name) ?? new HttpJsonProvider(settings, env),
      breaker: new CircuitBreaker(settings.breaker, this.now),
      rate: new RateLimiter(settings.rateLimit, this.now),
    }));
    this.names = this.providers.map((p) => p.name);
    // every request in flight listens to the shutdown signal: one listener each, however many
    setMaxListeners(0, this.shutdown.signal);
    for (const p of this.providers) options.metrics?.lookupBreaker(p.name, 'closed');
  }

  /** whether any provider is configured */
  get enabled(): boolean {
    return this.providers.length > 0;
  }

  /** Start reading the number's cached answers (one MGET), to run beside the history fetch. Never rejects. */
  prefetch(e164: string): CacheRead {
    return this.options.cache.read(e164, this.names).catch((e: unknown) => ({ failed: errorText(e) }));
  }

  /**
   * The providers' answers for this call, one per provider in configuration order; undefined when the
   * caller is not looked up. Resolves by the budget at the latest; never rejects.
   */
  async consult(request: LookupRequest): Promise<LookupAnswer[] | undefined> {
    try {
      return await this.consultProviders(request);
    } catch (e) {
      // a bug here must not cost the call: decide without lookups, and say so
      this.options.logger.error(
        { callId: request.callId, err: errorText(e) },
        'lookups failed; call decided without them',
      );
      return undefined;
    }
  }

  /** Wait for the requests and cache writes still running (late answers being cached). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Cancel requests in flight and wait (at most 1 s) for the cache writes. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 1000).unref())]);
    for (const p of this.providers) p.provider.close?.();
  }

  private async consultProviders(request: LookupRequest): Promise<LookupAnswer[] | undefined> {
    if (!this.enabled || this.shutdown.signal.aborted) return undefined;
    const history = request.history?.status === 'found' ? request.history.history : undefined;
    if (lookupExemption(history, request.at.getTime(), request.settings) !== undefined) return undefined;

    const budgetMs = Math.min(this.options.config.budgetMs, request.deadlineMs);
    const endsAt = request.startedAt + lookupWaitMs(budgetMs, request.deadlineMs, request.reserveMs);
    let timer: NodeJS.Timeout | undefined;
    const budgetOver = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, endsAt - performance.now()));
    });
    try {
      const cached = await Promise.race([request.cached ?? this.prefetch(request.e164), budgetOver]);
      const entries = cached instanceof Map ? cached : new Map<string, CachedLookup>();
      if (!(cached instanceof Map))
        this.options.logger.debug(
          { callId: request.callId, err: cached === 'late' ? 'no answer within the budget' : cached.failed },
          'lookup cache not read; asking the providers',
        );
      const answers = this.providers.map((p) => {
        const entry = entries.get(p.name);
        this.options.metrics?.lookupCache(p.name, entry !== undefined);
        if (entry) return Promise.resolve(answerFromCache(p, entry));
        return this.ask(p, request.e164, request.callId).then((outcome) => answerFromOutcome(p, outcome));
      });
      const settled: Array<LookupAnswer | undefined> = new Array<LookupAnswer | undefined>(answers.length);
      const all = Promise.all(answers.map((a, i) => a.then((answer) => (settled[i] = answer))));
      await Promise.race([all, budgetOver]);
      return this.providers.map((p, i) => settled[i] ?? this.late(p, budgetMs));
    } finally {
      clearTimeout(timer);
    }
  }

  private late(p: ProviderState, budgetMs: number): LookupAnswer {
    this.options.metrics?.lookupLate(p.name);
    return {
      provider: p.name,
      status: 'late',
      weight: p.settings.weight,
      detail: `no answer within the ${budgetMs} ms budget`,
    };
  }

  /** The provider's outcome for the number: joins a request in flight, else sends one (rate limit and breaker permitting). */
  private ask(p: ProviderState, e164: string, callId: string): Promise<ProviderOutcome> {
    return this.flights.run(`${p.name}\u0000${e164}`, () => {
      const request = this.request(p, e164, callId);
      this.track(request);
      return request;
    }).promise;
  }

  private async request(p: ProviderState, e164: string, callId: string): Promise<ProviderOutcome> {
    const gate = p.breaker.tryAcquire();
    if (gate.change) this.breakerChanged(p, gate.change, callId);
    if (!gate.allowed)
      return this.refused(p, 'breaker-open', `circuit breaker open after ${p.breaker.failures} failures`);
    if (!p.rate.tryTake()) {
      p.breaker.cancelTrial(); // a request not sent is neither a failure nor a success
      return this.refused(p, 'rate-limited', `rate limit of ${p.settings.rateLimit.perSecond}/s reached`);
    }

    const started = performance.now();
    const outcome = await p.provider
      .ask(e164, this.shutdown.signal)
      .catch((e: unknown): ProviderOutcome => ({ status: 'failed', kind: 'network', detail: errorText(e) }));
    this.options.metrics?.lookupRequest(p.name, outcome.status, (performance.now() - started) / 1000);
    if (outcome.status === 'failed') {
      this.options.metrics?.lookupFailure(p.name, outcome.kind);
      this.options.logger.debug({ callId, provider: p.name, kind: outcome.kind, err: outcome.detail }, 'lookup failed');
      const change = p.breaker.failure();
      if (change) this.breakerChanged(p, change, callId, outcome.detail);
    } else {
      const change = p.breaker.success();
      if (change) this.breakerChanged(p, change, callId);
    }
    if (!this.shutdown.signal.aborted) this.track(this.store(p, e164, outcome, callId));
    return outcome;
  }

  private refused(p: ProviderState, kind: LookupFailureKind, detail: string): ProviderOutcome {
    this.options.metrics?.lookupFailure(p.name, kind);
    return { status: 'failed', kind, detail };
  }

  /** Cache what the provider said, for the next call from the number and every daemon on this Redis. */
  private async store(p: ProviderState, e164: string, outcome: ProviderOutcome, callId: string): Promise<void> {
    const at = this.now();
    const { cache } = p.settings;
    const [entry, ttl]: [CachedLookup, number] =
      outcome.status === 'answered'
        ? [{ ...outcome, at }, cache.answerTtlSeconds]
        : outcome.status === 'unknown'
          ? [{ status: 'unknown', at }, cache.unknownTtlSeconds]
          : [{ status: 'failed', detail: outcome.detail, at }, cache.errorTtlSeconds];
    if (ttl <= 0) return;
    try {
      await this.options.cache.write(e164, p.name, entry, ttl);
    } catch (e) {
      this.options.logger.debug({ callId, provider: p.name, err: errorText(e) }, 'lookup answer not cached');
    }
  }

  private breakerChanged(p: ProviderState, change: BreakerChange, callId: string, lastError?: string): void {
    this.options.metrics?.lookupBreaker(p.name, change.to);
    const fields = { callId, provider: p.name, breaker: change.to, previous: change.from };
    if (change.to === 'open')
      this.options.logger.warn(
        { ...fields, failures: p.breaker.failures, err: lastError, openSeconds: p.settings.breaker.openSeconds },
        `lookup provider ${p.name} failing: not asked for ${p.settings.breaker.openSeconds} s; calls go on without it`,
      );
    else if (change.to === 'half-open')
      this.options.logger.info(fields, `lookup provider ${p.name}: trying one request`);
    else this.options.logger.info(fields, `lookup provider ${p.name} answers again`);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}

function answerFromOutcome(p: ProviderState, outcome: ProviderOutcome): LookupAnswer {
  const base = { provider: p.name, weight: p.settings.weight };
  switch (outcome.status) {
    case 'answered': {
      const { status, score, reports, category, name } = outcome;
      return {
        ...base,
        status,
        score,
        ...(reports !== undefined ? { reports } : {}),
        ...(category !== undefined ? { category } : {}),
        ...(name !== undefined ? { name } : {}),
      };
    }
    case 'unknown':
      return { ...base, status: 'unknown' };
    case 'failed':
      return { ...base, status: 'failed', detail: outcome.detail };
  }
}

function answerFromCache(p: ProviderState, entry: CachedLookup): LookupAnswer {
  const outcome: ProviderOutcome =
    entry.status === 'failed'
      ? { status: 'failed', kind: 'network', detail: `failed recently: ${entry.detail}` }
      : entry;
  return { ...answerFromOutcome(p, outcome), cached: true };
}
