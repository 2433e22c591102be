/**
 * The spam key's logic: which caller a press marks (the one the agent answered, or the caller transferred to
 * the code), what the agent hears, and that the call is hung up whatever fails; which answered dials the AMI
 * watcher remembers; the screener hands a spam-key call to it and never screens one. ARI, AMI and the stores
 * are fakes; the same flow over real SIP and AMI: test/integration/spam-key.test.ts.
 */
import { EventEmitter } from 'node:events';
import { CallEvaluator } from '../../src/calls/call-evaluator';
import { CallScreener } from '../../src/calls/call-screener';
import { AgentAnswerWatcher, agentOf } from '../../src/calls/spam-key/agent-answer-watcher';
import { RecentCallers } from '../../src/calls/spam-key/recent-callers';
import { SpamKey } from '../../src/calls/spam-key/spam-key-call';
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { AmiMessage, AmiPort } from '../../src/ports/ami';
import type { AnsweredCall, AnsweredCallStore } from '../../src/ports/answered-call-store';
import type { FeedbackReport } from '../../src/ports/feedback-store';
import { captureLogger, FakeAri, FakeCallerHistoryStore, FakeCallLog, fakeChannel } from '../support/fakes';

class MemoryAnsweredCalls implements AnsweredCallStore {
  readonly calls = new Map<string, AnsweredCall>();
  async remember(agent: string, call: AnsweredCall): Promise<void> {
    this.calls.set(agent, call);
  }
  async take(agent: string): Promise<AnsweredCall | null> {
    const call = this.calls.get(agent) ?? null;
    this.calls.delete(agent);
    return call;
  }
}

const loaded = loadConfigText('numbers:\n  defaultRegion: US\n', 'callscreen.yaml', {});

function bench(options: { reportFails?: boolean; withSpamKey?: boolean } = {}) {
  const ari = new FakeAri();
  const log = captureLogger();
  const store = new MemoryAnsweredCalls();
  const recent = new RecentCallers(30 * 60_000);
  const reports: FeedbackReport[] = [];
  const spamKey = new SpamKey({
    store,
    recent,
    report: async (report) => {
      if (options.reportFails) throw new Error('Redis is down');
      reports.push(report);
    },
    settings: () => ({ confirmation: ['sound:beep', 'sound:auth-thankyou'], nothingToMark: ['sound:nothing'] }),
    host: 'pbx1',
    logger: log.logger,
  });
  const history = new FakeCallerHistoryStore();
  const callLog = new FakeCallLog();
  const screener = new CallScreener({
    ari,
    evaluator: new CallEvaluator({ history }),
    callLog,
    logger: log.logger,
    settings: () => ({
      config: loaded.config,
      screening: loaded.screening,
      rules: compileRulesText('allow: []\ndeny: []\n', 'rules.yaml', 'US'),
    }),
    captchaHistory: history,
    sentToAgents: recent,
    ...(options.withSpamKey === false ? {} : { spamKey }),
  });
  ari.on('event', screener.onAriEvent);
  return { ari, log, store, recent, reports, screener, callLog };
}

async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const played = (b: ReturnType<typeof bench>, id: string): string[] =>
  b.ari.requestsOf('play').flatMap((r) => (r.args[0] === id ? [r.args[1].media].flat() : []));
const hungUp = (b: ReturnType<typeof bench>, id: string): boolean =>
  b.ari.requestsOf('hangup').some((r) => r.args[0] === id);

