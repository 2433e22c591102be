/**
 * The daemon screens real calls in the real Asterisk: where each call ends is observed from Asterisk
 * (UserEvents in the test bed's agents and voicemail contexts, over AMI), never from the daemon's claim.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { CallHarness } from '../../tools/testbed/call-harness';
import { DEFAULT_TEST_CONFIG, startDaemon, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { placeSipCall } from '../../tools/testbed/sip-call';
import { testbed } from '../support/testbed';
import { deleteKeysWithPrefix } from '../support/redis-keys';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const RULES = `
allow:
  - number: "+1 (212) 555-0147"
    label: Key account
deny:
  - number: "+1 (201) 555-0123"
    label: Harassing caller
  - "+1 900*"
`;

let daemon: DaemonProcess;
let harness: CallHarness;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  await new RedisReputationStore(redis, prefix).put('test-feed', [
    { e164: '+18336317911', score: 0.95, reports: 26, category: 'robocall' },
    { e164: '+14155550199', score: 0.4, reports: 2 },
  ]);
  harness = await CallHarness.open();
  // a short CAPTCHA: one attempt, 1 s for the keys (the callers below press none)
  const captcha = 'captcha:\n  attempts: 1\n  digitTimeoutMs: 1000\n  prompts:\n    greeting: ["sound:beep"]\n';
  daemon = await startDaemon({
    config: `${DEFAULT_TEST_CONFIG}\nredis:\n  keyPrefix: "${prefix}"\n${captcha}`,
    rules: RULES,
  });
});

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const byCaller = (raw: string) => (l: LogLine) => (l.caller as { raw?: string } | undefined)?.raw === raw;

async function callAndObserve(caller: string, did = '+12125550100'): Promise<{ destination: string; line: LogLine }> {
  const call = await harness.placeCall({ caller, did });
  const destination = await harness.waitForDestination(call, 10_000);
  const line = await daemon.screenedLine(byCaller(caller));
  return { destination, line };
}

describe('the daemon routes each call as configured', () => {
  test('an allow-listed caller reaches the agents', async () => {
    const { destination, line } = await callAndObserve('+12125550147');
    expect(destination).toBe('agents');
    expect(line).toMatchObject({ verdict: 'allow', reasons: ['rule.allow'], routedTo: 'agents', score: 0 });
  });

  test('a deny-listed caller goes to voicemail', async () => {
    const { destination, line } = await callAndObserve('+12015550123');
    expect(destination).toBe('voicemail');
    expect(line).toMatchObject({ verdict: 'voicemail', routedTo: 'voicemail' });
    expect(line.explanation).toContain('Harassing caller');
  });

  test('a deny prefix catches a premium-rate caller', async () => {
    const { destination } = await callAndObserve('+19005550100');
    expect(destination).toBe('voicemail');
  });

  test('a number scored high on the Redis reputation list goes to voicemail', async () => {
    const { destination, line } = await callAndObserve('+18336317911');
    expect(destination).toBe('voicemail');
    expect(line).toMatchObject({ verdict: 'voicemail', degraded: false });
    expect(line.reasons).toContain('reputation.listed');
    expect(line.score as number).toBeGreaterThanOrEqual(60);
  });

  test('a number scored low on the reputation list reaches the agents', async () => {
    const { destination, line } = await callAndObserve('+14155550199');
    expect(destination).toBe('agents');
    expect(line).toMatchObject({ verdict: 'allow' });
    expect(line.reasons).toContain('reputation.listed');
  });

  test('a clean number reaches the agents', async () => {
    const { destination, line } = await callAndObserve('+13125550111');
    expect(destination).toBe('agents');
    expect(line).toMatchObject({ verdict: 'allow', degraded: false });
    expect(typeof line.decisionMs).toBe('number');
    expect(line.callId).toEqual(expect.any(String));
  });

  test('every call gets an entry in the screened-call log stream', async () => {
    await callAndObserve('+13125550112');
    // the entry is appended right after the log line is written: wait for it rather than race it
    let entries: Array<[string, string[]]> = [];
    let callers: Array<string | undefined> = [];
    for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      entries = await redis.xrevrange(`${prefix}calls`, '+', '-', 'COUNT', 50);
      callers = entries.map(([, fields]) => fields[fields.indexOf('caller') + 1]);
      if (callers.includes('+13125550112')) break;
    }
    expect(callers).toContain('+13125550112');
    const record = JSON.parse(entries[0]![1][entries[0]![1].indexOf('record') + 1]!) as {
      decision: { reasons: unknown[] };
      routedTo: string;
    };
    expect(record.decision.reasons.length).toBeGreaterThan(0);
  });
});

describe('caller IDs that are not numbers get a decision with a reason', () => {
  // withheld (30 points) and unparseable (40) reach the challenge threshold (30): the CAPTCHA IVR answers;
  // these callers press no key, fail it and go to voicemail (captcha.failVerdict); nothing is remembered
  // (there is no number to remember it by)
  test.each([
    ['anonymous', 'anonymous', 'caller.withheld'],
    ['letters', 'abc', 'caller.unparseable'],
    ['40 digits', '1'.repeat(40), 'caller.unparseable'],
    ['unicode', 'Müller☎', 'caller.unparseable'],
  ])('%s', async (_name, caller, reason) => {
    const call = await harness.placeCall({ caller, did: '+12125550100' });
    expect(await harness.waitForDestination(call, 15_000)).toBe('voicemail');
    const line = await daemon.screenedLine(
      (l) =>
        (l.reasons as string[] | undefined)?.includes(reason) === true && (l.caller as { raw: string }).raw === caller,
    );
    expect(line).toMatchObject({
      verdict: 'challenge',
      routedTo: 'voicemail',
      captcha: { outcome: 'failed', failure: 'silence', attempts: 1 },
    });
  });

  test('an empty caller ID', async () => {
    const call = await harness.placeCall({ caller: '', did: '+12125550100' });
    expect(await harness.waitForDestination(call, 15_000)).toBe('voicemail');
    await daemon.screenedLine((l) => byCaller('')(l) && (l.reasons as string[]).includes('caller.withheld'));
    expect(daemon.child.exitCode).toBeNull();
  });
});

describe('real SIP', () => {
  test('a call placed over SIP with sipp is screened like the others (deny-listed caller to voicemail)', async () => {
    const caller = '+19005550777';
    const voicemail = harness.waitForEvent(
      (e) => e.userevent === 'VoicemailReached' && (e.callerid ?? '').includes(caller),
      15_000,
    );
    const sip = await placeSipCall({ caller, callerName: 'SIP Caller', did: '+12125550100', holdMs: 1500 });
    await voicemail;
    expect(sip.exitCode).toBe(0);
    const line = await daemon.screenedLine(byCaller(caller));
    expect(line).toMatchObject({ verdict: 'voicemail', reasons: ['rule.deny'] });
    expect(String(line.channel ?? '')).toMatch(/^PJSIP\//);
  });
});
