/**
 * The daemon's Prometheus metrics (prom-client), on a registry of its own (never prom-client's global
 * one): the process's default metrics with the prefix callscreen_, and what the daemon reports through
 * CallscreenMetrics' methods. Served by GET /metrics (health-routes.ts).
 *
 *   callscreen_calls_total{verdict,did}            counter    screened calls by verdict and dialled number
 *   callscreen_decision_duration_seconds           histogram  StasisStart to decision
 *   callscreen_history_duration_seconds            histogram  the one Redis round trip of a decision
 *   callscreen_captcha_outcomes_total{outcome}     counter    passed, failed, hangup, timeout, abandoned, error
 *   callscreen_route_failures_total                counter    calls whose route Asterisk did not accept (not: the caller hung up first)
 *   callscreen_redis_up                            gauge      1 while the Redis connection is ready
 *   callscreen_ari_connected                       gauge      1 while the Stasis app is registered
 *   callscreen_rules_reload_errors_total           counter    edits of the rule files that were refused
 *   callscreen_config_reload_errors_total          counter    edits of callscreen.yaml that were refused
 *   callscreen_http_requests_total{route,status}   counter    requests to the daemon's HTTP server
 *   callscreen_call_log_queued                     gauge      screened-call log records waiting for Redis (memory and spill file)
 *   callscreen_call_log_spilled_total              counter    records that went to the spill file (the memory queue was full)
 *   callscreen_call_log_dropped_total              counter    records lost: even the spill file could not be written
 *   callscreen_reputation_source_vanished{source}  gauge      1 while a reputation source that had numbers is gone
 *                                                             from Redis (docs/operations.md), 0 once it is back
 *   callscreen_feed_last_success_timestamp_seconds{feed}  gauge  when a feed subscription was last imported or found unchanged
 *   callscreen_feed_entries{feed}                  gauge      numbers in the feed's live list
 *   callscreen_feed_failures{feed}                 gauge      the feed's failed or refused fetches in a row (0 after a success)
 *   callscreen_feed_runs_total{feed,outcome}       counter    fetches this daemon started: imported, unchanged, locked,
 *                                                             refused, failed, unknown
 *   callscreen_lookup_duration_seconds{provider}   histogram  requests to an online lookup provider (docs/lookups.md)
 *   callscreen_lookup_requests_total{provider,outcome}  counter  answered, unknown, failed
 *   callscreen_lookup_errors_total{provider,kind}  counter    timeout, network, http, garbage, too-large, rate-limited, breaker-open
 *   callscreen_lookup_cache_total{provider,result} counter    hit, miss: the cached answer was used, or the provider asked
 *   callscreen_lookup_late_total{provider}         counter    calls decided without the provider's answer (budget over)
 *   callscreen_lookup_breaker_state{provider}      gauge      0 closed, 1 open, 2 half-open
 *
 * Label values are bounded: verdicts and outcomes are closed sets; `did` is the E.164 DID (or the raw
 * text), and after MAX_DID_LABELS distinct DIDs every further one counts as "other", so a trunk that
 * passes any dialled digits in cannot grow the series without bound; `route` is the route's pattern
 * ("unmatched" for a path no route has); `source` is a source name (SOURCE_NAME_PATTERN), one per source
that ever vanished.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ScreenedCallRecord } from '../ports/call-log';
import type { FeedStatus } from '../ports/feed-subscriptions';
import type { BreakerState } from '../reputation/lookups/circuit-breaker';
import type { LookupFailureKind, ProviderOutcome } from '../reputation/lookups/provider-outcome';
import type { LookupMetrics } from '../reputation/lookups/lookup-service';

export const METRICS_PREFIX = 'callscreen_';
/** distinct `did` label values before further DIDs count as "other" */
export const MAX_DID_LABELS = 200;
export const OTHER_DID = 'other';
const DECISION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5];
const LOOKUP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];
const BREAKER_STATES: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

export interface MetricsOptions {
  /** the process metrics (CPU, memory, event loop lag, GC); default true */
  defaultMetrics?: boolean;
}

