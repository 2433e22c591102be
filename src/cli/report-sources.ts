/**
 * What `callscreen report accuracy` and `report shadow` read, on one Redis connection of their own: the
 * screened-call log and the feedback audit stream, and the time range from --since/--until (parsed like
 * `callscreen log`'s). Redis not reachable, or lost mid-read: an error naming it (exit 1).
 */
import { RedisCallLog } from '../adapters/redis/redis-call-log';
import { describeRedis, type RedisClient, withCommandConnection } from '../adapters/redis/redis-connection';
import { RedisFeedbackStore } from '../adapters/redis/redis-feedback-store';
import { parseTimeSpec, usageError } from '../call-log/call-log-query';
import type { LoadedConfig } from '../config/load-config';
import { errorText } from '../errors/error-text';
import type { ReportRange } from '../accuracy/report-reading';

/** a read that takes longer than this: Redis is not answering */
const CLI_COMMAND_TIMEOUT_MS = 10_000;

export interface ReportSources {
  redis: RedisClient;
  log: RedisCallLog;
  feedback: RedisFeedbackStore;
}

export function reportRange(options: { since: string; until?: string }, nowMs: number): ReportRange {
  const sinceMs = parseTimeSpec(options.since, nowMs, '--since');
  const untilMs = options.until !== undefined ? parseTimeSpec(options.until, nowMs, '--until') : undefined;
  if (untilMs !== undefined && untilMs < sinceMs)
    throw usageError(
      '--until',
      `${new Date(untilMs).toISOString()} is before --since ${new Date(sinceMs).toISOString()}`,
    );
  return { sinceMs, ...(untilMs !== undefined ? { untilMs } : {}), nowMs };
}

/** Runs `read` on the sources and closes the connection after it, whatever happens. */
export async function withReportSources<T>(
  loaded: LoadedConfig,
  connectionName: string,
  read: (sources: ReportSources) => Promise<T>,
): Promise<T> {
  const { config } = loaded;
  return withCommandConnection(
    config.redis,
    { connectionName, commandTimeoutMs: CLI_COMMAND_TIMEOUT_MS },
    async (redis) => {
      const log = new RedisCallLog(redis, config.redis.keyPrefix, config.callLog.stream, config.callLog.maxLength);
      const feedback = new RedisFeedbackStore(redis, config.redis.keyPrefix);
      try {
        return await read({ redis, log, feedback });
      } catch (e) {
        throw new Error(`Redis at ${describeRedis(config.redis)} stopped answering (${errorText(e)})`, { cause: e });
      }
    },
  );
}
