import { EventEmitter } from 'node:events';
import type { Decision } from '../../src/domain/decision';
import { lookupExemption } from '../../src/domain/lookup-signal';
import { buildRuleSet } from '../../src/domain/rule-set';
import { normaliseDid, screenCall, type CallFacts } from '../../src/domain/screen-call';
import { resolveSettings } from '../../src/domain/screening-policy';
import type { CallerHistory } from '../../src/domain/caller-history';
import type { AmiMessage } from '../../src/ports/ami';
import {
  OutboundCallWatcher,
  endpointOf,
  numberInDialString,
} from '../../src/reputation/known-customers/outbound-call-watcher';
import { FakeCallerHistoryStore, captureLogger } from '../support/fakes';
import { compileTestModel, foundHistory } from '../support/screening-fixtures';

const DAY = 86_400_000;
const AT = new Date('2026-11-23T15:00:00Z');
const model = compileTestModel();

describe('the number in a dial string', () => {
  test.each([
    ['+12125551234@pstn-trunk', '+12125551234'],
    ['pstn-trunk/sip:+12125551234@203.0.113.5:5060', '+12125551234'],
    ['pstn-trunk/sips:2125551234@carrier.example;transport=tls', '2125551234'],
    ['trunk/tel:+41446681800', '+41446681800'],
    ['SIP/trunk/2125551234', '2125551234'],
    ['0041446681800@ch-trunk', '0041446681800'],
  ])('%s -> %s', (dial, number) => {
    expect(numberInDialString(dial)).toBe(number);
  });

  test.each(['agent1', '201', '201@internal', 'pstn-trunk/sip:reception@pbx.example', '', 'Local/s@ctx/n'])(
    '%j names no phone number',
    (dial) => {
      expect(numberInDialString(dial)).toBeUndefined();
    },
  );

  test('the endpoint of a channel name', () => {
    expect(endpointOf('PJSIP/pstn-trunk-0000001a')).toBe('pstn-trunk');
    expect(endpointOf('SIP/my-trunk-00000003')).toBe('my-trunk');
    expect(endpointOf('garbage')).toBeUndefined();
  });
});

describe('OutboundCallWatcher: answered outbound calls make known customers', () => {
  function watch(trunks: string[] = []) {
    const ami = new EventEmitter();
    const store = new FakeCallerHistoryStore();
    const log = captureLogger();
    const watcher = new OutboundCallWatcher({
      ami: ami as unknown as ConstructorParameters<typeof OutboundCallWatcher>[0]['ami'],
      store,
      settings: () => ({ defaultRegion: 'US', trunks, days: 90 }),
      logger: log.logger,
      now: () => AT.getTime(),
    });
    const dial = (dest: string, dialstring: string, status: string, channel = `PJSIP/pstn-trunk-${dest}`): void => {
      const begin: AmiMessage = { event: 'DialBegin', destuniqueid: dest, destchannel: channel, dialstring };
      ami.emit('event', begin);
      ami.emit('event', { event: 'DialEnd', destuniqueid: dest, destchannel: channel, dialstatus: status });
    };
    return { ami, store, watcher, dial, log };
  }

  test('an answered call to a number is remembered for knownCustomer.days; others are not', async () => {
    const { store, dial } = watch();
    dial('1', 'pstn-trunk/sip:2125551234@203.0.113.5', 'ANSWER');
    dial('2', '+12125559876@pstn-trunk', 'NOANSWER');
    dial('3', 'agent1', 'ANSWER', 'PJSIP/agent1-00000003');
    dial('4', '+1 212 555 01', 'ANSWER'); // not a valid number
    await Promise.resolve();
    expect(store.calledByUs).toEqual([{ e164: '+12125551234', at: AT.getTime(), keepMs: 90 * DAY }]);
  });

  test('with trunks set, only calls through those endpoints count', async () => {
    const { store, dial } = watch(['pstn-trunk']);
    dial('1', '+12125551234@pstn-trunk', 'ANSWER');
    dial('2', '+12125554321@other', 'ANSWER', 'PJSIP/other-carrier-00000002');
    await Promise.resolve();
    expect(store.calledByUs.map((c) => c.e164)).toEqual(['+12125551234']);
  });

  test('a DialEnd without its DialBegin counts for nothing; close stops the watching', async () => {
    const { ami, store, watcher, dial } = watch();
    ami.emit('event', { event: 'DialEnd', destuniqueid: '9', dialstatus: 'ANSWER' });
    watcher.close();
    watcher.close(); // idempotent
    dial('1', '+12125551234@pstn-trunk', 'ANSWER');
    await Promise.resolve();
    expect(store.calledByUs).toEqual([]);
    expect(ami.listenerCount('event')).toBe(0);
  });
});

describe('a known customer in the decision', () => {
  const screen = (history: Partial<CallerHistory>, extra: Partial<CallFacts> = {}): Decision =>
    screenCall(
      { callerNumber: '+13125550111', did: '+12125550100', at: AT, ...extra },
      { rules: buildRuleSet([]), history: foundHistory(history) },
      model,
    );
  const codes = (d: Decision) => d.reasons.map((r) => r.code);

  test('called by us 3 days ago: trusted points, explained', () => {
    const d = screen({ calledByUsAt: AT.getTime() - 3 * DAY });
    expect(d.reasons.find((r) => r.code === 'known-customer')).toEqual({
      code: 'known-customer',
      text: 'known customer: called by us 3 days ago',
      points: -40,
    });
  });

  test('with a weak attestation it is not challenged', () => {
    const called = AT.getTime() - 10 * DAY;
    expect(screen({ calledByUsAt: called }, { attestation: 'failed' }).verdict).toBe('allow');
    expect(screen({ calledByUsAt: called }, { attestation: 'C' }).verdict).toBe('allow');
    expect(screen({}, { attestation: 'failed' }).verdict).toBe('challenge'); // a stranger would be
  });

  test('its velocity, block and neighbour signals do not apply', () => {
    const busy: Partial<CallerHistory> = {
      numberCalls: [
        { windowSeconds: 60, calls: 9 },
        { windowSeconds: 3600, calls: 20 },
      ],
      blockCalls: [{ windowSeconds: 60, calls: 40 }],
      didsCalled: 5,
      block: { blockDigits: 3, counts: [{ source: 'robocall', numbers: 4, scoreSum: 400 }] },
    };
    const stranger = screen(busy, { did: '+13125550199' });
    expect(codes(stranger)).toEqual(
      expect.arrayContaining(['velocity.number', 'velocity.block', 'velocity.dids', 'reputation.block']),
    );
    const known = screen({ ...busy, calledByUsAt: AT.getTime() - DAY }, { did: '+13125550199' });
    expect(codes(known)).toContain('known-customer');
    for (const code of ['velocity.number', 'velocity.block', 'velocity.dids', 'reputation.block', 'neighbour-spoofing'])
      expect(codes(known)).not.toContain(code);
  });

  test('past knownCustomer.days it is a stranger again, and it is never looked up online while known', () => {
    expect(codes(screen({ calledByUsAt: AT.getTime() - 91 * DAY }))).not.toContain('known-customer');
    const settings = resolveSettings(model, normaliseDid('+12125550100', 'US'), AT);
    const history = (foundHistory({ calledByUsAt: AT.getTime() - DAY }) as { history: CallerHistory }).history;
    expect(lookupExemption(history, AT.getTime(), settings)).toBe('a known customer (called by us)');
  });
});
