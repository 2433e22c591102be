/**
 * The daemon's Redis connection. A per-call lookup must never wait on a dead Redis: no offline queue
 * (commands fail at once while disconnected) and a command timeout; reconnects happen in the
 * background with a capped backoff.
 */
import Redis from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  commandTimeoutMs: number;
  /** name shown in CLIENT LIST */
  connectionName?: string;
  /** false for one-shot commands: a refused connection fails at once instead of retrying */
  reconnect?: boolean;
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
export async function connectInBackground(redis: Redis): Promise<boolean> {
  try {
    await redis.connect();
    return true;
  } catch {
    return false;
  }
}
