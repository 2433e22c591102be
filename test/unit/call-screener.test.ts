/**
 * CallScreener: what happens to one call, from its StasisStart to its route and its one log record.
 * ARI, the caller history and the call log are the fakes of test/support/fakes.ts; the evaluator, the
 * CAPTCHA and the settings are real (the config and rules loaders on the texts below). The same flows
 * on a real Asterisk: test/integration/daemon-routing.test.ts, captcha-*.test.ts, call-faults.test.ts.
 */
import { CallEvaluator } from '../../src/calls/call-evaluator';
import { CallScreener, type CallScreenerDeps } from '../../src/calls/call-screener';
import { loadConfigText, type LoadedConfig } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { CallerHistory } from '../../src/domain/caller-history';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import type { AriChannel, ContinueTarget } from '../../src/ports/ari';
import {
  captureLogger,
  FakeAri,
  FakeCallerHistoryStore,
  FakeCallLog,
  fakeChannel,
  type AriRequest,
  type CapturedLogger,
} from '../support/fakes';

/** DIDs: each one's policy gives the verdict its name says to a deny-listed caller */
const AGENTS_DID = '+12125550100';
const SALES_DID = '+12125550200'; // voicemail to the policy's own target
const REJECT_DID = '+12125550300'; // deny -> reject
const STRICT_DID = '+12125550400'; // CAPTCHA failures are rejected
const SHADOW_DID = '+12125550500'; // shadow mode: every call let through

const STRANGER = '+14155552671';
const ROBOCALLER = '+12015550123';

function configText(reject: 'hangup' | 'announcement'): string {
  return `
numbers:
  defaultRegion: US
screening:
  timeZone: UTC
  deadlineMs: 100
policies:
  - name: sales
    dids: ["${SALES_DID}"]
    voicemail: { context: sales-voicemail, extension: "200" }
  - name: reject-line
    dids: ["${REJECT_DID}"]
    denyVerdict: reject
  - name: strict-line
    dids: ["${STRICT_DID}"]
    captcha: { failVerdict: reject }
  - name: shadow-line
    dids: ["${SHADOW_DID}"]
    shadow: true
routing:
  agents: { context: callscreen-agents }
  voicemail: { context: callscreen-voicemail }
  reject:
    treatment: ${reject}
    hangupReason: busy
    announcement: ["tone:info", "sound:ss-noservice"]
captcha:
  codeLength: 2
  attempts: 1
  failVerdict: voicemail
tags:
  callerNamePrefix: "SPAM? "
`;
}
const configs: Record<'hangup' | 'announcement', LoadedConfig> = {
  hangup: loadConfigText(configText('hangup'), 'callscreen.yaml', {}),
  announcement: loadConfigText(configText('announcement'), 'callscreen.yaml', {}),
};
const rules = compileRulesText(`deny: ["${ROBOCALLER}"]`, 'rules.yaml', 'US');

/** a listing that gives 35 of 70 reputation points: over the challenge threshold (30), under voicemail (60) */
const HALF_LISTED: Partial<CallerHistory> = {
  reputation: { entries: [{ score: 0.5, reports: 3, source: 'feed', lastSeenAt: Date.now() }] },
};

interface Bench {
  ari: FakeAri;
  history: FakeCallerHistoryStore;
  callLog: FakeCallLog;
  log: CapturedLogger;
  screener: CallScreener;
  screened: ScreenedCallRecord[];
}

interface BenchOptions {
  /** routing.reject.treatment */
  reject?: 'hangup' | 'announcement';
  deps?: Partial<CallScreenerDeps>;
  /** the evaluator throws this on every call (a bug in screening) */
  evaluatorThrows?: Error;
}

function bench(options: BenchOptions = {}): Bench {
  const loaded = configs[options.reject ?? 'hangup'];
  const ari = new FakeAri();
  const history = new FakeCallerHistoryStore();
  const callLog = new FakeCallLog();
  const log = captureLogger();
  const screened: ScreenedCallRecord[] = [];
  const thrown = options.evaluatorThrows;
  const evaluator = thrown ? { evaluate: () => Promise.reject(thrown) } : new CallEvaluator({ history });
  const screener = new CallScreener({
    ari,
    evaluator,
    callLog,
    logger: log.logger,
    settings: () => ({ config: loaded.config, screening: loaded.screening, rules }),
    captchaHistory: history,
    onScreened: (record) => screened.push(record),
    ...options.deps,
  });
  ari.on('event', screener.onAriEvent);
  return { ari, history, callLog, log, screener, screened };
}

let calls = 0;
const newChannel = (caller: string, name = ''): AriChannel =>
  fakeChannel(`call-${++calls}`, caller, { caller: { name, number: caller } });

/** A new call from `caller` to `did`, entering the app as the dialplan sends it: Stasis(callscreen,inbound,<DID>). */
function call(b: Bench, caller: string, did = AGENTS_DID, name = ''): AriChannel {
  const channel = newChannel(caller, name);
  b.ari.startCall(channel, ['inbound', did]);
  return channel;
}

