/**
 * The daemon: wires config, rules, Redis and ARI to the CallScreener. start() and close(); close() is
 * idempotent and shuts down in reverse order: stop taking calls, let calls in flight finish routing,
 * close AMI (blacklist sync, health watcher, connection; only with ami.enabled), stop watching the files,
 * close ARI, close Redis. The rules and the screening settings of
 * callscreen.yaml (screening, didGroups, policies) are reloaded while running; the rest of
 * callscreen.yaml is read once, at start.
 *
 * The parts that reach outside the process (Redis and what is built on it, ARI, AMI, the HTTP endpoint)
 * come from DaemonParts: the real ones by default, fakes in test/unit/daemon-lifecycle.test.ts.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { createAri, type AriAdapterKind } from '../adapters/ari/create-ari';
import { AmiServices, type AmiServicesOptions } from './ami-services';
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import { RedisLookupCache } from '../adapters/redis/redis-lookup-cache';
import {
  connectedAddress,
  connectInBackground,
  createRedisClient,
  describeRedis,
  type RedisClient,
} from '../adapters/redis/redis-connection';
import { RedisCallerHistoryStore, type ReputationSourceList } from '../adapters/redis/redis-caller-history-store';
import { ReputationSourceTable, type SourceTableWatch } from '../adapters/redis/reputation-source-table';
import { purgeStaleGenerations } from '../adapters/redis/reputation-import';
import { CallEvaluator } from '../calls/call-evaluator';
import { CallScreener } from '../calls/call-screener';
import { BufferedCallLog, type CallLogBufferMetrics } from '../call-log/buffered-call-log';
import { ConfigReloader } from '../config/config-reloader';
import { contactsFolderPath } from '../config/contacts-folder';
import type { LoadedConfig } from '../config/load-config';
import { RulesReloader } from '../config/rules-reloader';
import type { CallscreenConfig } from '../config/schema';
import { startHttpEndpoint, type HttpEndpointOptions } from './start-http';
import { vanishedListAlarm } from './vanished-list-alarm';
import { startNotifications } from './notifications';
import { startFeedUpdates, type FeedUpdatesOptions } from './feed-updates';
import { CallscreenMetrics } from '../http-api/metrics';
import {
  ManagedAllowList,
  managedFilePath,
  recordFeedback,
  type FeedbackRecorderDeps,
} from '../reputation/managed-allow-list';
import { RedisFeedbackStore } from '../adapters/redis/redis-feedback-store';
import { RedisAnsweredCallStore } from '../adapters/redis/redis-answered-call-store';
import { RecentCallers } from '../calls/spam-key/recent-callers';
import { SpamKey } from '../calls/spam-key/spam-key-call';
import { LookupService } from '../reputation/lookups/lookup-service';
import type { LookupCache } from '../ports/lookup-cache';
import type { Logger } from '../ports/logger';
import { redactUrl } from '../ports/log-redaction';
import type { AriPort, AriPortOptions, AriStateChange } from '../ports/ari';
import type { CallerHistoryStore } from '../ports/caller-history-store';
import type { CallLog } from '../ports/call-log';

const DRAIN_TIMEOUT_MS = 5000;

/** Something running that the daemon stops when it closes. */
export interface Closable {
  close(): void | Promise<void>;
}

/** The reputation source table: re-read in the background once started. */
export type ReputationSources = ReputationSourceList & { start(): void; close(): void };

/** The screened-call log with its retention job (trims entries past callLog.maxAgeDays). */
export type RetainedCallLog = CallLog & { startRetention(): void; close(): Promise<void> };

