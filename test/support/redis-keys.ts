import type Redis from 'ioredis';
import type { ScreenedCallRecord } from '../../src/ports/call-log';

/** Remove what one test file wrote to the shared test-bed Redis (each file uses its own key prefix). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
}

/** The record the daemon appended to the screened-call stream (`<prefix>calls`) for a call, waiting up to 5 s for it. */
export async function screenedCallRecord(redis: Redis, prefix: string, callId: string): Promise<ScreenedCallRecord> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const entries = await redis.xrevrange(`${prefix}calls`, '+', '-', 'COUNT', 500);
    for (const [, fields] of entries) {
      const record = JSON.parse(fields[fields.indexOf('record') + 1] ?? '{}') as ScreenedCallRecord;
      if (record.callId === callId) return record;
    }
    if (Date.now() > deadline) throw new Error(`no screened-call log entry for ${callId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