/** the media a play request plays, in order ([] for other requests) */
const mediaOf = (request: AriRequest): string[] => (request.method === 'play' ? [request.args[1].media].flat() : []);

/** The call's one record (waits for it). */
async function recordOf(b: Bench, channel: AriChannel): Promise<ScreenedCallRecord> {
  await until(() => b.callLog.appends > 0 && b.screener.callsInFlight === 0);
  const records = b.callLog.records.filter((r) => r.callId === channel.id);
  expect(records).toHaveLength(1);
  return records[0] as ScreenedCallRecord;
}

async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** where the dialplan continues a call (priority 1 of the extension, the schema's default) */
const target = (context: string, extension: string): ContinueTarget => ({ context, extension, priority: 1 });
const continued = (b: Bench, channel: AriChannel): ContinueTarget[] =>
  b.ari.requestsOf('continueInDialplan').flatMap((r) => (r.args[0] === channel.id ? [r.args[1]] : []));
const tagsOf = (b: Bench, channel: AriChannel): Record<string, string> =>
  Object.fromEntries(
    b.ari.requestsOf('setChannelVar').flatMap((r) => (r.args[0] === channel.id ? [[r.args[1], r.args[2]]] : [])),
  );
const methods = (b: Bench): string[] => b.ari.requests.map((r) => r.method);

/** The caller types the code the CAPTCHA says (or a wrong one), once it was said. */
function typeCode(b: Bench, channel: AriChannel, right = true): void {
  b.ari.onRequest = (request: AriRequest) => {
    if (request.method !== 'play' || request.args[0] !== channel.id) return;
    const said = mediaOf(request).find((m) => m.startsWith('digits:'));
    if (!said) return;
    const code = said.slice('digits:'.length);
    const typed = right ? code : [...code].map((d) => String((Number(d) + 1) % 10)).join('');
    setImmediate(() => b.ari.press(channel, typed));
  };
}

describe('CallScreener: routes', () => {
  test('an allowed call is tagged and continued to routing.agents at its DID', async () => {
    const b = bench();
    const channel = call(b, STRANGER, AGENTS_DID, 'Jane Roe');
    const record = await recordOf(b, channel);
    expect(continued(b, channel)).toEqual([target('callscreen-agents', AGENTS_DID)]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'allow', CALLSCREEN_SCORE: '0' });
    expect(tagsOf(b, channel)['CALLERID(name)']).toBeUndefined(); // not suspect: the name stays
    // the tags are set before the call moves on
    expect(methods(b).indexOf('continueInDialplan')).toBeGreaterThan(methods(b).lastIndexOf('setChannelVar'));
    expect(record).toMatchObject({
      callId: channel.id,
      channel: channel.name,
      callerName: 'Jane Roe',
      routedTo: 'agents',
      decision: { verdict: 'allow' },
    });
    expect(record.routeMs).toEqual(expect.any(Number));
    expect(record.historyMs).toEqual(expect.any(Number)); // one lookup
    expect(record.routeError).toBeUndefined();
  });

  test('a voicemail verdict goes to routing.voicemail', async () => {
    const b = bench();
    const channel = call(b, ROBOCALLER, AGENTS_DID);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'voicemail', decision: { verdict: 'voicemail' } });
    expect(continued(b, channel)).toEqual([target('callscreen-voicemail', AGENTS_DID)]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'voicemail', CALLSCREEN_REASONS: 'rule.deny' });
  });

  test('a voicemail verdict on a DID whose policy names a voicemail target goes there', async () => {
    const b = bench();
    const channel = call(b, ROBOCALLER, SALES_DID);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'voicemail', decision: { policies: ['sales'] } });
    expect(continued(b, channel)).toEqual([target('sales-voicemail', '200')]);
  });

  test('reject (treatment hangup): tagged, then hung up with the configured reason; nothing played', async () => {
    const b = bench();
    const channel = call(b, ROBOCALLER, REJECT_DID);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'hangup', decision: { verdict: 'reject' } });
    expect(b.ari.requestsOf('hangup').map((r) => r.args)).toEqual([[channel.id, 'busy']]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'reject' });
    expect(methods(b)).not.toContain('answer');
    expect(methods(b)).not.toContain('play');
    expect(continued(b, channel)).toEqual([]);
  });

  test('reject (treatment announcement): answered, the announcement played in order, then hung up', async () => {
    const b = bench({ reject: 'announcement' });
    const channel = call(b, ROBOCALLER, REJECT_DID);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'announcement' });
    const played = b.ari.requestsOf('play').map(mediaOf);
    expect(played).toEqual([['tone:info'], ['sound:ss-noservice']]);
    const order = methods(b).filter((m) => m === 'answer' || m === 'play' || m === 'hangup');
    expect(order).toEqual(['answer', 'play', 'play', 'hangup']);
    expect(b.ari.requestsOf('hangup')[0]?.args).toEqual([channel.id, 'busy']);
  });

  test('a caller who hangs up during the announcement is not hung up again', async () => {
    const b = bench({ reject: 'announcement' });
    b.ari.endlessMedia = ['sound:ss-noservice'];
    const channel = newChannel(ROBOCALLER);
    b.ari.onRequest = (r) => {
      if (mediaOf(r)[0] === 'sound:ss-noservice') b.ari.hangUp(channel);
    };
    b.ari.startCall(channel, ['inbound', REJECT_DID]);
    const record = await recordOf(b, channel);
    expect(record.routedTo).toBe('none');
    expect(record.routeError).toMatch(/caller hung up during the announcement/);
    expect(methods(b)).not.toContain('hangup');
  });

  test('events of another Stasis app are not ours', async () => {
    const b = bench();
    b.ari.emit({
      type: 'StasisStart',
      application: 'another-app',
      args: ['inbound', AGENTS_DID],
      channel: fakeChannel('elsewhere', STRANGER),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(b.ari.requests).toEqual([]);
    expect(b.screener.callsInFlight).toBe(0);
  });
});

