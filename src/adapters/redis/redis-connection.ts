/**
 * The daemon's Redis connection: one Redis (redis.url), a master found through Redis Sentinel
 * (redis.sentinel) or a Redis Cluster (redis.cluster).
 *
 * A per-call lookup must never wait on a dead Redis, in all three forms: no offline queue (commands fail
 * at once while disconnected, failing over or re-learning the cluster's slots), no retries of a failed
 * command, and a command timeout; reconnects happen in the background with a capped backoff.
 *
 * Sentinel: ioredis asks the sentinels for the master on every (re)connect, listens for +switch-master
 * (failoverDetector) and drops the connection when a demoted master answers READONLY, so it follows a
 * failover within about a second of the sentinels announcing it.
 *
 * Passwords: `password` in the file, `passwordEnv` naming an environment variable, or else the
 * environment variable CALLSCREEN_REDIS_PASSWORD (for the url form only when the URL holds none).
 * describeRedis() names the target without any secret, for logs and messages.
 */
import Redis, { Cluster, type ClusterNode, type RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors/config-error';
import { redactUrl } from '../../ports/log-redaction';

/** What the stores talk to: one Redis (also through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Credentials of the data nodes: a password in the file, or the name of the environment variable holding it. */
interface RedisAuthSettings {
  username?: string | undefined;
  password?: string | undefined;
  passwordEnv?: string | undefined;
}

/**
 * Which Redis to use (the `redis` section of callscreen.yaml, validated by src/config/schema.ts): one of
 * url, sentinel and cluster.
 */
export interface RedisSettings {
  url?: string | undefined;
  sentinel?:
    | (RedisAuthSettings & {
        name: string;
        nodes: readonly string[];
        sentinelUsername?: string | undefined;
        sentinelPassword?: string | undefined;
        sentinelPasswordEnv?: string | undefined;
        db: number;
        tls: boolean;
      })
    | undefined;
  cluster?: (RedisAuthSettings & { nodes: readonly string[]; tls: boolean }) | undefined;
  keyPrefix: string;
  commandTimeoutMs: number;
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
  /** where passwordEnv and CALLSCREEN_REDIS_PASSWORD are looked up; default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The environment variable that supplies the Redis password when the configuration names none. */
export const REDIS_PASSWORD_ENV = 'CALLSCREEN_REDIS_PASSWORD';

const CONNECT_TIMEOUT_MS = 2000;
const MAX_BACKOFF_MS = 2000;

/** 200 ms, 400 ms, ... up to 2 s between reconnect attempts. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), MAX_BACKOFF_MS);
}

/** A client for the configured Redis (lazy: call connect(), or connectInBackground()). */
export function createRedisClient(settings: RedisSettings, options: RedisClientOptions): RedisClient {
  const env = options.env ?? process.env;
  const retry = options.reconnect === false ? () => null : reconnectDelay;
  const failFast = {
    commandTimeout: options.commandTimeoutMs ?? settings.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: options.connectionName,
  } satisfies RedisOptions;

  if (settings.cluster) {
    const c = settings.cluster;
    const tls = c.tls || c.nodes.some((n) => n.startsWith('rediss://'));
    return new Cluster(c.nodes.map(clusterNode), {
      lazyConnect: true,
      enableOfflineQueue: false,
      scaleReads: 'master',
      clusterRetryStrategy: retry,
      // a MOVED/ASK during resharding is followed; a cluster that is down fails the command at once
      retryDelayOnClusterDown: 0,
      maxRedirections: 4,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      enableAutoPipelining: options.autoPipelining ?? false,
      redisOptions: {
        ...failFast,
        ...credentials(c, 'redis.cluster', env),
        ...(tls ? { tls: {} } : {}),
      },
    });
  }

  if (settings.sentinel) {
    const s = settings.sentinel;
    return new Redis({
      ...failFast,
      sentinels: s.nodes.map(hostPort),
      name: s.name,
      role: 'master',
      db: s.db,
      ...credentials(s, 'redis.sentinel', env),
      ...(s.sentinelUsername !== undefined ? { sentinelUsername: s.sentinelUsername } : {}),
      ...optional(
        'sentinelPassword',
        secretFrom(s.sentinelPassword, s.sentinelPasswordEnv, 'redis.sentinel.sentinelPasswordEnv', env),
      ),
      ...(s.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      sentinelRetryStrategy: retry,
      retryStrategy: retry,
      failoverDetector: true,
      // a master demoted under us answers writes with READONLY: reconnect, which asks the sentinels again
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      enableOfflineQueue: false,
      lazyConnect: true,
      enableAutoPipelining: options.autoPipelining ?? false,
    });
  }

  const url = settings.url ?? 'redis://127.0.0.1:6379';
  // a password in the URL wins (ioredis takes the URL's fields first); the environment fills the gap
  const envPassword = env[REDIS_PASSWORD_ENV];
  return new Redis(url, {
    ...failFast,
    ...optional('password', envPassword ? envPassword : undefined),
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: retry,
    enableAutoPipelining: options.autoPipelining ?? false,
  });
}

/**
 * The configured Redis in words, without credentials: `redis://127.0.0.1:6379`,
 * `sentinel mymaster via 10.0.0.1:26379,10.0.0.2:26379 (db 0)`, `cluster 10.0.0.1:7000,10.0.0.2:7000`.
 */
export function describeRedis(settings: RedisSettings): string {
  if (settings.cluster) return `cluster ${settings.cluster.nodes.join(',')}`;
  if (settings.sentinel)
    return `sentinel ${settings.sentinel.name} via ${settings.sentinel.nodes.join(',')} (db ${settings.sentinel.db})`;
  return redactUrl(settings.url ?? 'redis://127.0.0.1:6379');
}

export interface RedisConnectionOptions {
  /** undefined (config.redis.url under the sentinel or cluster form) is refused: use createRedisClient */
  url: string | undefined;
  commandTimeoutMs: number;
  /** name shown in CLIENT LIST */
  connectionName?: string;
  /** false for one-shot commands: a refused connection fails at once instead of retrying */
  reconnect?: boolean;
}

/** @deprecated one Redis by URL only: use createRedisClient(config.redis, ...), which also knows Sentinel and Cluster */
export function createRedisConnection(options: RedisConnectionOptions): Redis {
  if (options.url === undefined)
    throw new Error('this command only knows redis.url; redis.sentinel and redis.cluster need createRedisClient');
  return createRedisClient(
    { url: options.url, keyPrefix: '', commandTimeoutMs: options.commandTimeoutMs },
    {
      connectionName: options.connectionName ?? 'callscreen',
      commandTimeoutMs: options.commandTimeoutMs,
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
    },
  ) as Redis;
}

/**
 * Connect, but do not fail or hold up the caller if Redis is down: the daemon screens degraded until it
 * is back. Resolves true once connected, false at the first error (connect() under Sentinel stays
 * pending while no sentinel answers; the client keeps trying in the background either way).
 */
export function connectInBackground(redis: RedisClient): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (connected: boolean): void => {
      redis.off('error', onError);
      resolve(connected);
    };
    const onError = (): void => settle(false);
    redis.on('error', onError);
    redis.connect().then(
      () => settle(true),
      () => settle(false),
    );
  });
}

