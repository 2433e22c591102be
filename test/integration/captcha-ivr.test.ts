/**
 * The CAPTCHA IVR, the voicemail and reject treatments and the tags, on the real Asterisk and Redis.
 * Calls are placed with the harness; the caller's keys are real DTMF (AMI PlayDTMF on the caller half);
 * where each call ends (and the tags it carries) is read from Asterisk's own events. The daemon runs with
 * CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 (test only) so the tests can read the code it says.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Decision } from '../../src/domain/decision';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { CallHarness, type PlacedCall } from '../../tools/testbed/call-harness';
import {
  startDaemon,
  type DaemonProcess,
  type LogLine,
  testConfigHeader,
  freshCallers,
} from '../support/daemon-process';
import { deleteKeysWithPrefix, screenedCallRecord } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(90_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const CAPTCHA_DIDS = ['+12125550400', '+12125550401'] as const;
const SHADOW_DID = '+12125550402';
const REJECT_DID = '+12125550403';
const SLOW_DID = '+12125550404';
const FRENCH_DID = '+12125550405';
const BURST_DID = '+12125550406';
/** a long greeting: a hang-up "during the greeting" stays inside it however late the test's hang-up lands */
const LONG_GREETING_DID = '+12125550407';

/** Every call on the CAPTCHA DIDs is challenged (challenge threshold 0); a pass (-60) lets the next call through. */
const config = (extra: string): string => `${testConfigHeader(prefix)}didGroups:
  captcha: ["${CAPTCHA_DIDS[0]}", "${CAPTCHA_DIDS[1]}"]
policies:
  - name: everyone-is-challenged
    dids: [captcha, "${SLOW_DID}", "${FRENCH_DID}", "${BURST_DID}", "${LONG_GREETING_DID}"]
    thresholds: { challenge: 0 }
  - name: shadow
    dids: ["${SHADOW_DID}"]
    thresholds: { challenge: 0 }
    shadow: true
  - name: rejected
    dids: ["${REJECT_DID}"]
    thresholds: { challenge: 0, voicemail: 0, reject: 0 }
  - name: slow-captcha
    dids: ["${SLOW_DID}"]
    captcha: { attempts: 5, digitTimeoutMs: 30000 }
  - name: french
    dids: ["${FRENCH_DID}"]
    captcha: { language: fr, attempts: 1, digitTimeoutMs: 1000 }
    voicemail: { context: callscreen-voicemail, extension: "4242" }
  - name: burst
    dids: ["${BURST_DID}"]
    captcha: { digitTimeoutMs: 8000 }
  - name: long-greeting
    dids: ["${LONG_GREETING_DID}"]
    captcha: { prompts: { greeting: ["sound:silence/5", "sound:beep"] } }
captcha:
  codeLength: 2
  attempts: 2
  digitTimeoutMs: 2500
  prompts:
    greeting: ["sound:silence/1", "sound:beep"]
tags:
  callerNamePrefix: "SPAM? "
log:
  level: debug
${extra}`;

let harness: CallHarness;
let redis: Redis;
let cdrEnabled: boolean;
const freshCaller = freshCallers(200);

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  const status = await harness.ami.action({ action: 'Command', command: 'cdr show status' });
  cdrEnabled = /Logging:\s+Enabled/i.test(status.output ?? '');
});

