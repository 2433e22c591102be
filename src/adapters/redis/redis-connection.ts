/**
 * The daemon's Redis connection. A per-call lookup must never wait on a dead Redis: no offline queue
 * (commands fail at once while disconnected) and a command timeout; reconnects happen in the
 * background with a capped backoff.
 */
import Redis, { type Cluster } from 'ioredis';
import type { CallscreenConfig } from '../../config/schema';

/** What the stores talk to: one Redis (also through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  url: string;
  commandTimeoutMs: number;
  /** name shown in CLIENT LIST */
  connectionName?: string;
  /** false for one-shot commands: a refused connection fails at once instead of retrying */
  reconnect?: boolean;
}

export interface RedisClientOptions {
  /** name shown in CLIENT LIST */
  connectionName: string;
  /** default: redis.commandTimeoutMs from the configuration */
  commandTimeoutMs?: number;
  /** false for one-shot commands: a refused connection fails at once instead of retrying */
  reconnect?: boolean;
  /** batch commands issued in the same tick into one write (bulk writers such as the import) */
  autoPipelining?: boolean;
}

/** A client for the configured Redis (lazy: call connect()). */
export function createRedisClient(settings: CallscreenConfig['redis'], options: RedisClientOptions): RedisClient {
  const redis = createRedisConnection({
    url: settings.url,
    commandTimeoutMs: options.commandTimeoutMs ?? settings.commandTimeoutMs,
    connectionName: options.connectionName,
    reconnect: options.reconnect ?? true,
  });
  if (options.autoPipelining) redis.options.enableAutoPipelining = true;
  return redis;
}

export function createRedisConnection(options: RedisConnectionOptions): Redis {
  return new Redis(options.url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    lazyConnect: true,
    connectionName: options.connectionName ?? 'callscreen',
    retryStrategy: options.reconnect === false ? () => null : (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
  });
}

/** Connect, but do not fail the caller if Redis is down: the daemon screens degraded until it is back. */
export async function connectInBackground(redis: RedisClient): Promise<boolean> {
  try {
    await redis.connect();
    return true;
  } catch {
    return false;
  }
}
