/**
 * The daemon's HTTP endpoint, started from CallscreenDaemon.start when http.enabled: the server with
 * the feedback route, on the daemon's Redis connection. Calls matter more than the endpoint: a bind
 * failure or missing credentials are logged as errors and the daemon goes on screening without it.
 */
import type { LoadedConfig } from '../config/load-config';
import { ManagedAllowList, managedFilePath, recordFeedback } from '../reputation/managed-allow-list';
import type { Logger } from '../ports/logger';
import type { RedisClient } from '../adapters/redis/redis-connection';
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import { RedisFeedbackStore } from '../adapters/redis/redis-feedback-store';
import { RedisFeedSubscriptionStore } from '../adapters/redis/redis-feed-subscriptions';
import { feedStatusViews } from '../reputation/subscriptions/feed-status-view';
import { registerFeedbackRoute } from '../http-api/feedback-route';
import { registerHealthRoutes, type ReadinessSource } from '../http-api/health-routes';
import { CallscreenMetrics } from '../http-api/metrics';
import { HttpServer } from '../http-api/http-server';
import { registerConsoleRoutes } from '../http-api/console-routes';
import type { RulesReloader } from '../config/rules-reloader';

/** What the daemon hands the routes besides config and Redis. */
export interface HttpEndpointOptions {
  /** served by GET /metrics; default: a fresh one (process metrics only) */
  metrics?: CallscreenMetrics;
  /** GET /readyz; default: ARI "unknown" (never ready), the Redis client's status */
  readiness?: ReadinessSource;
  /** the daemon's rules reloader, for the review console's rules panel; default: a reloader of the server's own */
  rules?: RulesReloader;
}

/** The running server, or undefined when http is off or it could not start (logged). */
export async function startHttpEndpoint(
  loaded: LoadedConfig,
  redis: RedisClient,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: HttpEndpointOptions = {},
): Promise<HttpServer | undefined> {
  const { config } = loaded;
  if (!config.http.enabled) return undefined;
  let server: HttpServer | undefined;
  try {
    server = HttpServer.create(config.http, { logger, env });
    const store = new RedisFeedbackStore(
      redis,
      config.redis.keyPrefix,
      Date.now,
      config.screening.signals.blockReputation.blockDigits,
    );
    const list = new ManagedAllowList({
      file: managedFilePath(loaded),
      defaultRegion: config.numbers.defaultRegion,
      displayName: config.rules.managedFile,
    });
    registerFeedbackRoute(server.app, {
      record: (report) => recordFeedback({ store, list, promoteAfter: config.feedback.promoteAfter }, report),
      defaultRegion: config.numbers.defaultRegion,
    });
    registerHealthRoutes(server.app, {
      metrics: options.metrics ?? new CallscreenMetrics(),
      readiness: options.readiness ?? (() => ({ ari: 'unknown', redis: redis.status })),
    });
    const log = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength);
    const feedStore = new RedisFeedSubscriptionStore(redis, config.redis.keyPrefix);
    const feeds =
      config.feeds.length > 0 ? async () => feedStatusViews(config.feeds, await feedStore.statuses()) : undefined;
    registerConsoleRoutes(server.app, {
      loaded,
      log,
      list,
      rules: options.rules,
      logger,
      feedback: store,
      ...(feeds && { feeds }),
    });
    await server.listen();
    return server;
  } catch (e) {
    logger.error(
      { host: config.http.host, port: config.http.port, err: (e as Error).message },
      'HTTP endpoint not started; screening calls goes on without it',
    );
    await server?.close();
    return undefined;
  }
}
