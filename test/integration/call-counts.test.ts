/**
 * The per-hour counts the daemon keeps as it logs (the console's summary), on a real Redis: they equal a count
 * of the log's own entries, a record appended twice counts once, and a log written before counting began is
 * summed from its entries for those hours and from the counts after.
 */
import type Redis from 'ioredis';
import { entryFields, RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { HOUR_MS } from '../../src/domain/call-counts';
import type { Decision, Verdict } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { SummaryCounter } from '../../src/http-api/console-data';
import { computeSummary } from '../../src/http-api/console-routes';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const server = new PrivateRedis(16472);
let redis: Redis;
beforeAll(async () => {
  await server.start();
  redis = server.client();
});
afterAll(async () => {
  redis?.disconnect();
  await server.kill();
});

let seq = 0;
function record(
  caller: string,
  verdict: Verdict,
  atMs: number,
  captcha?: 'passed' | 'failed' | 'hangup',
): ScreenedCallRecord {
  const at = new Date(atMs).toISOString();
  const decision: Decision = {
    verdict,
    score: verdict === 'allow' ? 0 : 60,
    reasons: verdict === 'voicemail' ? [{ code: 'reputation.listed', text: 'listed', points: 60 }] : [],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber(caller, 'US'),
    did: normalisePhoneNumber('+12125550100', 'US'),
    at,
  };
  seq += 1;
  return {
    callId: `call-${seq}`,
    at,
    channel: `PJSIP/t-${seq}`,
    decision,
    routedTo: verdict === 'allow' ? 'agents' : verdict,
    decisionMs: 1,
    host: 'pbx1',
    ...(captcha ? { captcha: { outcome: captcha, attempts: 1, ms: 4000 } } : {}),
  };
}

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * 60_000; // half past this hour
const calls = (): ScreenedCallRecord[] => [
  record('+14155550101', 'allow', NOW - 3 * HOUR_MS),
  record('+14155550102', 'voicemail', NOW - 3 * HOUR_MS + 1000),
  record('+14155550102', 'voicemail', NOW - 2 * HOUR_MS),
  record('+14155550103', 'challenge', NOW - 2 * HOUR_MS + 5, 'passed'),
  record('+14155550104', 'challenge', NOW - HOUR_MS, 'failed'),
  record('anonymous', 'reject', NOW - 60_000),
  record('+14155550102', 'voicemail', NOW - 30_000),
];

async function fromEntries(log: RedisCallLog, hours: number) {
  const counter = new SummaryCounter(hours, NOW);
  for await (const call of log.entries({ start: String(counter.fromMs - 10 * HOUR_MS), end: '+' }))
    if (Date.parse(call.record.at) >= counter.fromMs) counter.add(call, Date.parse(call.record.at));
  return counter.result(false);
}
async function fromCounts(log: RedisCallLog, hours: number) {
  const counter = new SummaryCounter(hours, NOW);
  for (const tally of await log.hourTallies(Math.floor(counter.fromMs / HOUR_MS), hours)) counter.addTally(tally);
  return counter.result(false);
}

test('the counts kept as calls are logged equal a count of the entries; a record appended twice counts once', async () => {
  const log = new RedisCallLog(redis, 'counts-1:', 'calls', 100_000);
  for (const r of calls()) expect(await log.append(r)).toBe(true);
  const again = calls()[1] as ScreenedCallRecord;
  seq -= calls().length; // the same ids as above
  expect(await log.append({ ...again, callId: 'call-2' })).toBe(false);
  const counted = await fromCounts(log, 24);
  expect(counted).toEqual(await fromEntries(log, 24));
  expect(counted.calls).toBe(7);
  expect(counted.topSpam[0]).toEqual({ number: '+14155550102', calls: 3 });
  expect(counted.captcha).toMatchObject({ passed: 1, failed: 1, other: 0 });
  expect(counted.byHour.at(-1)).toMatchObject({ reject: 1, voicemail: 1 });
  // the hour counting began in, by the append clock (the records' own times are earlier)
  expect(await log.countedSince()).toBe(Math.floor(Date.now() / HOUR_MS));
  expect(await redis.ttl(`counts-1:calls:hour:${Math.floor(NOW / HOUR_MS)}`)).toBeGreaterThan(7 * 24 * 3600);
});

test('the console summary: a log written before counting began is read from its entries, the counted hours from the counts', async () => {
  const log = new RedisCallLog(redis, 'counts-2:', 'calls', 100_000);
  const now = Date.now();
  const [old1, old2] = calls().map((r, i) => ({ ...r, at: new Date(now - 3 * HOUR_MS + i).toISOString() }));
  // written as an older daemon did: entries only (their ids carry their time), no counts
  for (const r of [old1, old2] as ScreenedCallRecord[])
    await redis.xadd(log.key, `${Date.parse(r.at)}-0`, ...entryFields(r));
  expect(await log.countedSince()).toBeUndefined();
  const before = await computeSummary(log, 24, now);
  expect(before).toMatchObject({ calls: 2, skipped: 0 });
  // a daemon that counts appends two calls now: its hour is read from the entries (it was partly counted)
  for (const r of [record('+14155550199', 'voicemail', now), record('+14155550198', 'allow', now + 1)])
    await log.append(r);
  expect(await log.countedSince()).toBe(Math.floor(now / HOUR_MS));
  const after = await computeSummary(log, 24, now + 2);
  expect(after.calls).toBe(4);
  expect(after.topSpam.map((t) => t.number)).toContain('+14155550199');
  // an hour later the counted hours come from the counts: the same figures, no call twice
  const later = await computeSummary(log, 24, now + HOUR_MS);
  expect(later.calls).toBe(4);
  expect(later.byHour.reduce((n, h) => n + h.allow + h.challenge + h.voicemail + h.reject, 0)).toBe(4);
});
