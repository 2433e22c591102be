/**
 * placeSipCall against the real Asterisk: real SIP from sipp into the PJSIP trunk endpoint. No Stasis app
 * is connected, so every answered call takes the dialplan fallback to the test bed's agents (Answer, Echo).
 */
import { randomInt } from 'node:crypto';
import { CallHarness } from '../../tools/testbed/call-harness';
import { placeSipCall, startSipCall } from '../../tools/testbed/sip-call';
import type { AmiMessage } from '../../src/ports/ami';

jest.setTimeout(60_000);

let harness: CallHarness;

beforeAll(async () => {
  harness = await CallHarness.open();
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

// other suites connect their own "callscreen" app now and then (or stop Asterisk): these tests need the fallback
beforeEach(() => harness.waitUntilStasisAppAbsent('callscreen', 100_000), 110_000);

/** A caller number no earlier call used, so events of other calls cannot match. */
const freshCaller = () => `+4930${randomInt(10_000_000, 99_999_999)}`;

const agentReached = (caller: string) => (e: AmiMessage) => e.userevent === 'AgentReached' && e.calleridnum === caller;

test('a sipp call with no app connected falls back to agents, and AgentReached carries the From-header number', () =>
  harness.rerunIfAsteriskInterrupted(async () => {
    const caller = freshCaller();
    const sip = await placeSipCall({ caller, callerName: 'SIP Caller', did: '+4930555100', holdMs: 1000 });
    expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'caller' });
    const reached = await harness.waitForEvent(agentReached(caller), 5000);
    expect(reached).toMatchObject({
      callerid: caller,
      did: '+4930555100',
      verdict: 'fallback',
      calleridname: 'SIP Caller',
    });
    expect(reached.channel).toMatch(/^PJSIP\/pstn-trunk-[0-9a-f]+$/);
    const fallback = await harness.waitForEvent(
      (e) => e.userevent === 'CallscreenFallback' && e.uniqueid === reached.uniqueid,
      1000,
    );
    expect(fallback.stasisstatus).toBe('FAILED');
  }));

const digitsReceived = (uniqueid: string | undefined) =>
  harness
    .eventsMatching((e) => e.event === 'DTMFEnd' && e.direction === 'Received' && e.uniqueid === uniqueid)
    .map((e) => e.digit)
    .join('');

// repeated and falling digits: Debian's pcaps played as they are would lose them (their RTP timestamps are fixed)
test.each(['rfc4733', 'info'] as const)('DTMF sent as %s reaches Asterisk as the digits given', (dtmfMode) =>
  harness.rerunIfAsteriskInterrupted(async () => {
    const caller = freshCaller();
    const sip = await placeSipCall({
      caller,
      did: '+4930555101',
      dtmf: '9*2210',
      dtmfMode,
      dtmfDelayMs: 300,
      holdMs: 500,
    });
    expect(sip).toMatchObject({ exitCode: 0, dtmfSent: '9*2210', hangupBy: 'caller' });
    const reached = await harness.waitForEvent(agentReached(caller), 5000);
    await harness.waitForEvent((e) => e.event === 'Hangup' && e.uniqueid === reached.uniqueid, 5000);
    expect(digitsReceived(reached.uniqueid)).toBe('9*2210');
  }),
);

test.each(['rfc4733', 'info'] as const)(
  'startSipCall: digits decided during the call, sent as %s, then the caller hangs up',
  (dtmfMode) =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const caller = freshCaller();
      const call = startSipCall({ caller, did: '+4930555104', dtmfMode });
      try {
        const reached = await harness.waitForEvent(agentReached(caller), 5000); // answered: at the agents (Echo)
        await call.sendDtmf('21');
        await call.sendDtmf('12');
        const sip = await call.hangup();
        expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'caller', dtmfSent: '2112' });
        await harness.waitForEvent((e) => e.event === 'Hangup' && e.uniqueid === reached.uniqueid, 5000);
        expect(digitsReceived(reached.uniqueid)).toBe('2112');
      } finally {
        await call.close();
      }
    }),
);

test('a BYE from Asterisk ends the call cleanly: "#" ends Echo() at the agents and the dialplan hangs up', () =>
  harness.rerunIfAsteriskInterrupted(async () => {
    const caller = freshCaller();
    const sip = await placeSipCall({ caller, did: '+4930555102', dtmf: '#', dtmfDelayMs: 300, holdMs: 10_000 });
    expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'asterisk' });
  }));

test('a rejected INVITE ends cleanly and reports the status (a one-digit DID matches no extension: 484)', () =>
  harness.rerunIfAsteriskInterrupted(async () => {
    const sip = await placeSipCall({ caller: freshCaller(), did: '5', holdMs: 0 });
    expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 484, hangupBy: undefined });
  }));

test('a caller ID with characters a SIP URI cannot hold is %-escaped in From and presented unescaped', () =>
  harness.rerunIfAsteriskInterrupted(async () => {
    const caller = `Müller☎ ${randomInt(1000, 9999)}`;
    const sip = await placeSipCall({ caller, callerName: 'Jürgen "JJ" Müller', did: '+4930555103', holdMs: 300 });
    expect(sip.exitCode).toBe(0);
    const reached = await harness.waitForEvent(agentReached(caller), 5000);
    expect(reached.callerid).toBe(caller);
  }));