describe('the spam key marks the last screened caller the agent answered', () => {
  test('a press reports that caller as spam, names the extension, confirms and hangs up; the next press marks nothing', async () => {
    const b = bench();
    await b.store.remember('agent100', { e164: '+14155550123', callId: 'in-1', at: Date.now() });
    const press = fakeChannel('key-1', '100');
    b.ari.startCall(press, ['spam-key', 'agent100']);
    await until(() => hungUp(b, 'key-1'));
    expect(b.reports).toEqual([
      expect.objectContaining({ e164: '+14155550123', verdict: 'spam', agent: 'ext agent100', host: 'pbx1' }),
    ]);
    expect(b.reports[0]?.note).toContain('in-1');
    expect(played(b, 'key-1')).toEqual(['sound:beep', 'sound:auth-thankyou']);
    expect(b.callLog.records).toEqual([]); // not a screened call

    const again = fakeChannel('key-2', '100');
    b.ari.startCall(again, ['spam-key', 'agent100']);
    await until(() => hungUp(b, 'key-2'));
    expect(b.reports).toHaveLength(1);
    expect(played(b, 'key-2')).toEqual(['sound:nothing']);
  });

  test('a caller the agent transferred to the code is the one marked', async () => {
    const b = bench();
    b.recent.remember('in-7', '+14155550177');
    b.ari.startCall(fakeChannel('in-7', '+14155550177'), ['spam-key', '']);
    await until(() => hungUp(b, 'in-7'));
    expect(b.reports).toEqual([expect.objectContaining({ e164: '+14155550177', verdict: 'spam' })]);
  });

  test('a report that fails marks nothing, says so, and still hangs up', async () => {
    const b = bench({ reportFails: true });
    await b.store.remember('agent100', { e164: '+14155550123', callId: 'in-1', at: Date.now() });
    b.ari.startCall(fakeChannel('key-3', '100'), ['spam-key', 'agent100']);
    await until(() => hungUp(b, 'key-3'));
    expect(played(b, 'key-3')).toEqual(['sound:nothing']);
    expect(b.log.lines.some((l) => l.msg === 'spam key: the report failed; nothing marked')).toBe(true);
  });

  test('without a spam key the call is hung up, never screened or sent to the agents', async () => {
    const b = bench({ withSpamKey: false });
    b.ari.startCall(fakeChannel('key-4', '100'), ['spam-key', 'agent100']);
    await until(() => hungUp(b, 'key-4'));
    expect(b.ari.requestsOf('continueInDialplan')).toEqual([]);
    expect(b.callLog.records).toEqual([]);
  });

  test('a screened call sent to the agents is remembered for the watcher', async () => {
    const b = bench();
    b.ari.startCall(fakeChannel('in-9', '+14155550199'), ['inbound', '+12125550100']);
    await until(() => b.recent.callerOf('in-9') !== undefined);
    expect(b.recent.callerOf('in-9')).toBe('+14155550199');
  });
});

describe('the agent-answer watcher', () => {
  const dialEnd = (extra: AmiMessage): AmiMessage => ({
    event: 'DialEnd',
    dialstatus: 'ANSWER',
    destlinkedid: 'in-1',
    destchannel: 'PJSIP/agent100-0000002a',
    ...extra,
  });

  function watcher() {
    const ami = new EventEmitter();
    const recent = new RecentCallers(60_000);
    recent.remember('in-1', '+14155550123');
    const store = new MemoryAnsweredCalls();
    const w = new AgentAnswerWatcher({
      ami: ami as unknown as Pick<AmiPort, 'on' | 'off'>,
      recent,
      store,
      keepMs: 60_000,
      logger: captureLogger().logger,
    });
    return { ami, store, w };
  }

  test('an answered dial linked to a screened call is remembered for the answering phone', async () => {
    const { ami, store } = watcher();
    ami.emit('event', dialEnd({}));
    await until(() => store.calls.size > 0);
    expect(store.calls.get('agent100')).toMatchObject({ e164: '+14155550123', callId: 'in-1' });
  });

  test.each([
    ['not answered', { dialstatus: 'NOANSWER' }],
    ['a Local channel (a hop in the dialplan, not a phone)', { destchannel: 'Local/100@from-internal-00000001;1' }],
    ['a call this daemon did not screen', { destlinkedid: 'out-5' }],
    ['another event', { event: 'DialBegin' }],
  ])('%s is not remembered', async (_what, extra) => {
    const { ami, store } = watcher();
    ami.emit('event', dialEnd(extra));
    await new Promise((r) => setTimeout(r, 10));
    expect(store.calls.size).toBe(0);
  });

  test('close() stops watching and is idempotent', async () => {
    const { ami, store, w } = watcher();
    w.close();
    w.close();
    ami.emit('event', dialEnd({}));
    await new Promise((r) => setTimeout(r, 10));
    expect(store.calls.size).toBe(0);
  });

  test('agentOf names the phone of a channel', () => {
    expect(agentOf('PJSIP/agent100-0000002a')).toBe('agent100');
    expect(agentOf('SIP/201-00000001')).toBe('201');
    expect(agentOf('Local/100@from-internal-00000001;2')).toBeUndefined();
    expect(agentOf('garbage')).toBeUndefined();
  });
});

describe('recent callers', () => {
  test('forget a call after keepMs', () => {
    let now = 0;
    const recent = new RecentCallers(1000, () => now);
    recent.remember('a', '+14155550123');
    now = 999;
    expect(recent.callerOf('a')).toBe('+14155550123');
    now = 1001;
    expect(recent.callerOf('a')).toBeUndefined();
  });
});
