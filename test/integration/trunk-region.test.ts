/**
 * A region per trunk (numbers.endpointRegions) over real SIP: the test bed's second PJSIP endpoint,
 * ch-trunk (calls from 127.0.0.2), is a Swiss carrier sending numbers in national form. With
 * endpointRegions {ch-trunk: CH}, the caller and the DID of its calls are read as Swiss numbers (so a
 * deny rule written in E.164 matches); the same numbers through pstn-trunk are read with the default
 * region (US) and do not. A DID group with a region (numbers.didGroupRegions) does the same for calls to its
 * DIDs, whichever trunk they come through.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { placeSipCall } from '../../tools/testbed/sip-call';
import { startDaemon, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(40_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const CONFIG = `
numbers:
  defaultRegion: US
  endpointRegions: { ch-trunk: CH }
  didGroupRegions: { zurich-lines: CH }
didGroups:
  zurich-lines: ["044 200 11 99"]     # written nationally: in the group's region
redis:
  keyPrefix: "${prefix}"
screening:
  deadlineMs: 500
  timeZone: UTC
log:
  level: debug
`;
const RULES = `allow: []
deny:
  - number: "+41 44 668 18 00"
    label: Swiss number denied in E.164
`;

let redis: Redis;
let daemon: DaemonProcess;

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  daemon = await startDaemon({ config: CONFIG, rules: RULES });
}, 30_000);

afterAll(async () => {
  await daemon?.stop();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const entered = (caller: string, endpoint: string) => (l: LogLine) =>
  l.msg === 'call entered screening' && l.caller === caller && l.endpoint === endpoint;

test("a trunk with a region: its national numbers are read with it, the caller's and the DID", async () => {
  const result = await placeSipCall({ caller: '0446681800', did: '0442001122', fromAddress: '127.0.0.2', holdMs: 300 });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  const start = await daemon.waitForLog(entered('0446681800', 'ch-trunk'), 10_000);
  expect(start).toMatchObject({ region: 'CH' });
  const line = await daemon.screenedLine((l) => l.callId === start.callId, 10_000);
  expect(line).toMatchObject({
    caller: { raw: '0446681800', e164: '+41446681800', kind: 'e164' },
    did: '+41442001122',
    verdict: 'voicemail',
    routedTo: 'voicemail',
  });
  expect(line.reasons).toContain('rule.deny');
});

test('the same numbers through a trunk without one are read with numbers.defaultRegion', async () => {
  await placeSipCall({ caller: '0446681800', did: '0442001122', holdMs: 300 });
  const start = await daemon.waitForLog(entered('0446681800', 'pstn-trunk'), 10_000);
  expect(start.region).toBeUndefined();
  const line = await daemon.screenedLine((l) => l.callId === start.callId, 10_000);
  expect((line.caller as { e164?: string | null }).e164).not.toBe('+41446681800');
  expect(line.reasons).not.toContain('rule.deny');
});

test('a DID group with a region: calls to its DIDs are read with it, through a trunk that has none', async () => {
  await placeSipCall({ caller: '0446681800', did: '+41442001199', holdMs: 300 });
  const start = await daemon.waitForLog(
    (l) => entered('0446681800', 'pstn-trunk')(l) && l.did === '+41442001199',
    10_000,
  );
  const line = await daemon.screenedLine((l) => l.callId === start.callId, 10_000);
  expect(line).toMatchObject({ caller: { e164: '+41446681800' }, did: '+41442001199', verdict: 'voicemail' });
  expect(line.reasons).toContain('rule.deny');
});