describe('CallScreener: the CAPTCHA', () => {
  test('a challenged caller who types the code goes to the agents, and the pass is remembered', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    const channel = call(b, STRANGER, AGENTS_DID, 'Jane Roe');
    typeCode(b, channel);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({
      decision: { verdict: 'challenge' },
      routedTo: 'agents',
      captcha: { outcome: 'passed', attempts: 1 },
    });
    expect(continued(b, channel)).toEqual([target('callscreen-agents', AGENTS_DID)]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'challenge', CALLSCREEN_CAPTCHA: 'passed' });
    expect(tagsOf(b, channel)['CALLERID(name)']).toBeUndefined(); // a person: no spam prefix
    expect(b.history.captchaOutcomes).toEqual([{ e164: STRANGER, outcome: 'passed', at: expect.any(Number) }]);
  });

  test('a wrong code: captcha.failVerdict (voicemail), and the failure is remembered', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    const channel = call(b, STRANGER, AGENTS_DID);
    typeCode(b, channel, false);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'voicemail', captcha: { outcome: 'failed', failure: 'wrong' } });
    expect(continued(b, channel)).toEqual([target('callscreen-voicemail', AGENTS_DID)]);
    expect(b.history.captchaOutcomes.map((o) => o.outcome)).toEqual(['failed']);
  });

  test('a wrong code on a DID whose policy says failVerdict reject: the reject treatment', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    const channel = call(b, STRANGER, STRICT_DID);
    typeCode(b, channel, false);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'hangup', captcha: { outcome: 'failed' } });
    expect(b.ari.requestsOf('hangup').map((r) => r.args)).toEqual([[channel.id, 'busy']]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'challenge', CALLSCREEN_CAPTCHA: 'failed' });
  });

  test('an outcome that cannot be remembered (Redis down) is logged; the caller still goes on', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    b.history.failCaptchaWith = new Error('connect ECONNREFUSED');
    const channel = call(b, STRANGER);
    typeCode(b, channel);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'passed' } });
    await until(() => b.log.at('warn', channel.id).length > 0);
    expect(b.log.at('warn', channel.id)[0]).toMatchObject({ msg: 'CAPTCHA outcome not remembered', outcome: 'passed' });
  });

  test('a caller who hangs up during the CAPTCHA is not routed', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    const channel = call(b, STRANGER);
    b.ari.onRequest = (r) => {
      if (r.method === 'play') setImmediate(() => b.ari.hangUp(channel));
    };
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'none', captcha: { outcome: 'hangup' } });
    expect(record.routeError).toMatch(/hung up during the CAPTCHA/);
    expect(continued(b, channel)).toEqual([]);
    expect(b.history.captchaOutcomes).toEqual([]);
  });

  test('the ARI connection lost during the CAPTCHA: the caller goes to the agents (abandoned)', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    b.ari.endlessMedia = ['sound:vm-press'];
    const channel = call(b, STRANGER);
    b.ari.onRequest = (r) => {
      if (mediaOf(r)[0] === 'sound:vm-press') setImmediate(() => b.screener.onAriConnectionLost('websocket closed'));
    };
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'abandoned' } });
    expect(tagsOf(b, channel)['CALLERID(name)']).toBe(`SPAM? ${STRANGER}`); // suspect, not proven a person
  });
});