export class CallscreenMetrics implements LookupMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'verdict' | 'did'>;
  private readonly decisionSeconds: Histogram;
  private readonly historySeconds: Histogram;
  private readonly captchaOutcomes: Counter<'outcome'>;
  private readonly routeFailures: Counter;
  private readonly redisUp: Gauge;
  private readonly ariConnected: Gauge;
  private readonly rulesReloadErrors: Counter;
  private readonly configReloadErrors: Counter;
  private readonly httpRequests: Counter<'route' | 'status'>;
  private readonly sourceVanished: Gauge<'source'>;
  private readonly callLogQueuedGauge: Gauge;
  private readonly callLogSpilledTotal: Counter;
  private readonly callLogDroppedTotal: Counter;
  private readonly lookupSeconds: Histogram<'provider'>;
  private readonly lookupRequests: Counter<'provider' | 'outcome'>;
  private readonly lookupErrors: Counter<'provider' | 'kind'>;
  private readonly lookupCacheTotal: Counter<'provider' | 'result'>;
  private readonly lookupLateTotal: Counter<'provider'>;
  private readonly lookupBreakerState: Gauge<'provider'>;
  private readonly feedLastSuccess: Gauge<'feed'>;
  private readonly feedEntries: Gauge<'feed'>;
  private readonly feedFailures: Gauge<'feed'>;
  private readonly feedRuns: Counter<'feed' | 'outcome'>;
  private readonly vanishedSources = new Set<string>();
  private readonly dids = new Set<string>();

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
    this.calls = new Counter({
      name: 'callscreen_calls_total',
      help: 'Screened calls by verdict and dialled number (DID)',
      labelNames: ['verdict', 'did'],
      registers,
    });
    this.decisionSeconds = new Histogram({
      name: 'callscreen_decision_duration_seconds',
      help: 'Time from StasisStart to the decision',
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.historySeconds = new Histogram({
      name: 'callscreen_history_duration_seconds',
      help: "The decision's Redis round trip (reputation and call history)",
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.captchaOutcomes = new Counter({
      name: 'callscreen_captcha_outcomes_total',
      help: 'How CAPTCHAs ended',
      labelNames: ['outcome'],
      registers,
    });
    this.routeFailures = new Counter({
      name: 'callscreen_route_failures_total',
      help: 'Calls whose route Asterisk did not accept (the dialplan fallback took them)',
      registers,
    });
    this.redisUp = new Gauge({ name: 'callscreen_redis_up', help: '1 while the Redis connection is ready', registers });
    this.ariConnected = new Gauge({
      name: 'callscreen_ari_connected',
      help: '1 while the ARI websocket is up and the Stasis app registered',
      registers,
    });
    this.rulesReloadErrors = new Counter({
      name: 'callscreen_rules_reload_errors_total',
      help: 'Edits of the rule files that were refused (the last good rules stay)',
      registers,
    });
    this.configReloadErrors = new Counter({
      name: 'callscreen_config_reload_errors_total',
      help: 'Edits of callscreen.yaml that were refused (the last good settings stay)',
      registers,
    });
    this.httpRequests = new Counter({
      name: 'callscreen_http_requests_total',
      help: "Requests to the daemon's HTTP server by route and status",
      labelNames: ['route', 'status'],
      registers,
    });
    this.sourceVanished = new Gauge({
      name: 'callscreen_reputation_source_vanished',
      help: 'Reputation sources that had numbers and are gone from Redis (1 while gone, 0 once back)',
      labelNames: ['source'],
      registers,
    });
    this.callLogQueuedGauge = new Gauge({
      name: 'callscreen_call_log_queued',
      help: 'Screened-call log records waiting for Redis to be writable (in memory and in the spill file)',
      registers,
    });
    this.callLogSpilledTotal = new Counter({
      name: 'callscreen_call_log_spilled_total',
      help: 'Screened-call log records that went to the spill file (the memory queue was full)',
      registers,
    });
    this.callLogDroppedTotal = new Counter({
      name: 'callscreen_call_log_dropped_total',
      help: 'Screened-call log records lost (the spill file could not be written or read back)',
      registers,
    });
    this.lookupSeconds = new Histogram({
      name: 'callscreen_lookup_duration_seconds',
      help: 'Requests to an online lookup provider, until its answer (or failure)',
      labelNames: ['provider'],
      buckets: LOOKUP_BUCKETS,
      registers,
    });
    this.lookupRequests = new Counter({
      name: 'callscreen_lookup_requests_total',
      help: 'Requests to an online lookup provider by outcome (answered, unknown, failed)',
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.lookupErrors = new Counter({
      name: 'callscreen_lookup_errors_total',
      help: 'Online lookups that failed, by kind (timeout, network, http, garbage, too-large, rate-limited, breaker-open)',
      labelNames: ['provider', 'kind'],
      registers,
    });
    this.lookupCacheTotal = new Counter({
      name: 'callscreen_lookup_cache_total',
      help: 'Online lookups answered from the Redis cache (hit) or needing the provider (miss)',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.lookupLateTotal = new Counter({
      name: 'callscreen_lookup_late_total',
      help: "Calls decided without a provider's answer: it came after lookups.budgetMs (cached for the next call)",
      labelNames: ['provider'],
      registers,
    });
    this.lookupBreakerState = new Gauge({
      name: 'callscreen_lookup_breaker_state',
      help: "An online lookup provider's circuit breaker: 0 closed, 1 open (not asked), 2 half-open (one trial)",
      labelNames: ['provider'],
      registers,
    });
    this.feedLastSuccess = new Gauge({
      name: 'callscreen_feed_last_success_timestamp_seconds',
      help: 'When a feed subscription was last imported or found unchanged (Unix time)',
      labelNames: ['feed'],
      registers,
    });
    this.feedEntries = new Gauge({
      name: 'callscreen_feed_entries',
      help: "Numbers in a feed subscription's live list",
      labelNames: ['feed'],
      registers,
    });
    this.feedFailures = new Gauge({
      name: 'callscreen_feed_failures',
      help: "A feed subscription's failed or refused fetches in a row (0 after a success)",
      labelNames: ['feed'],
      registers,
    });
    this.feedRuns = new Counter({
      name: 'callscreen_feed_runs_total',
      help: 'Feed fetches this daemon started, by outcome',
      labelNames: ['feed', 'outcome'],
      registers,
    });
    this.redisUp.set(0);
    this.ariConnected.set(0);
  }

  lookupRequest(provider: string, outcome: ProviderOutcome['status'], seconds: number): void {
    this.lookupSeconds.observe({ provider }, seconds);
    this.lookupRequests.inc({ provider, outcome });
  }

  lookupFailure(provider: string, kind: LookupFailureKind): void {
    this.lookupErrors.inc({ provider, kind });
  }

  lookupCache(provider: string, hit: boolean): void {
    this.lookupCacheTotal.inc({ provider, result: hit ? 'hit' : 'miss' });
  }

  lookupLate(provider: string): void {
    this.lookupLateTotal.inc({ provider });
  }

  lookupBreaker(provider: string, state: BreakerState): void {
    this.lookupBreakerState.set({ provider }, BREAKER_STATES[state]);
  }

  /** screened-call log records waiting for Redis now */
  callLogQueued(count: number): void {
    this.callLogQueuedGauge.set(count);
  }

  callLogSpilled(count: number): void {
    this.callLogSpilledTotal.inc(count);
  }

  callLogDropped(count: number): void {
    this.callLogDroppedTotal.inc(count);
  }

  /** One screened call, as appended to the screened-call log. */
  callScreened(record: ScreenedCallRecord): void {
    const { decision } = record;
    this.calls.inc({
      verdict: decision.verdict,
      did: this.didLabel(decision.did.kind === 'e164' ? decision.did.e164 : decision.did.raw),
    });
    this.decisionSeconds.observe(record.decisionMs / 1000);
    if (record.historyMs !== undefined) this.historySeconds.observe(record.historyMs / 1000);
    if (record.captcha) this.captchaOutcomes.inc({ outcome: record.captcha.outcome });
    if (record.routeError !== undefined && !record.routeError.startsWith('caller hung up')) this.routeFailures.inc();
  }

  redisState(up: boolean): void {
    this.redisUp.set(up ? 1 : 0);
  }

  ariState(connected: boolean): void {
    this.ariConnected.set(connected ? 1 : 0);
  }

  rulesReloadFailed(): void {
    this.rulesReloadErrors.inc();
  }

  configReloadFailed(): void {
    this.configReloadErrors.inc();
  }

  /** the reputation sources vanished now (every other source that vanished before reads 0) */
  reputationSourcesVanished(sources: readonly string[]): void {
    const now = new Set(sources);
    for (const source of this.vanishedSources) if (!now.has(source)) this.sourceVanished.set({ source }, 0);
    for (const source of now) {
      this.vanishedSources.add(source);
      this.sourceVanished.set({ source }, 1);
    }
  }

  /** the configured feeds' shared statuses (a feed never fetched: failures 0, no success time, no entries) */
  feedStatuses(feeds: readonly string[], statuses: ReadonlyMap<string, FeedStatus>): void {
    for (const feed of feeds) {
      const status = statuses.get(feed);
      this.feedFailures.set({ feed }, status?.failures ?? 0);
      if (status?.lastSuccessAt !== undefined) this.feedLastSuccess.set({ feed }, status.lastSuccessAt / 1000);
      if (status?.entries !== undefined) this.feedEntries.set({ feed }, status.entries);
    }
  }

  /** a feed fetch this daemon started has ended */
  feedRun(feed: string, outcome: string): void {
    this.feedRuns.inc({ feed, outcome });
  }

  httpRequest(route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) });
  }

  /** The text exposition format (what GET /metrics answers). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private didLabel(did: string): string {
    const value = did === '' ? 'none' : did;
    if (this.dids.has(value)) return value;
    if (this.dids.size >= MAX_DID_LABELS) return OTHER_DID;
    this.dids.add(value);
    return value;
  }
}
