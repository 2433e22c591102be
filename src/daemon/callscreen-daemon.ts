/**
 * The daemon: wires config, rules, Redis and ARI to the CallScreener. start() and close(); close() is
 * idempotent and shuts down in reverse order: stop taking calls, let calls in flight finish routing,
 * close AMI (blacklist sync, health watcher, connection; only with ami.enabled), stop watching the files,
 * close ARI, close Redis. The rules and the screening settings of
 * callscreen.yaml (screening, didGroups, policies) are reloaded while running; the rest of
 * callscreen.yaml is read once, at start.
 */
import { createAri } from '../adapters/ari/create-ari';
import { AmiServices } from './ami-services';
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import {
  connectedAddress,
  connectInBackground,
  createRedisClient,
  describeRedis,
  type RedisClient,
} from '../adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../adapters/redis/redis-caller-history-store';
import { ReputationSourceTable } from '../adapters/redis/reputation-source-table';
import { purgeStaleGenerations } from '../adapters/redis/reputation-import';
import { CallEvaluator } from '../calls/call-evaluator';
import { CallScreener } from '../calls/call-screener';
import { ConfigReloader } from '../config/config-reloader';
import type { LoadedConfig } from '../config/load-config';
import { RulesReloader } from '../config/rules-reloader';
import { startHttpEndpoint } from './start-http';
import type { HttpServer } from '../http-api/http-server';
import { CallscreenMetrics } from '../http-api/metrics';
import { managedFilePath } from '../reputation/managed-allow-list';
import type { Logger } from '../ports/logger';
import type { AriPort, AriStateChange } from '../ports/ari';

const DRAIN_TIMEOUT_MS = 5000;

export class CallscreenDaemon {
  private closing: Promise<void> | undefined;
  /** AMI, the Asterisk health watcher and the AstDB blacklist sync, when ami.enabled */
  private amiServices: AmiServices | undefined;
  /** the HTTP endpoint (feedback), when http.enabled and it could bind */
  private http: HttpServer | undefined;
  private reputationSources: ReputationSourceTable | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** the screened-call log; its retention job trims entries past callLog.maxAgeDays */
  private callLog: RedisCallLog | undefined;

  private constructor(
    private readonly ari: AriPort,
    private readonly redis: RedisClient,
    private readonly screener: CallScreener,
    private readonly rules: RulesReloader,
    private readonly configReloader: ConfigReloader,
    private readonly logger: Logger,
    /** the configuration the daemon started with (ari.* is read once) */
    private readonly config: LoadedConfig['config'],
  ) {}

  static async start(loaded: LoadedConfig, logger: Logger): Promise<CallscreenDaemon> {
    const { config } = loaded;
    // a rules file that does not load stops the start: ConfigError names file, line and reason.
    // Later edits are picked up while running; a bad edit keeps the last good rules.
    const rules = new RulesReloader({
      file: loaded.rulesFile,
      managedFile: managedFilePath(loaded),
      defaultRegion: config.numbers.defaultRegion,
      logger,
    });
    const initial = rules.load();
    logger.info({ rulesFile: loaded.rulesFile, rules: initial.rules.length }, 'rules loaded');
    rules.start();
    // the screening settings in force: the configuration the daemon starts with, then every good edit
    // of callscreen.yaml's screening, didGroups and policies (other sections need a restart; logged)
    const configReloader = new ConfigReloader({ loaded, logger });
    configReloader.start();
    // Prometheus metrics (GET /metrics when http.enabled): fed by the events below and every screened call
    const metrics = new CallscreenMetrics();
    rules.on('rejected', () => metrics.rulesReloadFailed());
    configReloader.on('rejected', () => metrics.configReloadFailed());

    const redis = createRedisClient(config.redis, { connectionName: 'callscreen' });
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
    if (!(await connectInBackground(redis)))
      logger.warn(
        { redis: describeRedis(config.redis) },
        'redis not reachable at start; screening degraded until it is',
      );

    const ari = createAri(config.ari.adapter, {
      url: config.ari.url,
      username: config.ari.username,
      password: config.ari.password,
      apps: [config.ari.app],
      requestTimeoutMs: config.ari.requestTimeoutMs,
    });
    // the reputation sources, re-read every second: a re-imported feed is consulted at once
    const reputationSources = new ReputationSourceTable(redis, config.redis.keyPrefix, logger);
    reputationSources.start();
    // replaced generations of re-imported feeds (after their grace) and crashed imports' leftovers go
    const purgeTimer = setInterval(() => {
      purgeStaleGenerations(redis, config.redis.keyPrefix).then(
        (r) => r.generations > 0 && logger.info(r, 'reputation: replaced or abandoned generations deleted'),
        (e: unknown) =>
          logger.debug({ err: (e as Error).message }, 'reputation: generation clean-up failed; next try in a minute'),
      );
    }, 60_000);
    purgeTimer.unref();
    const history = new RedisCallerHistoryStore(redis, config.redis.keyPrefix, reputationSources);
    const evaluator = new CallEvaluator({ history });
    const callLog = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength, {
      maxAgeDays: config.callLog.maxAgeDays,
      onError: (e) =>
        logger.warn({ err: (e as Error).message }, 'screened-call log: age trim failed; trying again in a minute'),
      onTrimmed: (removed) => logger.debug({ removed }, 'screened-call log: trimmed entries past callLog.maxAgeDays'),
    });
    const screener = new CallScreener({
      ari,
      evaluator,
      callLog,
      logger,
      // read once per call: the configuration (screening, policies, captcha, tags) and the rules in force
      settings: () => ({ ...configReloader.current(), rules: rules.current() }),
      captchaHistory: history,
      // TEST ONLY: logs each CAPTCHA code at debug level (tests and the demo type it); never set in production
      logCaptchaCode: process.env.CALLSCREEN_TEST_LOG_CAPTCHA_CODE === '1',
      onScreened: (record) => metrics.callScreened(record),
    });
    const daemon = new CallscreenDaemon(ari, redis, screener, rules, configReloader, logger, config);
    daemon.callLog = callLog;
    callLog.startRetention();
    daemon.reputationSources = reputationSources;
    daemon.purgeTimer = purgeTimer;
    ari.on('event', screener.onAriEvent);
    ari.on('error', (err) => logger.warn({ err: err.message }, 'ARI problem'));
    ari.on('state', (change) => metrics.ariState(change.state === 'connected'));
    ari.on('state', (change) => daemon.onAriState(change));
    // AMI (optional): connects in the background and never holds up the start or a call
    if (config.ami.enabled) {
      daemon.amiServices = AmiServices.start({
        config,
        ari,
        redis,
        rules,
        halfLifeDays: () => configReloader.current().config.screening.signals.reputation.halfLifeDays,
        logger,
      });
    }
    daemon.http = await startHttpEndpoint(loaded, redis, logger, process.env, {
      metrics,
      readiness: () => ({ ari: ari.state, redis: redis.status }),
      rules,
    }); // never throws: a failure is logged, calls go on
    logger.info({ url: config.ari.url, app: config.ari.app, adapter: ari.kind }, 'connecting to ARI');
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
      this.screener
        .recoverOrphans()
        .then((n) => n > 0 && this.logger.warn({ calls: n }, 'sent calls left without a handler to the agents'))
        .catch((e: unknown) =>
          this.logger.warn({ err: (e as Error).message }, 'could not check for calls left in the app'),
        );
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
    const rest = createAri('native', {
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
    await this.callLog?.close();
    this.reputationSources?.close();
    clearInterval(this.purgeTimer);
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