/** How the daemon makes the parts that reach outside the process. */
export interface DaemonParts {
  /** a Redis client for redis.* (not connected yet) */
  createRedis(settings: CallscreenConfig['redis']): RedisClient;
  /** the first connect: false when Redis is not reachable (the client goes on trying) */
  connectRedis(redis: RedisClient): Promise<boolean>;
  /** the daemon's ARI adapter, and at close a REST-only one for the calls left behind */
  createAri(kind: AriAdapterKind, options: AriPortOptions): AriPort;
  /** `watch`: told when a source that had numbers vanishes from Redis (and comes back) */
  createReputationSources(
    redis: RedisClient,
    keyPrefix: string,
    logger: Logger,
    watch?: SourceTableWatch,
  ): ReputationSources;
  createCallerHistory(redis: RedisClient, keyPrefix: string, sources: ReputationSourceList): CallerHistoryStore;
  /** where online lookup answers are cached (lookups:), shared by every daemon on the Redis */
  createLookupCache(redis: RedisClient, keyPrefix: string): LookupCache;
  /**
   * The screened-call log: the real one keeps what Redis cannot take (in memory, then the spill file
   * beside configFile) and writes it when Redis is back (src/call-log/buffered-call-log.ts)
   */
  createCallLog(
    redis: RedisClient,
    config: CallscreenConfig,
    logger: Logger,
    buffer: { configFile: string; metrics: CallLogBufferMetrics },
  ): RetainedCallLog;
  /** deletes replaced generations of re-imported feeds (after their grace) and crashed imports' leftovers */
  startGenerationPurge(redis: RedisClient, keyPrefix: string, logger: Logger): Closable;
  /** AMI, the Asterisk health watcher and the AstDB blacklist sync (only with ami.enabled) */
  startAmi(options: AmiServicesOptions): Closable;
  /**
   * the feed subscriptions (feeds:), each fetched as a `callscreen feeds update` child process when due;
   * nothing without feeds. Absent from a parts object (the unit tests' fakes): the real one
   */
  startFeedUpdates?(options: FeedUpdatesOptions): Closable;
  /** the HTTP endpoint; undefined when http is off or it could not start (never throws) */
  startHttp(
    loaded: LoadedConfig,
    redis: RedisClient,
    logger: Logger,
    options: HttpEndpointOptions,
  ): Promise<Closable | undefined>;
}

export const realDaemonParts: DaemonParts = {
  createRedis: (settings) => createRedisClient(settings, { connectionName: 'callscreen' }),
  connectRedis: connectInBackground,
  createAri,
  createReputationSources: (redis, keyPrefix, logger, watch) =>
    new ReputationSourceTable(redis, keyPrefix, logger, { watch }),
  createCallerHistory: (redis, keyPrefix, sources) => new RedisCallerHistoryStore(redis, keyPrefix, sources),
  createLookupCache: (redis, keyPrefix) => new RedisLookupCache(redis, keyPrefix),
  createCallLog: (redis, config, logger, buffer) =>
    new BufferedCallLog(
      new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength, {
        maxAgeDays: config.callLog.maxAgeDays,
        onError: (e) =>
          logger.warn({ err: (e as Error).message }, 'screened-call log: age trim failed; trying again in a minute'),
        onTrimmed: (removed) => logger.debug({ removed }, 'screened-call log: trimmed entries past callLog.maxAgeDays'),
      }),
      {
        bufferRecords: config.callLog.bufferRecords,
        spillFile: path.resolve(path.dirname(buffer.configFile), config.callLog.spillFile),
        logger,
        metrics: buffer.metrics,
        onReady: (listener) => {
          redis.on('ready', listener);
          return () => redis.off('ready', listener);
        },
      },
    ),
  startGenerationPurge: (redis, keyPrefix, logger) => {
    const timer = setInterval(() => {
      purgeStaleGenerations(redis, keyPrefix).then(
        (r) => r.generations > 0 && logger.info(r, 'reputation: replaced or abandoned generations deleted'),
        (e: unknown) =>
          logger.debug({ err: (e as Error).message }, 'reputation: generation clean-up failed; next try in a minute'),
      );
    }, 60_000);
    timer.unref();
    return { close: () => clearInterval(timer) };
  },
  startAmi: (options) => AmiServices.start(options),
  startFeedUpdates,
  startHttp: (loaded, redis, logger, options) => startHttpEndpoint(loaded, redis, logger, process.env, options),
};

export class CallscreenDaemon {
  private closing: Promise<void> | undefined;
  /** AMI, the Asterisk health watcher and the AstDB blacklist sync, when ami.enabled */
  private amiServices: Closable | undefined;
  /** the HTTP endpoint (feedback), when http.enabled and it could bind */
  private http: Closable | undefined;
  private reputationSources: ReputationSources | undefined;
  private generationPurge: Closable | undefined;
  /** the screened-call log; its retention job trims entries past callLog.maxAgeDays */
  private callLog: RetainedCallLog | undefined;
  /** the feed subscriptions' schedule (feeds:) */
  private feedUpdates: Closable | undefined;
  /** online lookups (lookups:): requests in flight are cancelled at close */
  private lookups: LookupService | undefined;

  private constructor(
    private readonly ari: AriPort,
    private readonly redis: RedisClient,
    private readonly screener: CallScreener,
    private readonly rules: RulesReloader,
    private readonly configReloader: ConfigReloader,
    private readonly logger: Logger,
    /** the configuration the daemon started with (ari.* is read once) */
    private readonly config: LoadedConfig['config'],
    private readonly parts: DaemonParts,
  ) {}