afterAll(async () => {
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

function loggedRecord(callId: string): Promise<ScreenedCallRecord> {
  return screenedCallRecord(redis, prefix, callId);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const of = (call: PlacedCall) => (l: LogLine) => l.callId === call.screenedUniqueId;

function ivrHelpers(daemon: () => DaemonProcess) {
  /** The code the IVR says on `attempt` (logged at debug level because of CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1). */
  const codeOf = async (call: PlacedCall, attempt = 1): Promise<string> => {
    const line = await daemon().waitForLog(
      (l) => of(call)(l) && l.msg === 'captcha code' && l.attempt === attempt,
      15_000,
    );
    return String(line.code);
  };
  /** Waits until the code has been said and the IVR waits for keys. */
  const codeSaid = (call: PlacedCall, attempt = 1): Promise<LogLine> =>
    daemon().waitForLog(
      (l) => of(call)(l) && l.msg === 'captcha code said; waiting for keys' && l.attempt === attempt,
      15_000,
    );
  const screened = (call: PlacedCall, timeoutMs = 30_000): Promise<LogLine> =>
    daemon().screenedLine(of(call), timeoutMs);
  return { codeOf, codeSaid, screened };
}

describe('CAPTCHA IVR (reject treatment: hangup with cause busy)', () => {
  let daemon: DaemonProcess;
  const { codeOf, codeSaid, screened } = ivrHelpers(() => daemon);

  beforeAll(async () => {
    daemon = await startDaemon({
      config: config('routing:\n  reject: { treatment: hangup, hangupReason: busy }\n'),
      env: { CALLSCREEN_TEST_LOG_CAPTCHA_CODE: '1' },
    });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  test('the right code: agents, tagged, and the number is trusted on its next call (not challenged)', async () => {
    const caller = freshCaller();
    const call = await harness.placeCall({ caller, did: CAPTCHA_DIDS[0], callerName: 'Ann Smith' });
    const code = await codeOf(call);
    await codeSaid(call);
    await harness.pressDigits(call, code);
    expect(await harness.waitForDestination(call, 15_000)).toBe('agents');
    const line = await screened(call);
    expect(line).toMatchObject({
      verdict: 'challenge',
      routedTo: 'agents',
      captcha: { outcome: 'passed', attempts: 1 },
    });
    const reached = harness.destinationEvent(call);
    expect(reached).toMatchObject({
      verdict: 'challenge',
      captcha: 'passed',
      score: String(line.score),
      callername: 'Ann Smith',
    }); // a pass is never marked "SPAM?"
    expect(cdrEnabled).toBe(true); // test/testbed/asterisk/cdr.conf: the CDR engine is on, as on FreePBX
    expect(reached?.userfield).toBe(
      `callscreen:challenge:${String(line.score)}:${(line.top as string[])[0] ?? 'none'}:captcha-passed`,
    );

    // next call (another DID of the group: no repeat-caller points): trusted, not challenged
    const again = await harness.placeCall({ caller, did: CAPTCHA_DIDS[1] });
    expect(await harness.waitForDestination(again, 10_000)).toBe('agents');
    const decision: Decision = (await loggedRecord(again.screenedUniqueId)).decision;
    expect(decision.verdict).toBe('allow');
    expect(decision.reasons.find((r) => r.code === 'captcha.passed')).toMatchObject({ points: -60 });
    expect((await loggedRecord(again.screenedUniqueId)).captcha).toBeUndefined();
  });

  test('a wrong code, then the right one: agents after two attempts', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: CAPTCHA_DIDS[0] });
    const first = await codeOf(call, 1);
    await codeSaid(call, 1);
    await harness.pressDigits(call, first === '99' ? '98' : '99');
    const second = await codeOf(call, 2);
    await codeSaid(call, 2);
    await harness.pressDigits(call, second);
    expect(await harness.waitForDestination(call, 20_000)).toBe('agents');
    expect(await screened(call)).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'passed', attempts: 2 } });
  });

  test('keys pressed while the prompt still plays count (barge-in)', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: CAPTCHA_DIDS[0] });
    const code = await codeOf(call); // logged just before the prompt starts
    await harness.pressDigits(call, code, { between: 100 });
    expect(await harness.waitForDestination(call, 15_000)).toBe('agents');
    expect(await screened(call)).toMatchObject({ captcha: { outcome: 'passed', attempts: 1 } });
    const lines = daemon.lines.filter(of(call)).map((l) => l.msg);
    expect(lines).toContain('captcha key during the prompt: prompt stopped (barge-in)');
    expect(lines).not.toContain('captcha code said; waiting for keys');
  });

  test('no key at all: captcha.failVerdict (voicemail), and the failure counts on the next call', async () => {
    const caller = freshCaller();
    const call = await harness.placeCall({ caller, did: CAPTCHA_DIDS[0] });
    expect(await harness.waitForDestination(call, 20_000)).toBe('voicemail');
    const line = await screened(call);
    expect(line).toMatchObject({
      verdict: 'challenge',
      routedTo: 'voicemail',
      captcha: { outcome: 'failed', failure: 'silence', attempts: 1 },
    });
    expect(harness.destinationEvent(call)).toMatchObject({ verdict: 'challenge', captcha: 'failed' });

    const again = await harness.placeCall({ caller, did: CAPTCHA_DIDS[1] });
    await codeOf(again); // challenged again
    const decision = (await loggedRecordWhenScreened(again)).decision;
    expect(decision.verdict).toBe('challenge');
    expect(decision.reasons.find((r) => r.code === 'captcha.failed')).toMatchObject({ points: 25 });
  });

  /** The record of a call still in the IVR: hang it up, then read its record. */
  async function loggedRecordWhenScreened(call: PlacedCall): Promise<ScreenedCallRecord> {
    await harness.hangup(call);
    await screened(call);
    return loggedRecord(call.screenedUniqueId);
  }

  test('a hang-up during the greeting ends the IVR cleanly, logged once', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: LONG_GREETING_DID });
    await daemon.waitForLog((l) => of(call)(l) && l.msg === 'captcha started');
    await sleep(400); // answered; the greeting (5 s of silence, a beep) plays
    await harness.hangup(call);
    expect(await harness.waitForDestination(call, 10_000)).toBe('hangup');
    const line = await screened(call);
    expect(line).toMatchObject({ routedTo: 'none', captcha: { outcome: 'hangup', attempts: 0 } });
    await sleep(500);
    const mine = daemon.lines.filter(of(call));
    expect(mine.filter((l) => l.msg === 'caller hung up during the CAPTCHA')).toHaveLength(1);
    expect(mine.filter((l) => String(l.msg).startsWith('call screened'))).toHaveLength(1);
    expect(mine.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    expect(daemon.child.exitCode).toBeNull();
  });

  test('a hang-up while the IVR waits for keys ends it cleanly; nothing is remembered', async () => {
    const caller = freshCaller();
    const call = await harness.placeCall({ caller, did: CAPTCHA_DIDS[0] });
    await codeSaid(call);
    await harness.hangup(call);
    expect(await screened(call)).toMatchObject({ routedTo: 'none', captcha: { outcome: 'hangup', attempts: 1 } });
    await sleep(300);
    const mine = daemon.lines.filter(of(call));
    expect(mine.filter((l) => l.msg === 'caller hung up during the CAPTCHA')).toHaveLength(1);
    expect(mine.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    expect(await redis.zscore(`${prefix}caller:${caller}`, 'c:p')).toBeNull();
    expect(await redis.zscore(`${prefix}caller:${caller}`, 'c:f')).toBeNull();
  });

  test('reject, treatment hangup: hung up by Asterisk with the configured cause (busy = 17)', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: REJECT_DID });
    expect(await harness.waitForDestination(call, 10_000)).toBe('hangup');
    const hangup = await harness.waitForEvent(
      (e) => e.event === 'Hangup' && e.uniqueid === call.screenedUniqueId,
      5000,
    );
    expect(hangup.cause).toBe('17');
    expect(await screened(call)).toMatchObject({ verdict: 'reject', routedTo: 'hangup' });
  });

  test('shadow mode: a suspect call reaches the agents with the caller-name prefix and its tags', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: SHADOW_DID, callerName: 'Bob' });
    expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
    const line = await screened(call);
    expect(line).toMatchObject({ verdict: 'allow', shadowVerdict: 'challenge' });
    expect(harness.destinationEvent(call)).toMatchObject({
      verdict: 'allow',
      score: String(line.score),
      callername: 'SPAM? Bob',
      captcha: '',
    });
  });

  test('a clean call on a line without policies: tags without prefix; reasons joined (| in the test bed event)', async () => {
    const call = await harness.placeCall({
      caller: freshCaller(),
      did: '+16465550199',
      callerName: 'Carol',
      channelVars: { CALLSCREEN_ATTESTATION: 'A' },
    });
    expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
    const line = await screened(call);
    const reached = harness.destinationEvent(call);
    expect(reached).toMatchObject({
      verdict: 'allow',
      score: String(line.score),
      callername: 'Carol',
      reasons: (line.top as string[]).join('|'),
    });
    expect((line.top as string[]).length).toBeGreaterThan(0);
    expect(daemon.lines.filter((l) => l.msg === 'channel variable not set; the call goes on without it')).toEqual([]);
  });

  test('per-DID settings: language, attempts and the voicemail target from the DID policy', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: FRENCH_DID });
    await daemon.waitForLog(
      (l) => of(call)(l) && l.msg === 'captcha started' && l.language === 'fr' && l.attempts === 1,
    );
    const voicemail = await harness.waitForEvent(
      (e) => e.userevent === 'VoicemailReached' && e.testid === call.testId,
      20_000,
    );
    expect(voicemail.did).toBe('4242');
  });

  test('50 challenged calls at once, all answered right: all reach the agents, each logged once', async () => {
    const calls = await Promise.all(
      Array.from({ length: 50 }, () => harness.placeCall({ caller: freshCaller(), did: BURST_DID })),
    );
    await Promise.all(calls.map(async (call) => harness.pressDigits(call, await codeOf(call, 1), { between: 120 })));
    const destinations = await Promise.all(calls.map((call) => harness.waitForDestination(call, 30_000)));
    expect(destinations).toEqual(calls.map(() => 'agents'));
    for (const call of calls) {
      const line = await screened(call);
      expect(line).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'passed' } });
    }
    await sleep(500);
    for (const call of calls)
      expect(daemon.lines.filter((l) => of(call)(l) && String(l.msg).startsWith('call screened'))).toHaveLength(1);
    expect(daemon.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('reject announcement and the watchdog', () => {
  let daemon: DaemonProcess;
  const { codeSaid, screened } = ivrHelpers(() => daemon);

  beforeAll(async () => {
    daemon = await startDaemon({
      config: config('routing:\n  reject: { treatment: announcement }\n').replace(
        'captcha:\n',
        'captcha:\n  maxDurationMs: 10000\n',
      ),
      env: { CALLSCREEN_TEST_LOG_CAPTCHA_CODE: '1' },
    });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  test('reject, treatment announcement: answered, the tone and the message played, then hung up (rejected = 21)', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: REJECT_DID });
    const started = Date.now();
    expect(await harness.waitForDestination(call, 30_000)).toBe('hangup');
    const hangup = await harness.waitForEvent(
      (e) => e.event === 'Hangup' && e.uniqueid === call.screenedUniqueId,
      5000,
    );
    expect(hangup.cause).toBe('21');
    expect(Date.now() - started).toBeGreaterThan(2000); // the information tone (cut after 1.2 s) and ss-noservice
    expect(await screened(call)).toMatchObject({ verdict: 'reject', routedTo: 'announcement' });
    expect(
      harness
        .eventsOf(call)
        .some((e) => e.event === 'Newstate' && e.uniqueid === call.screenedUniqueId && e.channelstatedesc === 'Up'),
    ).toBe(true);
  });

  test('watchdog: a caller who never finishes is sent to the agents after captcha.maxDurationMs', async () => {
    const call = await harness.placeCall({ caller: freshCaller(), did: SLOW_DID, callerName: 'Dave' });
    const started = Date.now();
    await codeSaid(call);
    await harness.pressDigits(call, '1'); // one key of two, then nothing: the 30 s digit timeout would run on
    expect(await harness.waitForDestination(call, 20_000)).toBe('agents');
    // the watchdog's 10 s plus room for a loaded machine; without it the 30 s digit timeout would end the call
    expect(Date.now() - started).toBeLessThan(16_000);
    const line = await screened(call);
    expect(line).toMatchObject({ verdict: 'challenge', routedTo: 'agents', captcha: { outcome: 'timeout' } });
    expect(
      daemon.lines.some((l) => of(call)(l) && l.level === 'warn' && String(l.msg).startsWith('CAPTCHA watchdog')),
    ).toBe(true);
    // not a pass: the agents see the prefix
    expect(harness.destinationEvent(call)).toMatchObject({ captcha: 'timeout', callername: 'SPAM? Dave' });
  });
});
