/**
 * redis: one Redis by URL, a Sentinel-watched master, or a Cluster — exactly one of them, with located
 * errors — and the ioredis client each form builds (no connection is made: the clients are lazy).
 */
import Redis, { Cluster } from 'ioredis';
import { loadConfigText } from '../../src/config/load-config';
import { createRedisClient, describeRedis } from '../../src/adapters/redis/redis-connection';
import { problemsOf } from '../support/config-problems';

const load = (text: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfigText(text, 'callscreen.yaml', env, { path: '/etc/callscreen/callscreen.yaml' }).config;

const SENTINEL = `redis:
  sentinel:
    name: mymaster
    nodes: ["10.0.0.1:26379", "10.0.0.2:26379", "[fd00::3]:26379"]
    passwordEnv: REDIS_SECRET
`;

const CLUSTER = `redis:
  cluster:
    nodes: ["10.0.0.1:7000", "redis://10.0.0.2:7000"]
    password: clusterpass
`;

describe('redis configuration forms', () => {
  test('without url, sentinel or cluster the daemon uses redis://127.0.0.1:6379', () => {
    const { redis } = load('');
    expect(redis).toMatchObject({ url: 'redis://127.0.0.1:6379', keyPrefix: 'callscreen:', commandTimeoutMs: 150 });
    expect(redis.sentinel).toBeUndefined();
    expect(redis.cluster).toBeUndefined();
  });

  test('a sentinel block is the sentinel form: no default url is added beside it', () => {
    const { redis } = load(SENTINEL);
    expect(redis.url).toBeUndefined();
    expect(redis.sentinel).toMatchObject({ name: 'mymaster', db: 0, tls: false, passwordEnv: 'REDIS_SECRET' });
  });

  test('url and sentinel together are refused at the second one, with its line', () => {
    const [p, ...rest] = problemsOf(() =>
      load(`redis:\n  url: redis://a:6379\n  sentinel:\n    name: m\n    nodes: ["a:26379"]\n`),
    );
    expect(rest).toHaveLength(0);
    // the loader locates a mapping value at its first line: the sentinel block's `name:`
    expect(p).toMatchObject({ file: 'callscreen.yaml', line: 4 });
    expect(p!.reason).toContain('give one of url, sentinel and cluster, not url and sentinel');
  });

  test('a sentinel node that is not host:port is located at its list item', () => {
    const [p] = problemsOf(() =>
      load(`redis:\n  sentinel:\n    name: m\n    nodes:\n      - "a:26379"\n      - "redis-b"\n`),
    );
    expect(p).toMatchObject({ line: 6 });
    expect(p!.reason).toContain('redis.sentinel.nodes.1: host:port');
  });

  test('a sentinel block without nodes, or a cluster without nodes, is refused', () => {
    expect(problemsOf(() => load(`redis:\n  sentinel:\n    name: m\n    nodes: []\n`))[0]!.reason).toContain(
      'at least one sentinel',
    );
    expect(problemsOf(() => load(`redis:\n  cluster:\n    nodes: []\n`))[0]!.reason).toContain(
      'at least one cluster node',
    );
  });

  test('password and passwordEnv together are refused', () => {
    const [p] = problemsOf(() =>
      load(`redis:\n  cluster:\n    nodes: ["a:7000"]\n    password: x\n    passwordEnv: Y\n`),
    );
    expect(p!.reason).toContain('redis.cluster.passwordEnv: give password or passwordEnv, not both');
  });

  test('CALLSCREEN_REDIS_URL selects the url form over a sentinel block in the file', () => {
    const { redis } = load(SENTINEL, { CALLSCREEN_REDIS_URL: 'redis://cache:6379' });
    expect(redis.url).toBe('redis://cache:6379');
    expect(redis.sentinel).toBeUndefined();
  });
});

describe('createRedisClient', () => {
  test('the url form: one Redis that fails commands at once while disconnected', () => {
    const client = createRedisClient(load('redis:\n  url: redis://10.1.1.1:6390/2\n').redis, { connectionName: 't' });
    expect(client).toBeInstanceOf(Redis);
    const o = (client as Redis).options;
    expect(o).toMatchObject({
      host: '10.1.1.1',
      port: 6390,
      db: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 150,
      lazyConnect: true,
    });
    expect(o.sentinels).toBeFalsy();
  });

  test('the url form takes CALLSCREEN_REDIS_PASSWORD only when the URL holds no password', () => {
    const settings = load('redis:\n  url: redis://10.1.1.1:6390\n').redis;
    expect(
      (createRedisClient(settings, { connectionName: 't', env: { CALLSCREEN_REDIS_PASSWORD: 'fromenv' } }) as Redis)
        .options.password,
    ).toBe('fromenv');
    const withOwn = load('redis:\n  url: redis://:inurl@10.1.1.1:6390\n').redis;
    expect(
      (createRedisClient(withOwn, { connectionName: 't', env: { CALLSCREEN_REDIS_PASSWORD: 'fromenv' } }) as Redis)
        .options.password,
    ).toBe('inurl');
  });

  test('the sentinel form: sentinels, master name, password from the named variable, fail-fast options', () => {
    const client = createRedisClient(load(SENTINEL).redis, {
      connectionName: 't',
      env: { REDIS_SECRET: 's3cret' },
    }) as Redis;
    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({
      name: 'mymaster',
      role: 'master',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: 'fd00::3', port: 26379 },
      ],
      password: 's3cret',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      failoverDetector: true,
    });
    expect(client.options.sentinelRetryStrategy?.(1)).toBeGreaterThan(0);
    expect(
      (
        createRedisClient(load(SENTINEL).redis, {
          connectionName: 't',
          reconnect: false,
          env: { REDIS_SECRET: 'x' },
        }) as Redis
      ).options.sentinelRetryStrategy?.(1),
    ).toBeNull();
  });

  test('a passwordEnv naming an unset variable is a configuration error, not a silent anonymous login', () => {
    const [p] = problemsOf(() => createRedisClient(load(SENTINEL).redis, { connectionName: 't', env: {} }));
    expect(p!.reason).toBe('redis.sentinel.passwordEnv names REDIS_SECRET, which is not set or empty');
  });

  test('the cluster form: a Cluster reading from masters, no offline queue, node options fail fast', () => {
    const client = createRedisClient(load(CLUSTER).redis, { connectionName: 't' }) as Cluster;
    expect(client).toBeInstanceOf(Cluster);
    expect(client.options).toMatchObject({ scaleReads: 'master', enableOfflineQueue: false, lazyConnect: true });
    expect(client.options.redisOptions).toMatchObject({
      password: 'clusterpass',
      maxRetriesPerRequest: 0,
      commandTimeout: 150,
      connectionName: 't',
    });
    expect((client as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7000 },
    ]);
  });

  test('describeRedis names the target without any password', () => {
    expect(describeRedis(load('redis:\n  url: redis://user:hunter2@cache:6379/1\n').redis)).toBe(
      'redis://[redacted]@cache:6379/1',
    );
    expect(describeRedis(load(SENTINEL).redis)).toBe(
      'sentinel mymaster via 10.0.0.1:26379,10.0.0.2:26379,[fd00::3]:26379 (db 0)',
    );
    const cluster = describeRedis(load(CLUSTER).redis);
    expect(cluster).toBe('cluster 10.0.0.1:7000,redis://10.0.0.2:7000');
    expect(cluster).not.toContain('clusterpass');
  });
});
