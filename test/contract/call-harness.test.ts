/**
 * The call harness against the real Asterisk: calls placed over AMI end where the dialplan sends them,
 * and the harness reports that from Asterisk's events. Most tests run with no Stasis app connected (the
 * daemon is not running): the dialplan fallback sends every call to the agents. A minimal stand-in
 * screener (a raw ARI websocket registered as "callscreen" for a moment) gives the other outcomes.
 */
import WebSocket from 'ws';
import { AmiDisconnectedError } from '../../src/errors/ami-disconnected-error';
import { CallHarness, type PlacedCall } from '../../tools/testbed/call-harness';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

let harness: CallHarness;

beforeAll(async () => {
  harness = await CallHarness.open();
}, 120_000);

afterAll(async () => {
  await harness?.close();
});

afterEach(async () => {
  // calls still up (testbed-caller waits 30 s) would show in the next test; if Asterisk went down, they are gone anyway
  await harness.hangupAll(harness.ownsChannel).catch((error: unknown) => {
    if (!(error instanceof AmiDisconnectedError)) throw error;
  });
});

/** Other suites connect their own "callscreen" app now and then (or stop Asterisk): wait for neither. */
const noScreenerConnected = () => harness.waitUntilStasisAppAbsent('callscreen', 100_000);

describe('with no Stasis app connected', () => {
  beforeEach(noScreenerConnected, 110_000);

  test('daemon not running: the call still reaches agents through the dialplan fallback', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const call = await harness.placeCall({
        caller: '+493012345678',
        did: '+4930555000',
        callerName: 'Erika Mustermann',
      });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      // both events already happened: waitForEvent also looks at what arrived before it was called
      const fallback = await harness.waitForEvent(
        (e) => e.userevent === 'CallscreenFallback' && e.uniqueid === call.screenedUniqueId,
        1000,
      );
      expect(fallback).toMatchObject({ stasisstatus: 'FAILED', callerid: '+493012345678', did: '+4930555000' });
      const reached = await harness.waitForEvent(
        (e) => e.userevent === 'AgentReached' && e.testid === call.testId,
        1000,
      );
      expect(reached).toMatchObject({
        callerid: '+493012345678',
        did: '+4930555000',
        verdict: 'fallback',
        uniqueid: call.screenedUniqueId,
        calleridname: 'Erika Mustermann',
      });
    }));

  test.each([
    ['an E.164 number', '+14155550123'],
    ['anonymous', 'anonymous'],
    ['punctuation Asterisk would otherwise strip', '+1 (555) 123-45.67'],
    ['unicode, quotes, commas and brackets', 'Müller☎ "x", (y) [z]'],
    ['40 digits', '1'.repeat(40)],
    ['a backslash', 'a\\b'],
  ])('the caller ID is presented exactly as given: %s', (_name, caller) =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const call = await harness.placeCall({ caller, did: '+4930555001' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      const reached = await harness.waitForEvent(
        (e) => e.userevent === 'AgentReached' && e.testid === call.testId,
        1000,
      );
      expect(reached.calleridnum).toBe(caller);
    }),
  );

  test('an empty caller ID is empty in the dialplan (AMI CallerIDNum shows "<unknown>")', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const call = await harness.placeCall({ caller: '', did: '+4930555002' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      const reached = await harness.waitForEvent(
        (e) => e.userevent === 'AgentReached' && e.testid === call.testId,
        1000,
      );
      expect(reached.callerid).toBe('');
      expect(reached.calleridnum).toBe('<unknown>');
    }));

  test('channel variables and the inherited __CS_TEST_ID reach the screened half', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const call = await harness.placeCall({
        caller: '+4930999',
        did: '+4930555003',
        channelVars: { CS_PROBE: 'a,b (c)', __CS_INHERITED: 'yes' },
      });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      const read = (variable: string) =>
        harness.ami.action({ action: 'Getvar', channel: call.screenedUniqueId, variable }).then((r) => r.value);
      expect(await read('CS_TEST_ID')).toBe(call.testId);
      expect(await read('CS_PROBE')).toBe('a,b (c)');
      expect(await read('CS_INHERITED')).toBe('yes');
    }));

  test('hangupAll and waitForNoChannels leave no channel of this harness behind', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const calls: PlacedCall[] = [];
      for (const did of ['+4930555010', '+4930555011'])
        calls.push(await harness.placeCall({ caller: '+4930777', did }));
      for (const call of calls) expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      expect((await harness.channels()).filter(harness.ownsChannel)).toHaveLength(4); // two halves each, still talking
      expect(await harness.hangupAll(harness.ownsChannel)).toBe(4);
      await harness.waitForNoChannels(10_000, harness.ownsChannel);
    }));
});

