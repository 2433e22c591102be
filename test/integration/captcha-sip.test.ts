/**
 * The CAPTCHA over real SIP: sipp (Debian's sip-tester) calls Asterisk's PJSIP trunk endpoint with the
 * caller ID in the From header, the daemon challenges it, and the caller types the code as RFC 4733
 * telephone-events (Debian's dtmf_2833_<digit>.pcap played into the RTP stream) or as SIP INFO
 * (application/dtmf-relay). The code stays random: the daemon runs with CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1
 * (test only), the test reads it from the 'captcha code' log line once the call is up, and hands it to the
 * running sipp as a control message (startSipCall). Where the call ended comes from Asterisk (AMI
 * UserEvents in the test bed's agents and voicemail contexts).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { CallHarness } from '../../tools/testbed/call-harness';
import { startSipCall, type SipCall } from '../../tools/testbed/sip-call';
import type { AmiMessage } from '../../src/ports/ami';
import {
  startDaemon,
  type DaemonProcess,
  type LogLine,
  testConfigHeader,
  freshCallers,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(40_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const CAPTCHA_DID = '+12125550410';
/** one attempt only: a wrong code fails at once */
const ONE_TRY_DID = '+12125550411';

const CONFIG = `${testConfigHeader(prefix)}policies:
  - name: everyone-is-challenged
    dids: ["${CAPTCHA_DID}", "${ONE_TRY_DID}"]
    thresholds: { challenge: 0 }
  - name: one-try
    dids: ["${ONE_TRY_DID}"]
    captcha: { attempts: 1 }
captcha:
  codeLength: 3
  attempts: 2
  digitTimeoutMs: 4000
  prompts:
    greeting: ["sound:beep"]
log:
  level: debug
`;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess;
const calls: SipCall[] = [];
const freshCaller = freshCallers(700);

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  daemon = await startDaemon({ config: CONFIG, env: { CALLSCREEN_TEST_LOG_CAPTCHA_CODE: '1' } });
}, 30_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((call) => call.close())); // a call a failed test left up
});

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const reached = (userevent: 'AgentReached' | 'VoicemailReached', caller: string) => (e: AmiMessage) =>
  e.userevent === userevent && e.calleridnum === caller;

/** Calls `caller` -> `did` over SIP and waits until the IVR says its first code; returns the call, its id in the daemon's log and the code. */
async function callUntilCodeSaid(
  caller: string,
  did: string,
  dtmfMode: 'rfc4733' | 'info',
): Promise<{ sip: SipCall; callId: string; code: string }> {
  const sip = startSipCall({ caller, callerName: 'SIP Caller', did, dtmfMode });
  calls.push(sip);
  const entered = await daemon.waitForLog((l) => l.msg === 'call entered screening' && l.caller === caller, 10_000);
  const callId = String(entered.callId);
  const code = await daemon.waitForLog(
    (l) => l.callId === callId && l.msg === 'captcha code' && l.attempt === 1,
    10_000,
  );
  return { sip, callId, code: String(code.code) };
}

const screened = (callId: string): Promise<LogLine> => daemon.screenedLine((l) => l.callId === callId, 15_000);

test.each(['rfc4733', 'info'] as const)(
  'the right code typed as %s: passed, on to the agents; the decision carries the From-header caller and the PJSIP channel',
  async (dtmfMode) => {
    const caller = freshCaller();
    const { sip, callId, code } = await callUntilCodeSaid(caller, CAPTCHA_DID, dtmfMode);
    await sip.sendDtmf(code); // typed over the prompt (barge-in) or right after it

    const agents = await harness.waitForEvent(reached('AgentReached', caller), 15_000);
    expect(agents).toMatchObject({
      callerid: caller,
      did: CAPTCHA_DID,
      verdict: 'challenge',
      captcha: 'passed',
      calleridname: 'SIP Caller',
    });
    expect(agents.channel).toMatch(/^PJSIP\/pstn-trunk-[0-9a-f]+$/);

    const line = await screened(callId);
    expect(line).toMatchObject({
      channel: agents.channel,
      caller: { raw: caller, e164: caller, kind: 'e164' },
      did: CAPTCHA_DID,
      verdict: 'challenge',
      routedTo: 'agents',
      captcha: { outcome: 'passed', attempts: 1 },
    });
    // the keys reached the Stasis app as the digits sipp sent (ChannelDtmfReceived)
    expect(daemon.lines.find((l) => l.callId === callId && l.msg === 'captcha attempt')).toMatchObject({
      result: 'right',
      keys: code,
    });

    const result = await sip.hangup();
    expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'caller', dtmfSent: code });
  },
);

test('a wrong code typed as rfc4733 on the last attempt: failed, captcha.failVerdict (voicemail)', async () => {
  const caller = freshCaller();
  const { sip, callId, code } = await callUntilCodeSaid(caller, ONE_TRY_DID, 'rfc4733');
  const wrong = [...code].map((d) => String((Number(d) + 1) % 10)).join('');
  await sip.sendDtmf(wrong);

  const voicemail = await harness.waitForEvent(reached('VoicemailReached', caller), 15_000);
  expect(voicemail).toMatchObject({ callerid: caller, did: ONE_TRY_DID, verdict: 'challenge', captcha: 'failed' });
  expect(voicemail.channel).toMatch(/^PJSIP\/pstn-trunk-[0-9a-f]+$/);
  expect(harness.eventsMatching(reached('AgentReached', caller))).toEqual([]);

  const line = await screened(callId);
  expect(line).toMatchObject({
    channel: voicemail.channel,
    caller: { raw: caller, e164: caller, kind: 'e164' },
    verdict: 'challenge',
    routedTo: 'voicemail',
    captcha: { outcome: 'failed', failure: 'wrong', attempts: 1 },
  });
  expect(daemon.lines.find((l) => l.callId === callId && l.msg === 'captcha attempt')).toMatchObject({
    result: 'wrong',
    keys: wrong,
  });

  const result = await sip.hangup();
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200, dtmfSent: wrong });
});
