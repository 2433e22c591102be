/**
 * Redis as callscreen needs it: reachable, version 6 or newer, keys never evicted (an evicting Redis drops
 * reputation entries and counts at random), persistence on (a restart must not empty the reputation list),
 * and a round trip short enough for the decision's budget.
 */
import type { CallscreenConfig } from '../../config/schema';
import { connectForCommand, createRedisClient, describeRedis } from '../../adapters/redis/redis-connection';
import { errorText } from '../../errors/error-text';
import { fail, ok, warn, type DoctorCheck } from './doctor-check';

const PINGS = 20;

export async function redisChecks(config: CallscreenConfig): Promise<DoctorCheck[]> {
  const where = describeRedis(config.redis);
  const redis = createRedisClient(config.redis, { connectionName: 'callscreen-doctor', reconnect: false });
  redis.on('error', () => undefined);
  const reachable = await connectForCommand(redis);
  if (reachable !== true) {
    redis.disconnect();
    return [
      fail(
        'redis',
        'reachable',
        `${where}: ${reachable}`,
        'start Redis, or point redis.url (CALLSCREEN_REDIS_URL) at it',
      ),
    ];
  }
  const checks: DoctorCheck[] = [ok('redis', 'reachable', where)];
  try {
    const info = await redis.info();
    const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const version = field('redis_version') ?? '?';
    const major = Number(version.split('.')[0]);
    checks.push(
      major >= 6
        ? ok('redis', 'version', version)
        : fail('redis', 'version', `${version}: callscreen needs Redis 6 or newer`, 'upgrade Redis to 6.2 or newer'),
    );
    const policy = field('maxmemory_policy') ?? '?';
    checks.push(
      policy === 'noeviction' || (Number(field('maxmemory') ?? '0') === 0 && policy !== '?')
        ? ok(
            'redis',
            'maxmemory-policy',
            `${policy}${Number(field('maxmemory') ?? '0') === 0 ? ' (no maxmemory set)' : ''}`,
          )
        : warn(
            'redis',
            'maxmemory-policy',
            `${policy} with maxmemory ${field('maxmemory_human') ?? '?'}: Redis may evict reputation entries and counts`,
            'set maxmemory-policy noeviction (or give Redis memory without a maxmemory limit)',
          ),
    );
    const aof = field('aof_enabled') === '1';
    const rdbSaves = (await redis.config('GET', 'save').catch(() => [])) as unknown[];
    const saving = typeof rdbSaves[1] === 'string' && rdbSaves[1].trim() !== '';
    checks.push(
      aof || saving
        ? ok(
            'redis',
            'persistence',
            [aof ? 'AOF on' : '', saving ? `RDB save "${String(rdbSaves[1])}"` : ''].filter(Boolean).join(', '),
          )
        : warn(
            'redis',
            'persistence',
            'neither AOF nor RDB snapshots: a restart of Redis empties the reputation list and the call log',
            'turn on appendonly yes (or RDB save points) in redis.conf',
          ),
    );
    const times: number[] = [];
    for (let i = 0; i < PINGS; i++) {
      const start = performance.now();
      await redis.ping();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? 0;
    const text = `median ${median.toFixed(2)} ms over ${PINGS} PINGs`;
    checks.push(
      median <= Math.max(2, config.screening.deadlineMs / 20)
        ? ok('redis', 'round trip', text)
        : warn(
            'redis',
            'round trip',
            `${text}: a decision makes one round trip inside screening.deadlineMs (${config.screening.deadlineMs} ms)`,
            'run Redis on the PBX host or next to it',
          ),
    );
  } catch (e) {
    checks.push(fail('redis', 'answers', errorText(e), 'check Redis: it accepted the connection but did not answer'));
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return checks;
}