// ---------------------------------------------------------------------------------------------------

type Route = 'voicemail' | 'hangup' | 'hold';

/** A stand-in for the daemon: registers Stasis app "callscreen" over a raw ARI websocket and routes every call one way. */
class StandInScreener {
  private constructor(private readonly socket: WebSocket) {}

  static async connect(route: Route): Promise<StandInScreener> {
    const base = testbed.ariUrl.replace(/^http/, 'ws');
    const apiKey = encodeURIComponent(`${testbed.ariUser}:${testbed.ariPassword}`);
    const socket = new WebSocket(`${base}/ari/events?app=callscreen&api_key=${apiKey}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as {
        type: string;
        channel?: { id: string; dialplan?: { exten: string } };
      };
      if (event.type !== 'StasisStart' || !event.channel) return;
      const { id } = event.channel;
      const exten = event.channel.dialplan?.exten ?? '';
      if (route === 'voicemail')
        void ari(
          'POST',
          `/channels/${id}/continue?context=callscreen-voicemail&extension=${encodeURIComponent(exten)}&priority=1`,
        );
      if (route === 'hangup') void ari('DELETE', `/channels/${id}`);
    });
    return new StandInScreener(socket);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

function ari(method: string, path: string): Promise<Response> {
  const auth = 'Basic ' + Buffer.from(`${testbed.ariUser}:${testbed.ariPassword}`).toString('base64');
  return fetch(`${testbed.ariUrl}/ari${path}`, {
    method,
    headers: { authorization: auth },
    signal: AbortSignal.timeout(5000),
  });
}

describe('with a stand-in screener connected', () => {
  beforeEach(noScreenerConnected, 110_000);

  /** Connects a stand-in routing every call `route`, runs the body, disconnects it; rerun if Asterisk restarted meanwhile. */
  const withScreener = (route: Route, body: () => Promise<void>) => () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      const screener = await StandInScreener.connect(route);
      try {
        await body();
      } finally {
        await screener.close();
      }
    });

  test(
    'a call the screener sends to voicemail is reported as voicemail',
    withScreener('voicemail', async () => {
      const call = await harness.placeCall({ caller: '+19005550100', did: '+4930555020' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('voicemail');
      const reached = await harness.waitForEvent(
        (e) => e.userevent === 'VoicemailReached' && e.testid === call.testId,
        1000,
      );
      expect(reached).toMatchObject({ callerid: '+19005550100', did: '+4930555020' });
    }),
  );

  test(
    'a call the screener hangs up is reported as hangup',
    withScreener('hangup', async () => {
      const call = await harness.placeCall({ caller: '+19005550101', did: '+4930555021' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('hangup');
    }),
  );

  test(
    'a call held in Stasis has no destination yet: waitForDestination times out naming its events; hung up, it is a hangup',
    withScreener('hold', async () => {
      const call = await harness.placeCall({ caller: '+19005550102', did: '+4930555022' });
      await expect(harness.waitForDestination(call, 1000)).rejects.toThrow(
        /reached no destination within 1000 ms; its events: .*Newchannel/,
      );
      await harness.hangup(call);
      expect(await harness.waitForDestination(call, 5000)).toBe('hangup');
    }),
  );
});
