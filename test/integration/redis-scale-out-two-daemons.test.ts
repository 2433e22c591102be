/**
 * Two daemons (as on two PBXs) on one Redis share one store and one log. Both run against the test
 * bed's Asterisk under their own Stasis app names (ari.app); each call picks its daemon with the
 * channel variable CALLSCREEN_APP, which dialplan/callscreen.conf hands to Stasis() (empty: "callscreen").
 * Run under flock /tmp/callscreen-testbed.lock.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { CallHarness, type CallDestination } from '../../tools/testbed/call-harness';
import { freshCallers, startDaemon, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(90_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const APP_A = 'cs-scale-a';
const APP_B = 'cs-scale-b';
const nextCaller = freshCallers(650);

// velocity: a third call from one number within 10 minutes adds 70 points (voicemail at 60). The calls go
// to different DIDs (a repeat call to one DID would earn the repeat credit), so the DID spread is off here:
// its 30 points at the third DID would tip the third call into reject and hide what this file checks.
const config = (app: string) => `
numbers:
  defaultRegion: US
ari:
  app: ${app}
redis:
  keyPrefix: "${prefix}"
screening:
  deadlineMs: 500
  timeZone: UTC
  signals:
    velocity:
      number: [{ windowSeconds: 600, calls: 3, points: 70 }]
    didSpread: { windowSeconds: 0 }
`;

let daemonA: DaemonProcess;
let daemonB: DaemonProcess;
let harness: CallHarness;
let redis: Redis;
const listed = nextCaller();

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  // written once, before the daemons start (a daemon learns new reputation sources on its periodic refresh)
  await new RedisReputationStore(redis, prefix).put('scale-out-feed', [
    { e164: listed, score: 0.95, reports: 30, category: 'robocall' },
  ]);
  harness = await CallHarness.open();
  [daemonA, daemonB] = await Promise.all([
    startDaemon({ config: config(APP_A) }),
    startDaemon({ config: config(APP_B) }),
  ]);
});

afterAll(async () => {
  await Promise.all([daemonA?.stop(), daemonB?.stop()]);
  await harness?.close();
  if (redis) await deleteKeysWithPrefix(redis, prefix);
  redis?.disconnect();
});

/** One call through the daemon registered as `app`: where Asterisk says it went, and that daemon's log line. */
async function callThrough(
  daemon: DaemonProcess,
  app: string,
  caller: string,
  did: string,
): Promise<{ destination: CallDestination; line: LogLine; callId: string }> {
  const call = await harness.placeCall({ caller, did, channelVars: { CALLSCREEN_APP: app } });
  const destination = await harness.waitForDestination(call, 15_000);
  const line = await daemon.screenedLine((l) => l.callId === call.screenedUniqueId);
  return { destination, line, callId: call.screenedUniqueId };
}

async function streamRecords(): Promise<ScreenedCallRecord[]> {
  const entries = await redis.xrange(`${prefix}calls`, '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('record') + 1] ?? '{}') as ScreenedCallRecord);
}

test('each daemon takes the calls sent to its own Stasis app', async () => {
  const a = await callThrough(daemonA, APP_A, nextCaller(), '+12125550100');
  const b = await callThrough(daemonB, APP_B, nextCaller(), '+12125550100');
  expect([a.destination, b.destination]).toEqual(['agents', 'agents']);
  expect(daemonB.lines.some((l) => l.callId === a.callId)).toBe(false);
  expect(daemonA.lines.some((l) => l.callId === b.callId)).toBe(false);
});

test("daemon B counts daemon A's calls from the same number in its velocity window (shared history)", async () => {
  const caller = nextCaller();
  // different DIDs: a repeat call to the same DID would lower the score (repeatCaller)
  const first = await callThrough(daemonA, APP_A, caller, '+12125550101');
  const second = await callThrough(daemonA, APP_A, caller, '+12125550102');
  expect([first.destination, second.destination]).toEqual(['agents', 'agents']);
  expect(second.line.reasons).not.toContain('velocity.number');

  const third = await callThrough(daemonB, APP_B, caller, '+12125550103');
  expect(third.line).toMatchObject({ verdict: 'voicemail', degraded: false });
  expect(third.line.reasons).toContain('velocity.number');
  expect(third.destination).toBe('voicemail');

  // both daemons' decisions are in the one stream, each call once (written just after the log line: wait)
  const ids = [first, second, third].map((c) => c.callId);
  let records = await streamRecords();
  for (const until = Date.now() + 5000; Date.now() < until; records = await streamRecords()) {
    if (ids.every((id) => records.some((r) => r.callId === id))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const { callId } of [first, second, third]) expect(records.filter((r) => r.callId === callId)).toHaveLength(1);
});

test('a reputation entry written once is seen by both daemons', async () => {
  const viaA = await callThrough(daemonA, APP_A, listed, '+12125550104');
  const viaB = await callThrough(daemonB, APP_B, listed, '+12125550105');
  for (const { destination, line } of [viaA, viaB]) {
    expect(destination).toBe('voicemail');
    expect(line.reasons).toContain('reputation.listed');
  }
});
