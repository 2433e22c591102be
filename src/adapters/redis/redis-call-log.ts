/**
 * CallLog on a Redis stream: XADD with an approximate MAXLEN cap, so the log stays bounded.
 * Each entry has a few flat fields for filtering (verdict, caller, did) and the whole record as JSON.
 */
import type { RedisClient } from './redis-connection';
import type { CallLog, ScreenedCallRecord } from '../../ports/call-log';
import { describePhoneNumber } from '../../domain/phone-number';

export class RedisCallLog implements CallLog {
  readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    stream: string,
    private readonly maxLength: number,
  ) {
    this.key = `${keyPrefix}${stream}`;
  }

  async append(record: ScreenedCallRecord): Promise<void> {
    await this.redis.xadd(
      this.key, 'MAXLEN', '~', String(this.maxLength), '*',
      'verdict', record.decision.verdict,
      'caller', describePhoneNumber(record.decision.caller),
      'did', describePhoneNumber(record.decision.did),
      'record', JSON.stringify(record),
    );
  }

  async recent(count: number): Promise<ScreenedCallRecord[]> {
    const entries = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count);
    const records: ScreenedCallRecord[] = [];
    for (const [, fields] of entries) {
      const at = fields.indexOf('record');
      const json = at >= 0 ? fields[at + 1] : undefined;
      if (json) records.push(JSON.parse(json) as ScreenedCallRecord);
    }
    return records;
  }
}