  /**
   * `replaced`: parts to use instead of the real ones (tests); the rest are realDaemonParts. A start that
   * fails closes what it had started, newest first, before the error goes on: a failed start must not
   * leave file watchers, timers or a Redis connection holding the process (the caller exits non-zero).
   */
  static async start(
    loaded: LoadedConfig,
    logger: Logger,
    replaced: Partial<DaemonParts> = {},
  ): Promise<CallscreenDaemon> {
    const started: Closable[] = [];
    try {
      return await CallscreenDaemon.startParts(loaded, logger, { ...realDaemonParts, ...replaced }, started);
    } catch (e) {
      for (const part of started.reverse()) {
        try {
          await part.close();
        } catch (closeError) {
          logger.warn({ err: (closeError as Error).message }, 'failed start: closing a part failed');
        }
      }
      throw e;
    }
  }

  /** start's steps; each part that runs is put on `started` so that a failed start can close it. */
  private static async startParts(
    loaded: LoadedConfig,
    logger: Logger,
    parts: DaemonParts,
    started: Closable[],
  ): Promise<CallscreenDaemon> {
    const { config } = loaded;
    // a rules file that does not load stops the start: ConfigError names file, line and reason.
    // Later edits are picked up while running; a bad edit keeps the last good rules.
    const rules = new RulesReloader({
      file: loaded.rulesFile,
      managedFile: managedFilePath(loaded),
      contactsFolder: contactsFolderPath(loaded),
      defaultRegion: config.numbers.defaultRegion,
      limits: config.rules, // rules.maxFileBytes, rules.maxRules
      logger,
    });
    const initial = rules.load();
    logger.info({ rulesFile: loaded.rulesFile, rules: initial.rules.length }, 'rules loaded');
    rules.start();
    started.push(rules);
    // the screening settings in force: the configuration the daemon starts with, then every good edit
    // of callscreen.yaml's screening, didGroups and policies (other sections need a restart; logged)
    const configReloader = new ConfigReloader({ loaded, logger });
    configReloader.start();
    started.push(configReloader);
    // Prometheus metrics (GET /metrics when http.enabled): fed by the events below and every screened call
    const metrics = new CallscreenMetrics();
    rules.on('rejected', () => metrics.rulesReloadFailed());
    configReloader.on('rejected', () => metrics.configReloadFailed());

    const redis = parts.createRedis(config.redis);
    started.push({ close: () => redis.disconnect() }); // also ends its reconnect attempts
    redis.on('error', () => undefined); // state changes are logged below; ioredis would otherwise print
    redis.on('ready', () => metrics.redisState(true));
    for (const down of ['end', 'close', 'reconnecting'] as const) redis.on(down, () => metrics.redisState(false));
    redis.on('ready', () =>
      logger.info({ redis: describeRedis(config.redis), at: connectedAddress(redis) }, 'redis connected'),
    );
    redis.on('end', () => logger.warn('redis connection closed'));
    redis.on('reconnecting', (delay: number) =>
      logger.warn({ delayMs: delay }, 'redis unavailable; screening degraded until it is back'),
    );
    if (!(await parts.connectRedis(redis)))
      logger.warn(
        { redis: describeRedis(config.redis) },
        'redis not reachable at start; screening degraded until it is',
      );

    const ari = parts.createAri(config.ari.adapter, {
      url: config.ari.url,
      username: config.ari.username,
      password: config.ari.password,
      apps: [config.ari.app],
      requestTimeoutMs: config.ari.requestTimeoutMs,
    });
    started.push(ari);
    // webhooks (notifications:): rules rejected, Redis or ARI down, spam surges, failed feeds; off the call path
    const notifications = startNotifications(
      config,
      { rules, config: configReloader, redis, ari },
      { logger, host: hostname() },
    );
    started.push(notifications);
    // the reputation sources, re-read every second: a re-imported feed is consulted at once, and a list
    // Redis lost is said loudly (error line, metric, readiness warning; src/daemon/vanished-list-alarm.ts)
    const vanished = vanishedListAlarm(loaded, logger, metrics);
    const reputationSources = parts.createReputationSources(redis, config.redis.keyPrefix, logger, vanished.watch);
    reputationSources.start();
    started.push(reputationSources);
    // replaced generations of re-imported feeds (after their grace) and crashed imports' leftovers go
    const generationPurge = parts.startGenerationPurge(redis, config.redis.keyPrefix, logger);
    started.push(generationPurge);
    const history = parts.createCallerHistory(redis, config.redis.keyPrefix, reputationSources);
    // online lookups (off unless lookups.providers names one); a secret missing from the environment stops the start
    const lookups = new LookupService({
      config: config.lookups,
      cache: parts.createLookupCache(redis, config.redis.keyPrefix),
      logger,
      metrics,
    });
    started.push(lookups);
    if (lookups.enabled)
      logger.info(
        { providers: config.lookups.providers.map((p) => p.name), budgetMs: config.lookups.budgetMs },
        'online lookups on: callers not known as people are looked up',
      );
    const evaluator = new CallEvaluator({ history, ...(lookups.enabled ? { lookups } : {}) });
    const callLog = parts.createCallLog(redis, config, logger, {
      configFile: loaded.file,
      metrics: {
        queued: (n) => metrics.callLogQueued(n),
        spilled: (n) => metrics.callLogSpilled(n),
        dropped: (n) => metrics.callLogDropped(n),
      },
    });
    // the spam key: who answered whom (remembered here, seen over AMI), reported like the review page does
    const spamKeySettings = config.feedback.spamKey;
    const answeredWithinMs = spamKeySettings.withinMinutes * 60_000;
    const sentToAgents = new RecentCallers(answeredWithinMs);
    const answeredCalls = new RedisAnsweredCallStore(redis, config.redis.keyPrefix);
    // the feedback store and the managed allow list, built at the first press (most daemons never see one)
    let feedback: FeedbackRecorderDeps | undefined;
    const feedbackDeps = (): FeedbackRecorderDeps => ({
      store: new RedisFeedbackStore(
        redis,
        config.redis.keyPrefix,
        Date.now,
        config.screening.signals.blockReputation.blockDigits,
      ),
      list: new ManagedAllowList({
        file: managedFilePath(loaded),
        defaultRegion: config.numbers.defaultRegion,
        displayName: config.rules.managedFile,
      }),
      promoteAfter: config.feedback.promoteAfter,
    });
    const spamKey = new SpamKey({
      store: answeredCalls,
      recent: sentToAgents,
      report: (report) => recordFeedback((feedback ??= feedbackDeps()), report),
      settings: () => ({ ...spamKeySettings, language: configReloader.current().config.captcha.language }),
      host: hostname(),
      logger,
    });
    const screener = new CallScreener({
      ari,
      evaluator,
      callLog,
      logger,
      spamKey,
      sentToAgents,
      // read once per call: the configuration (screening, policies, captcha, tags) and the rules in force
      settings: () => ({ ...configReloader.current(), rules: rules.current() }),
      captchaHistory: history,
      // TEST ONLY: logs each CAPTCHA code at debug level (tests and the demo type it); refused in production
      logCaptchaCode: captchaCodeLogging(process.env, logger),
      onScreened: (record) => {
        metrics.callScreened(record);
        notifications.screened(record);
      },
    });
    const daemon = new CallscreenDaemon(ari, redis, screener, rules, configReloader, logger, config, parts);
    daemon.callLog = callLog;
    daemon.lookups = lookups;
    callLog.startRetention();
    started.push(callLog);
    daemon.reputationSources = reputationSources;
    daemon.generationPurge = generationPurge;
    ari.on('event', screener.onAriEvent);
    ari.on('error', (err) => logger.warn({ err: err.message }, 'ARI problem'));
    ari.on('state', (change) => metrics.ariState(change.state === 'connected'));
    ari.on('state', (change) => daemon.onAriState(change));
    // AMI (optional): connects in the background and never holds up the start or a call
    if (config.ami.enabled) {
      daemon.amiServices = parts.startAmi({
        config,
        ari,
        redis,
        rules,
        halfLifeDays: () => configReloader.current().config.screening.signals.reputation.halfLifeDays,
        answeredCalls: { recent: sentToAgents, store: answeredCalls, keepMs: answeredWithinMs },
        outboundCalls: {
          history,
          settings: () => {
            const current = configReloader.current().config;
            return {
              defaultRegion: current.numbers.defaultRegion,
              trunks: current.knownCustomers.outboundCalls.trunks,
              days: current.screening.signals.knownCustomer.days,
            };
          },
        },
        logger,
      });
      started.push(daemon.amiServices);
    }
    // feed subscriptions: due feeds are fetched by child processes, never on the call path
    daemon.feedUpdates = (parts.startFeedUpdates ?? startFeedUpdates)({
      loaded,
      redis,
      logger,
      metrics,
      onRun: (feed, outcome) => notifications.feedRun(feed, outcome),
    });
    started.push(daemon.feedUpdates);
    daemon.http = await parts.startHttp(loaded, redis, logger, {
      metrics,
      readiness: () => {
        const warnings = vanished.warnings(); // only when there are: /readyz answers stay as they were
        return { ari: ari.state, redis: redis.status, ...(warnings.length > 0 && { warnings }) };
      },
      rules,
    }); // never throws: a failure is logged, calls go on
    if (daemon.http) started.push(daemon.http);
    logger.info({ url: redactUrl(config.ari.url), app: config.ari.app, adapter: ari.kind }, 'connecting to ARI');
    // Asterisk may be down when the daemon starts: keep trying; calls meanwhile take the dialplan fallback
    for (let attempt = 1; ; attempt++) {
      try {
        await ari.start();
        return daemon;
      } catch (e) {
        if (daemon.closing) throw e;
        const delayMs = Math.min(500 * attempt, 5000);
        logger.warn({ err: (e as Error).message, attempt, delayMs }, 'ARI not reachable; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private onAriState(change: AriStateChange): void {
    const fields = {
      state: change.state,
      previous: change.previous,
      attempt: change.attempt,
      delayMs: change.delayMs,
      reason: change.reason,
    };
    if (change.state === 'connected') {
      this.logger.info(fields, 'ARI connected; Stasis app registered');
      // calls that entered the app while nobody received their StasisStart (this daemon was starting,
      // the one before it died, the link was dead) are sent to the agents, listing again for a few
      // seconds and until none is left; the screener logs what it finds (never rejects)
      void this.screener.sweepOrphans();
    } else if (change.state === 'reconnecting') {
      this.logger.warn(
        fields,
        'ARI connection lost; new calls fall back to the agents in the dialplan until it is back',
      );
      // the calls in the app miss their events until the link is back: CAPTCHAs in flight go to the agents
      this.screener.onAriConnectionLost(change.reason ?? 'websocket down'); // idempotent: sessions end once
    } else {
      this.logger.info(fields, `ARI ${change.state}`);
    }
  }

  /** Idempotent: stop taking calls, let calls in flight finish routing, close ARI and Redis. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async releaseCallsLeftBehind(): Promise<void> {
    const { ari } = this.config;
    // native whatever ari.adapter says: REST only, never started (no websocket, no app registered)
    const rest = this.parts.createAri('native', {
      url: ari.url,
      username: ari.username,
      password: ari.password,
      apps: [ari.app],
      requestTimeoutMs: ari.requestTimeoutMs,
    });
    try {
      const n = await this.screener.releaseCallsLeftBehind(rest);
      if (n > 0) this.logger.warn({ calls: n }, 'sent calls that arrived during the shutdown to the agents');
    } finally {
      await rest.close();
    }
  }

  private async shutdown(): Promise<void> {
    this.logger.info({ callsInFlight: this.screener.callsInFlight }, 'shutting down: finishing calls in flight');
    const drainUntil = Date.now() + DRAIN_TIMEOUT_MS;
    await this.screener.drain(DRAIN_TIMEOUT_MS);
    await this.amiServices?.close();
    await this.feedUpdates?.close();
    await this.lookups?.close();
    await this.callLog?.close();
    this.reputationSources?.close();
    this.generationPurge?.close();
    this.rules.close();
    this.configReloader.close();
    await this.http?.close();
    // Asterisk hands calls to the app until the websocket is closed: the screener keeps listening but only
    // remembers them, and once it is closed (new calls take the dialplan fallback) they are sent to the
    // agents over a REST-only connection (the adapter's REST closes with it). Else such a call would sit in
    // the app, silent, until the caller gives up.
    this.screener.stopTakingCalls();
    await this.screener.drain(Math.max(0, drainUntil - Date.now())); // calls screened since the first wait
    try {
      await this.ari.close();
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'ARI close failed');
    }
    this.ari.off('event', this.screener.onAriEvent);
    await this.releaseCallsLeftBehind();
    try {
      await Promise.race([
        this.redis.quit(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000)),
      ]);
    } catch {
      this.redis.disconnect();
    }
    this.logger.info('stopped');
  }
}

/**
 * The test-only switch CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 (the tests and the demo read each CAPTCHA code
 * and the keys typed from the debug log): whoever reads such a log could pass every CAPTCHA. So it is
 * said loudly at start (warn), and refused under NODE_ENV=production (an error line; codes stay out).
 */
export function captchaCodeLogging(env: NodeJS.ProcessEnv, logger: Logger): boolean {
  if (env.CALLSCREEN_TEST_LOG_CAPTCHA_CODE !== '1') return false;
  if (env.NODE_ENV === 'production') {
    logger.error(
      'CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 ignored: NODE_ENV is production, CAPTCHA codes are never logged there',
    );
    return false;
  }
  logger.warn(
    'CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1: every CAPTCHA code and the keys typed are logged (debug); for tests only, never in production',
  );
  return true;
}