/** Where a Sentinel client's connection is now: `host:port` of the master it talks to, if connected. */
export function connectedAddress(redis: RedisClient): string | undefined {
  if (redis instanceof Cluster) return undefined;
  const stream = (redis as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  return stream?.remoteAddress && stream.remotePort ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
}

function credentials(
  auth: { username?: string | undefined; password?: string | undefined; passwordEnv?: string | undefined },
  where: string,
  env: NodeJS.ProcessEnv,
): { username?: string; password?: string } {
  const password =
    secretFrom(auth.password, auth.passwordEnv, `${where}.passwordEnv`, env) ?? (env[REDIS_PASSWORD_ENV] || undefined);
  return { ...optional('username', auth.username), ...optional('password', password) };
}

/** The secret written in the file, or read from the environment variable it names (which must be set). */
function secretFrom(
  direct: string | undefined,
  envName: string | undefined,
  key: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (direct !== undefined) return direct;
  if (envName === undefined) return undefined;
  const value = env[envName];
  if (!value)
    throw new ConfigError([
      { file: '(environment)', line: 0, column: 0, reason: `${key} names ${envName}, which is not set or empty` },
    ]);
  return value;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(at + 1)) };
}

function clusterNode(node: string): ClusterNode {
  return hostPort(node.replace(/^rediss?:\/\//, '').replace(/\/$/, ''));
}

/**
 * For one-shot commands (`callscreen import`, `log`, `report`, `check`): connect, or say which Redis
 * is not reachable and why. The connection's own error (ECONNREFUSED, ...) says more than ioredis'
 * "Connection is closed", so it is the one reported. Returns true, or the reason.
 */
export async function connectForCommand(redis: RedisClient): Promise<true | string> {
  let lastError: unknown;
  const remember = (e: unknown): void => {
    lastError = e;
  };
  redis.on('error', remember);
  try {
    await redis.connect();
    return true;
  } catch (e) {
    redis.disconnect();
    const err = lastError ?? e;
    if (!(err instanceof Error)) return String(err);
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  } finally {
    redis.off('error', remember);
  }
}

/** connectForCommand, throwing `Redis at <where> is not reachable (<why>)<suffix>` (the CLI exits 1 with it) */
export async function connectOrThrow(redis: RedisClient, settings: RedisSettings, suffix = ''): Promise<void> {
  const connected = await connectForCommand(redis);
  if (connected !== true)
    throw new Error(`Redis at ${describeRedis(settings)} is not reachable (${connected})${suffix}`);
}

/**
 * One command's own connection (no reconnect): opened (connectOrThrow's error and suffix when Redis is
 * not reachable), handed to `run`, and closed after it whatever happens.
 */
export async function withCommandConnection<T>(
  settings: RedisSettings,
  options: Omit<RedisClientOptions, 'reconnect'> & { unreachableSuffix?: string },
  run: (redis: RedisClient) => Promise<T>,
): Promise<T> {
  const { unreachableSuffix, ...clientOptions } = options;
  const redis = createRedisClient(settings, { ...clientOptions, reconnect: false });
  redis.on('error', () => undefined);
  try {
    await connectOrThrow(redis, settings, unreachableSuffix);
    return await run(redis);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