describe('CallScreener: calls that reached a person (the repeat caller’s credit)', () => {
  test('an allowed call continued to the agents is remembered for its caller and DID', async () => {
    const b = bench();
    const channel = call(b, STRANGER, AGENTS_DID);
    await recordOf(b, channel);
    expect(b.history.reachedHuman).toEqual([{ e164: STRANGER, did: AGENTS_DID, at: expect.any(Number) }]);
  });

  test('a caller who passed the CAPTCHA is remembered; one who failed it or hung up is not', async () => {
    const passed = bench();
    passed.history.returns(HALF_LISTED);
    const ok = call(passed, STRANGER, AGENTS_DID);
    typeCode(passed, ok);
    await recordOf(passed, ok);
    expect(passed.history.reachedHuman.map((r) => r.e164)).toEqual([STRANGER]);

    const failed = bench();
    failed.history.returns(HALF_LISTED);
    const wrong = call(failed, STRANGER, AGENTS_DID);
    typeCode(failed, wrong, false);
    expect(await recordOf(failed, wrong)).toMatchObject({ routedTo: 'voicemail' });
    expect(failed.history.reachedHuman).toEqual([]);

    const gone = bench();
    gone.history.returns(HALF_LISTED);
    const hangsUp = call(gone, STRANGER);
    gone.ari.onRequest = (r) => {
      if (r.method === 'play') setImmediate(() => gone.ari.hangUp(hangsUp));
    };
    expect(await recordOf(gone, hangsUp)).toMatchObject({ routedTo: 'none' });
    expect(gone.history.reachedHuman).toEqual([]);
  });

  test('sent to the agents only because the CAPTCHA was abandoned (ARI lost): not proof of a person', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    b.ari.endlessMedia = ['sound:vm-press'];
    const channel = call(b, STRANGER);
    b.ari.onRequest = (r) => {
      if (mediaOf(r)[0] === 'sound:vm-press') setImmediate(() => b.screener.onAriConnectionLost('websocket closed'));
    };
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'abandoned' } });
    expect(b.history.reachedHuman).toEqual([]);
  });

  test('voicemail, reject, shadow mode and a route that failed are not remembered', async () => {
    const b = bench();
    await recordOf(b, call(b, ROBOCALLER, AGENTS_DID)); // deny rule: voicemail
    const rejected = bench();
    await recordOf(rejected, call(rejected, ROBOCALLER, REJECT_DID));
    const shadow = bench();
    shadow.history.returns(HALF_LISTED);
    expect(await recordOf(shadow, call(shadow, STRANGER, SHADOW_DID))).toMatchObject({
      routedTo: 'agents',
      decision: { verdict: 'allow', shadowVerdict: 'challenge' },
    });
    const unrouted = bench();
    unrouted.ari.fail('continueInDialplan', 500, { times: Infinity });
    expect(await recordOf(unrouted, call(unrouted, STRANGER))).toMatchObject({ routedTo: 'none' });
    for (const x of [b, rejected, shadow, unrouted]) expect(x.history.reachedHuman).toEqual([]);
  });

  test('a withheld caller has no number to remember it by', async () => {
    const b = bench();
    b.history.returns({}); // anonymous scores 30: challenged
    const channel = call(b, 'anonymous');
    typeCode(b, channel);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'passed' } });
    expect(b.history.reachedHuman).toEqual([]);
  });

  test('a write that fails (Redis down) is logged; the call is routed all the same', async () => {
    const b = bench();
    b.history.failReachedHumanWith = new Error('connect ECONNREFUSED');
    const channel = call(b, STRANGER);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents' });
    await until(() => b.log.at('warn', channel.id).length > 0);
    expect(b.log.at('warn', channel.id)[0]).toMatchObject({
      msg: 'call that reached a person not remembered',
      err: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('CallScreener: failures', () => {
  test('a route failing with 500 is retried, and succeeds on the next try', async () => {
    const b = bench();
    b.ari.fail('continueInDialplan', 500);
    const channel = call(b, STRANGER);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents' });
    expect(continued(b, channel)).toHaveLength(2);
    expect(b.log.at('warn', channel.id).map((l) => l.msg)).toEqual(['routing the call failed; retrying']);
  });

  test('a route that keeps failing with 500 is left to the dialplan fallback, with routeError in the record', async () => {
    const b = bench();
    b.ari.fail('continueInDialplan', 500, { times: Infinity });
    const channel = call(b, STRANGER);
    const record = await recordOf(b, channel);
    expect(continued(b, channel)).toHaveLength(3);
    expect(record).toMatchObject({ routedTo: 'none', routeError: expect.stringContaining('500') });
    expect(record.routeMs).toBeUndefined();
    expect(b.log.at('error', channel.id).map((l) => l.msg)).toEqual([
      'routing the call failed; the dialplan fallback sends the call to the agents when the app lets go of it',
    ]);
  });

  test('a 404 on the route means the caller hung up: no retry', async () => {
    const b = bench();
    b.ari.fail('continueInDialplan', 404);
    const channel = call(b, STRANGER);
    const record = await recordOf(b, channel);
    expect(continued(b, channel)).toHaveLength(1);
    expect(record).toMatchObject({
      routedTo: 'none',
      routeError: expect.stringMatching(/^caller hung up before routing/),
    });
  });

  test('a 404 while tagging means the caller hung up: the call is not continued', async () => {
    const b = bench();
    b.ari.fail('setChannelVar', 404);
    const channel = call(b, STRANGER);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({
      routedTo: 'none',
      routeError: expect.stringMatching(/^caller hung up before routing/),
    });
    expect(continued(b, channel)).toEqual([]);
  });

  test('a tag that cannot be set (500) is logged and the call goes on without it', async () => {
    const b = bench();
    b.ari.fail('setChannelVar', 500);
    const channel = call(b, STRANGER);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents' });
    expect(b.log.at('warn', channel.id).map((l) => l.msg)).toEqual([
      'channel variable not set; the call goes on without it',
    ]);
  });

  test('a Redis that fails makes the decision degraded, not the call lost', async () => {
    const b = bench();
    b.history.fails(new Error('connect ECONNREFUSED'));
    const channel = call(b, STRANGER);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'agents', decision: { degraded: true } });
    expect(b.log.at('info', channel.id).find((l) => l.msg === 'call screened (degraded)')).toBeDefined();
  });

  test('an evaluator that throws sends the call to the agents (fail open) and logs an error', async () => {
    const b = bench({ evaluatorThrows: new Error('a bug in screening') });
    const channel = call(b, STRANGER);
    await until(() => b.screener.callsInFlight === 0);
    expect(continued(b, channel)).toEqual([target('callscreen-agents', AGENTS_DID)]);
    const errors = b.log.at('error', channel.id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: 'screening failed; sending the call to the agents',
      err: 'a bug in screening',
    });
  });
});

describe("CallScreener: the lookups' budget covers the whole hold", () => {
  /** lookups.budgetMs 5; the evaluator takes 8 ms and says whether a provider was late (the wait ran out) */
  function lookupBench(late: boolean): { b: Bench; reserves: Array<number | undefined> } {
    const loaded = loadConfigText(`${configText('hangup')}lookups: { budgetMs: 5 }\n`, 'callscreen.yaml', {});
    const reserves: Array<number | undefined> = [];
    const real = new CallEvaluator({ history: new FakeCallerHistoryStore() });
    const evaluator: CallScreenerDeps['evaluator'] = {
      evaluate: async (facts, snapshot, options) => {
        reserves.push(options.lookupReserveMs);
        const evaluation = await real.evaluate(facts, snapshot, options);
        await new Promise((r) => setTimeout(r, 8));
        const lookups = [{ provider: 'slow', status: late ? ('late' as const) : ('answered' as const), weight: 40 }];
        return { ...evaluation, inputs: { ...evaluation.inputs, lookups } };
      },
    };
    const settings = () => ({ config: loaded.config, screening: loaded.screening, rules });
    return { b: bench({ deps: { evaluator, settings } }), reserves };
  }

  async function callInTurn(b: Bench, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await recordOf(b, call(b, STRANGER));
  }

  test("calls held past their lookup wait make the next calls' wait end that much earlier", async () => {
    const { b, reserves } = lookupBench(true);
    await callInTurn(b, 9);
    expect(reserves[0]).toBe(10); // nothing known: the starting guess
    for (const r of reserves.slice(1, 8)) expect(r).toBeGreaterThanOrEqual(10); // or the slowest so far
    expect(reserves[8]).toBeGreaterThanOrEqual(3); // then what was measured: held >= 8 ms against a planned 4
  });

  test('calls whose providers all answered in time do not move the reserve from its starting guess', async () => {
    const { b, reserves } = lookupBench(false);
    await callInTurn(b, 9);
    expect(reserves).toEqual(Array(9).fill(10));
  });
});

describe('CallScreener: the record of a call', () => {
  test('exactly one log line and one log record per call, with the decision and where it went', async () => {
    const b = bench();
    const first = call(b, STRANGER);
    const second = call(b, ROBOCALLER);
    await until(() => b.callLog.appends === 2 && b.screener.callsInFlight === 0);
    await new Promise((r) => setTimeout(r, 20)); // nothing more comes
    // the deny-listed caller needs no lookup: it may be done first
    expect(b.callLog.records).toHaveLength(2);
    expect(Object.fromEntries(b.callLog.records.map((r) => [r.callId, r.routedTo]))).toEqual({
      [first.id]: 'agents',
      [second.id]: 'voicemail',
    });
    for (const channel of [first, second]) {
      const lines = b.log.lines.filter((l) => l.callId === channel.id && l.msg.startsWith('call screened'));
      expect(lines).toHaveLength(1);
      const record = b.callLog.records.find((r) => r.callId === channel.id);
      expect(lines[0]).toMatchObject({ verdict: record?.decision.verdict, routedTo: record?.routedTo });
    }
    expect(b.screened).toEqual(b.callLog.records); // the metrics hear of each one
  });

  test('a call-log append that fails is logged, never thrown', async () => {
    const b = bench();
    b.callLog.failWith = new Error('READONLY You cannot write against a read only replica.');
    const channel = call(b, STRANGER);
    await until(() => b.log.at('warn', channel.id).length > 0);
    expect(b.log.at('warn', channel.id)[0]).toMatchObject({
      msg: 'screened-call log entry not written',
      err: expect.stringContaining('READONLY'),
    });
    expect(continued(b, channel)).toHaveLength(1); // the call went on
  });

  test('an onScreened listener that throws is logged, not felt by the call', async () => {
    const b = bench({
      deps: {
        onScreened: () => {
          throw new Error('metrics broke');
        },
      },
    });
    const channel = call(b, STRANGER);
    expect(await recordOf(b, channel)).toMatchObject({ routedTo: 'agents' });
    expect(b.log.at('warn', channel.id).map((l) => l.msg)).toEqual(['onScreened listener failed']);
  });
});

describe('CallScreener: restarts and shutdown', () => {
  test('recoverOrphans sends the calls found in the app without a handler to the agents, and only those', async () => {
    const b = bench({ deps: { orphanSweep: { claimGraceMs: 1 } } });
    const old = new Date(Date.now() - 60_000).toISOString();
    const inApp = (id: string, app: string, creationtime = old): AriChannel =>
      fakeChannel(id, STRANGER, {
        creationtime,
        dialplan: {
          context: 'from-trunk',
          exten: AGENTS_DID,
          priority: 2,
          app_name: 'Stasis',
          app_data: `${app},inbound`,
        },
      });
    b.ari.channels = [
      inApp('orphan', 'callscreen'),
      inApp('just-arrived', 'callscreen', new Date().toISOString()),
      inApp('other-app', 'voicemail-app'),
      fakeChannel('in-the-dialplan', STRANGER, { creationtime: old }),
    ];
    expect(await b.screener.recoverOrphans()).toBe(2);
    expect(b.ari.requestsOf('continueInDialplan').map((r) => r.args)).toEqual([
      ['orphan', target('callscreen-agents', AGENTS_DID)],
      ['just-arrived', target('callscreen-agents', AGENTS_DID)], // however young (issue 12)
    ]);
    expect(b.log.at('warn', 'orphan')).toHaveLength(1);
  });

  test('drain() waits for the calls in flight', async () => {
    const b = bench();
    b.history.answersAfter(40);
    const channel = call(b, STRANGER);
    expect(b.screener.callsInFlight).toBe(1);
    await b.screener.drain(2000);
    expect(b.screener.callsInFlight).toBe(0);
    expect(b.callLog.records.map((r) => [r.callId, r.routedTo])).toEqual([[channel.id, 'agents']]);
  });

  test('drain() gives up after its timeout on a call that does not finish', async () => {
    const b = bench();
    b.ari.fail('continueInDialplan', 'hang');
    call(b, STRANGER);
    await until(() => b.ari.requestsOf('continueInDialplan').length === 1);
    await b.screener.drain(30);
    expect(b.screener.callsInFlight).toBe(1);
  });

  test('drain() sends callers in the CAPTCHA on to the agents (abandoned)', async () => {
    const b = bench();
    b.history.returns(HALF_LISTED);
    b.ari.endlessMedia = ['sound:vm-press'];
    const channel = call(b, STRANGER);
    await until(() => b.ari.requestsOf('play').length === 2); // the greeting, then the code
    await b.screener.drain(2000);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'agents', captcha: { outcome: 'abandoned' } });
  });

  test("Stasis' arguments after the DID reach the decision: the attestation, else the verstat; From; who forwarded", async () => {
    const b = bench();
    const verstat = newChannel(STRANGER);
    b.ari.startCall(verstat, ['inbound', AGENTS_DID, '', 'TN-Validation-Passed-A', '+12125550000', '+12125550999']);
    const first = (await recordOf(b, verstat)).decision;
    expect(first).toMatchObject({ attestation: 'A', verstat: 'TN-Validation-Passed-A' });
    expect(first.reasons.map((r) => r.code)).toEqual(
      expect.arrayContaining(['caller.identity-mismatch', 'caller.forwarded']),
    );
    const both = newChannel(STRANGER);
    b.ari.startCall(both, ['inbound', AGENTS_DID, 'C', 'TN-Validation-Passed-A']);
    const decision = (await recordOf(b, both)).decision;
    expect(decision.attestation).toBe('C');
    expect(decision.verstat).toBeUndefined();
  });

  test("the eighth Stasis argument, the PJSIP endpoint, picks the trunk's region from numbers.endpointRegions", async () => {
    const { config, screening } = configs.hangup;
    const endpointRegions = { 'ch-trunk': 'CH' } as const;
    const numbers = { ...config.numbers, endpointRegions };
    const b = bench({ deps: { settings: () => ({ config: { ...config, numbers }, screening, rules }) } });
    await b.screener.drain(10); // a challenged call goes on at once (no CAPTCHA to wait for)
    const swiss = newChannel('0446681800');
    b.ari.startCall(swiss, ['inbound', '0442001122', '', '', '', '', 'ch-trunk']);
    expect((await recordOf(b, swiss)).decision).toMatchObject({
      caller: { kind: 'e164', e164: '+41446681800' },
      did: { kind: 'e164', e164: '+41442001122' },
    });
    const other = newChannel('0446681800');
    b.ari.startCall(other, ['inbound', '0442001122', '', '', '', '', 'constructor']);
    expect((await recordOf(b, other)).decision.caller).not.toMatchObject({ e164: '+41446681800' });
  });

  test('while draining, a new call is decided without Redis, and a challenged one skips the CAPTCHA', async () => {
    const b = bench();
    await b.screener.drain(10);
    const channel = call(b, '');
    const record = await recordOf(b, channel);
    expect(b.history.queries).toEqual([]);
    expect(record).toMatchObject({ decision: { verdict: 'challenge' }, routedTo: 'agents' });
    expect(record.captcha).toBeUndefined();
    expect(methods(b)).not.toContain('play');
    const stranger = call(b, STRANGER);
    const degraded = await recordOf(b, stranger);
    expect(degraded.decision.degraded).toBe(true);
    expect(b.history.queries).toEqual([]);
  });

  test('stopTakingCalls: calls entering meanwhile are only remembered, and releaseCallsLeftBehind sends them to the agents', async () => {
    const b = bench({ deps: { orphanSweep: { intervalMs: 5 } } });
    b.screener.stopTakingCalls();
    const first = call(b, STRANGER, AGENTS_DID);
    const second = call(b, ROBOCALLER, SALES_DID);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.ari.requests).toEqual([]); // the closing adapter is not used
    expect(b.callLog.appends).toBe(0);

    const rest = new FakeAri({ name: 'rest' });
    rest.fail('continueInDialplan', 404, { channelId: second.id }); // that caller hung up meanwhile: fine
    expect(await b.screener.releaseCallsLeftBehind(rest)).toBe(2);
    expect(rest.requestsOf('continueInDialplan').map((r) => r.args)).toEqual([
      [first.id, target('callscreen-agents', AGENTS_DID)],
      [second.id, target('callscreen-agents', SALES_DID)],
    ]);
    expect(b.log.at('error')).toEqual([]);
    expect(await b.screener.releaseCallsLeftBehind(rest)).toBe(0); // each once
  });
});

