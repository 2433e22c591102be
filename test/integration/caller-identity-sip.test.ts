/**
 * The carrier's verstat over real SIP: sipp calls the test bed's PJSIP trunk with ";verstat=..." on the
 * caller's number in From or in P-Asserted-Identity, as US carriers deliver their STIR/SHAKEN verdict;
 * the product dialplan ([callscreen-identity]) reads it, Stasis hands it over, and the daemon scores it as
 * the attestation it means and says so. Where a call ended comes from Asterisk (AMI UserEvents).
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { CallHarness } from '../../tools/testbed/call-harness';
import { placeSipCall, startSipCall, type SipCall } from '../../tools/testbed/sip-call';
import type { AmiMessage } from '../../src/ports/ami';
import {
  startDaemon,
  type DaemonProcess,
  aboutCaller,
  testConfigHeader,
  freshCallers,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(40_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const DID = '+12125550430';

// the example's attestation points (failed +40, none +5, A -15) and thresholds (challenge 30)
const CONFIG = `${testConfigHeader(prefix)}captcha:
  codeLength: 3
  prompts:
    greeting: ["sound:beep"]
log:
  level: debug
`;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess;
const calls: SipCall[] = [];
const freshCaller = freshCallers(740);

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  daemon = await startDaemon({ config: CONFIG });
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

const agentReached = (caller: string) => (e: AmiMessage) => e.userevent === 'AgentReached' && e.calleridnum === caller;

test('TN-Validation-Failed on the From number: an unknown caller is challenged, and the reason gives the carrier verdict', async () => {
  const caller = freshCaller();
  const sip = startSipCall({ caller, callerName: 'SIP Caller', did: DID, fromParams: ';verstat=TN-Validation-Failed' });
  calls.push(sip);
  const entered = await daemon.waitForLog((l) => l.msg === 'call entered screening' && l.caller === caller, 10_000);
  expect(entered).toMatchObject({ verstat: 'TN-Validation-Failed' });
  expect(entered.attestation).toBeUndefined();
  const callId = String(entered.callId);
  await daemon.waitForLog((l) => l.callId === callId && l.msg === 'captcha started', 10_000);
  await sip.hangup();

  const line = await daemon.screenedLine((l) => l.callId === callId, 15_000);
  expect(line).toMatchObject({
    caller: { e164: caller },
    verdict: 'challenge',
    attestation: 'failed',
    verstat: 'TN-Validation-Failed',
    captcha: { outcome: 'hangup' },
  });
  expect(String(line.explanation)).toContain(
    'attestation +40: verstat TN-Validation-Failed: the carrier could not verify the caller ID',
  );
});

test("P-Asserted-Identity's verstat wins over From's: TN-Validation-Passed-A reaches the agents with attestation A", async () => {
  const caller = freshCaller();
  const result = await placeSipCall({
    caller,
    callerName: 'SIP Caller',
    did: DID,
    fromParams: ';verstat=TN-Validation-Failed',
    pai: `<sip:${caller};verstat=TN-Validation-Passed-A@127.0.0.1;user=phone>`,
    holdMs: 500,
  });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  const agents = await harness.waitForEvent(agentReached(caller), 10_000);
  expect(agents).toMatchObject({ verdict: 'allow' });

  const line = await daemon.screenedLine(aboutCaller(caller), 10_000);
  expect(line).toMatchObject({ verdict: 'allow', attestation: 'A', verstat: 'TN-Validation-Passed-A' });
  expect(String(line.explanation)).toContain('attestation -15: verstat TN-Validation-Passed-A');
});

test('No-TN-Validation in a tel: URI in P-Asserted-Identity: scored as no identity; a call without verstat has no attestation', async () => {
  const unverified = freshCaller();
  const plain = freshCaller();
  await Promise.all([
    placeSipCall({ caller: unverified, did: DID, pai: `<tel:${unverified};verstat=No-TN-Validation>`, holdMs: 300 }),
    placeSipCall({ caller: plain, did: DID, holdMs: 300 }),
  ]);

  const unverifiedLine = await daemon.screenedLine(aboutCaller(unverified), 10_000);
  expect(unverifiedLine).toMatchObject({ verdict: 'allow', attestation: 'none', verstat: 'No-TN-Validation' });
  expect(String(unverifiedLine.explanation)).toContain('attestation +5: verstat No-TN-Validation');

  const plainLine = await daemon.screenedLine(aboutCaller(plain), 10_000);
  expect(plainLine).toMatchObject({ verdict: 'allow' });
  expect(plainLine.attestation).toBeUndefined();
  expect(plainLine.verstat).toBeUndefined();
  expect(plainLine.reasons).not.toContain('attestation');
});

test('From naming another number than P-Asserted-Identity: the asserted caller is screened and the mismatch scored; a forwarded call says who forwarded it', async () => {
  const asserted = freshCaller();
  const written = freshCaller();
  const forwarder = freshCaller();
  const result = await placeSipCall({
    caller: written,
    did: DID,
    pai: `<sip:${asserted}@127.0.0.1;user=phone>`,
    diversion: `<sip:${forwarder}@127.0.0.1>;reason=unconditional`,
    holdMs: 300,
  });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });

  const line = await daemon.screenedLine(aboutCaller(asserted), 10_000);
  expect(line).toMatchObject({ verdict: 'allow', score: 10 });
  expect(line.reasons).toEqual(expect.arrayContaining(['caller.identity-mismatch', 'caller.forwarded']));
  expect(String(line.explanation)).toContain(
    `caller.identity-mismatch +10: the From header says ${written}, the carrier asserts ${asserted} (the number screened)`,
  );
  expect(String(line.explanation)).toContain(
    `caller.forwarded: forwarded by ${forwarder}: screened on the caller ${asserted}`,
  );
});

test('the same number in From and P-Asserted-Identity, written nationally in one: no mismatch', async () => {
  const caller = freshCaller();
  await placeSipCall({ caller: caller.slice(2), did: DID, pai: `<sip:${caller}@127.0.0.1;user=phone>`, holdMs: 300 });
  const line = await daemon.screenedLine(aboutCaller(caller), 10_000);
  expect(line.reasons).not.toContain('caller.identity-mismatch');
});

test.each([
  ['From', 'TN-Validation-Passed', 'B', 'allow'],
  ['From', 'No-TN-Validation', 'none', 'allow'],
  ['P-Asserted-Identity', 'TN-Validation-Failed', 'failed', 'challenge'],
  ['P-Asserted-Identity', 'TN-Validation-Passed-C', 'C', 'allow'],
])('verstat on %s, %s: attestation %s, verdict %s', async (header, verstat, attestation, verdict) => {
  const caller = freshCaller();
  await placeSipCall({
    caller,
    did: DID,
    holdMs: 300,
    ...(header === 'From'
      ? { fromParams: `;verstat=${verstat}` }
      : { pai: `<sip:${caller};verstat=${verstat}@127.0.0.1;user=phone>` }),
  });
  const line = await daemon.screenedLine(aboutCaller(caller), 10_000);
  expect(line).toMatchObject({ verdict, attestation, verstat });
});
