/**
 * The last screened call each agent answered, in Redis: <p>answered:<agent> holds {e164, callId, at} as JSON
 * with a time to live (feedback.spamKey.withinMinutes). take() reads and deletes it in one MULTI, so two
 * presses of the spam key (or two daemons) never mark one call twice.
 */
import type { AnsweredCall, AnsweredCallStore } from '../../ports/answered-call-store';
import type { RedisClient } from './redis-connection';

export class RedisAnsweredCallStore implements AnsweredCallStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async remember(agent: string, call: AnsweredCall, keepMs: number): Promise<void> {
    await this.redis.set(this.key(agent), JSON.stringify(call), 'PX', Math.max(1, Math.round(keepMs)));
  }

  async take(agent: string): Promise<AnsweredCall | null> {
    const key = this.key(agent);
    const replies = await this.redis.multi().get(key).del(key).exec();
    const [error, value] = replies?.[0] ?? [null, null];
    if (error) throw error;
    return typeof value === 'string' ? parseAnsweredCall(value) : null;
  }

  private key(agent: string): string {
    return `${this.keyPrefix}answered:${agent}`;
  }
}

/** The stored JSON, or null when it is not what remember() writes (someone else's key). */
function parseAnsweredCall(text: string): AnsweredCall | null {
  try {
    const value = JSON.parse(text) as Partial<AnsweredCall> | null;
    if (
      value &&
      typeof value.e164 === 'string' &&
      typeof value.callId === 'string' &&
      typeof value.at === 'number' &&
      Number.isFinite(value.at)
    )
      return { e164: value.e164, callId: value.callId, at: value.at };
  } catch {
    // not JSON: nothing to mark
  }
  return null;
}