describe('CallScreener: the orphan sweep (no call waits in silence)', () => {
  /** quick timings: list every 10 ms, take a call 20 ms after the listing that found it */
  const quick = { windowMs: 0, intervalMs: 10, claimGraceMs: 20 };
  /** a channel sitting in the app, as GET /channels shows it */
  const sitting = (id: string, creationtime = new Date().toISOString()): AriChannel =>
    fakeChannel(id, STRANGER, {
      creationtime,
      dialplan: {
        context: 'callscreen-inbound',
        exten: AGENTS_DID,
        priority: 5,
        app_name: 'Stasis',
        app_data: 'callscreen,inbound',
      },
    });
  /** the channel leaves the app once it is continued (Asterisk: StasisEnd, gone from the listing) */
  const leaveWhenContinued = (b: Bench): void => {
    b.ari.onRequest = (request) => {
      if (request.method !== 'continueInDialplan') return;
      b.ari.channels = b.ari.channels.filter((c) => c.id !== request.args[0]);
    };
  };

  test('a call that entered the app a moment ago without a handler is sent to the agents at once', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    b.ari.channels = [sitting('entered-300-ms-ago', new Date(Date.now() - 300).toISOString())];
    expect(await b.screener.sweepOrphans()).toBe(1);
    expect(b.ari.requestsOf('continueInDialplan').map((r) => r.args)).toEqual([
      ['entered-300-ms-ago', target('callscreen-agents', AGENTS_DID)],
    ]);
    expect(b.log.at('warn').map((l) => l.msg)).toContain('sent calls left without a handler to the agents');
  });

  test('lists the app again until no call without a handler is left', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    b.ari.channels = [sitting('first')];
    let listings = 0;
    b.ari.onRequest = (request) => {
      if (request.method === 'listChannels') listings += 1;
      if (request.method !== 'continueInDialplan') return;
      // the first orphan leaves; meanwhile another call entered the app, its StasisStart lost too
      b.ari.channels = request.args[0] === 'first' ? [sitting('second')] : [];
    };
    expect(await b.screener.sweepOrphans()).toBe(2);
    expect(b.ari.requestsOf('continueInDialplan').map((r) => r.args[0])).toEqual(['first', 'second']);
    expect(listings).toBe(3); // the last one found nobody left
  });

  test('at close, a call whose StasisStart went to the closing websocket is found over REST and sent to the agents', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    const routed = newChannel(STRANGER);
    b.ari.startCall(routed, ['inbound', AGENTS_DID]);
    await until(() => b.ari.requestsOf('continueInDialplan').length === 1); // routed, its StasisEnd not seen yet
    b.screener.stopTakingCalls();
    const rest = new FakeAri({ name: 'rest' });
    let listings = 0;
    rest.onRequest = (request) => {
      if (request.method === 'listChannels' && ++listings === 2) rest.channels = [...rest.channels, sitting('unseen')];
      if (request.method === 'continueInDialplan')
        rest.channels = rest.channels.filter((c) => c.id !== request.args[0]);
    };
    rest.channels = [sitting(routed.id)]; // still listed in the app a moment after its continue
    expect(await b.screener.releaseCallsLeftBehind(rest)).toBe(1);
    expect(rest.requestsOf('continueInDialplan').map((r) => r.args)).toEqual([
      ['unseen', target('callscreen-agents', AGENTS_DID)],
    ]);
    expect(listings).toBe(4); // until a listing found none, at least three
    expect(b.log.at('warn').map((l) => l.msg)).toContain(
      'call found in the app after the daemon closed its ARI connection; sending it to the agents',
    );
  });

  test('keeps listing for windowMs after a connect: a call found later is sent on too', async () => {
    const b = bench({ deps: { orphanSweep: { ...quick, windowMs: 300 } } });
    leaveWhenContinued(b);
    const started = Date.now();
    setTimeout(() => (b.ari.channels = [sitting('late')]), 100);
    expect(await b.screener.sweepOrphans()).toBe(1);
    expect(continued(b, sitting('late'))).toEqual([target('callscreen-agents', AGENTS_DID)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('a listing that fails is tried again', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    leaveWhenContinued(b);
    b.ari.fail('listChannels', 503, { times: 2 });
    b.ari.channels = [sitting('waiting')];
    expect(await b.screener.sweepOrphans()).toBe(1);
    expect(b.ari.requestsOf('listChannels')).toHaveLength(4); // 2 failed, 1 found the call, 1 found none
    expect(
      b.log.at('warn').filter((l) => l.msg === 'could not check for calls left in the app; trying again'),
    ).toHaveLength(1);
  });

  test('a StasisStart arriving while the sweep waits to take the call wins: the call is screened, routed once', async () => {
    const b = bench({ deps: { orphanSweep: { ...quick, claimGraceMs: 50 } } });
    const channel = sitting('racing');
    b.ari.channels = [channel];
    b.ari.onRequest = (request) => {
      // the call entered just before the listing; its StasisStart comes a moment after the answer
      if (request.method === 'listChannels') setTimeout(() => b.ari.startCall(channel, ['inbound', AGENTS_DID]), 5);
    };
    expect(await b.screener.sweepOrphans()).toBe(0);
    const record = await recordOf(b, channel);
    expect(record).toMatchObject({ routedTo: 'agents', decision: { verdict: 'allow' } });
    expect(continued(b, channel)).toEqual([target('callscreen-agents', AGENTS_DID)]);
    expect(tagsOf(b, channel)).toMatchObject({ CALLSCREEN_VERDICT: 'allow' }); // screened, not waved through
  });

  test('a StasisStart arriving after the sweep took the call is ignored: one route, no screening', async () => {
    const b = bench({ deps: { orphanSweep: { ...quick, windowMs: 100 } } });
    const channel = sitting('taken');
    b.ari.channels = [channel]; // still listed after its continue: the StasisEnd is late
    b.ari.onRequest = (request) => {
      if (request.method === 'continueInDialplan') b.ari.startCall(channel, ['inbound', AGENTS_DID]);
    };
    expect(await b.screener.sweepOrphans()).toBe(1);
    expect(continued(b, channel)).toEqual([target('callscreen-agents', AGENTS_DID)]);
    expect(b.history.queries).toEqual([]);
    expect(b.callLog.appends).toBe(0);
    expect(b.screener.callsInFlight).toBe(0);
  });

  test('a call screened and routed is not taken by a listing that still shows it before its StasisEnd', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    const channel = call(b, STRANGER);
    await recordOf(b, channel);
    b.ari.channels = [sitting(channel.id)];
    expect(await b.screener.sweepOrphans()).toBe(0);
    expect(continued(b, channel)).toHaveLength(1);
  });

  test('a call its handler could not route (ARI down) is taken by a sweep and sent to the agents', async () => {
    const b = bench({ deps: { orphanSweep: quick } });
    await b.screener.sweepOrphans(); // connected: nothing in the app yet
    b.ari.fail('continueInDialplan', 503, { times: 3 }); // every attempt of the screener's route
    b.ari.onRequest = (request) => {
      if (request.method === 'continueInDialplan' && b.ari.requestsOf('continueInDialplan').length === 4)
        b.ari.channels = []; // the sweep's continue: the call leaves the app
    };
    const channel = call(b, STRANGER);
    b.ari.channels = [sitting(channel.id)];
    await until(() => continued(b, channel).length === 4);
    expect((await recordOf(b, channel)).routedTo).toBe('none');
    await until(() => b.log.at('warn').some((l) => l.msg === 'sent calls left without a handler to the agents'));
  });

  test('a lost ARI link stops the sweep; the next connect starts it again', async () => {
    const b = bench({ deps: { orphanSweep: { ...quick, windowMs: 60_000 } } });
    const sweep = b.screener.sweepOrphans();
    await until(() => b.ari.requestsOf('listChannels').length > 0);
    b.screener.onAriConnectionLost('no pong within 500 ms');
    expect(await sweep).toBe(0);
    const listed = b.ari.requestsOf('listChannels').length;
    await new Promise((r) => setTimeout(r, 50));
    expect(b.ari.requestsOf('listChannels')).toHaveLength(listed);
    b.ari.channels = [sitting('after-reconnect')];
    leaveWhenContinued(b);
    const again = b.screener.sweepOrphans(0);
    expect(await again).toBe(1);
  });
});
