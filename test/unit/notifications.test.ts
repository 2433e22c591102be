/**
 * What the daemon's notifications turn into webhook events, with fetch replaced (the deliveries over real
 * HTTP, signatures and retries: test/integration/webhooks.test.ts): spam surges once per DID and window,
 * outages only past downAfterSeconds and their end, failed feeds, rejected edits; nothing without a webhook.
 */
import { EventEmitter } from 'node:events';
import { loadConfigText } from '../../src/config/load-config';
import { startNotifications } from '../../src/daemon/notifications';
import { SpamSurgeDetector } from '../../src/notifications/spam-surge';
import { ConfigError } from '../../src/errors/config-error';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { captureLogger } from '../support/fakes';

describe('a spam surge', () => {
  test('is the calls-th spam call to one DID within the window, told once per window', () => {
    const d = new SpamSurgeDetector({ calls: 3, windowMinutes: 10 });
    const MIN = 60_000;
    expect(d.spamCall('+12125550100', 0)).toBeUndefined();
    expect(d.spamCall('+12125550200', 1 * MIN)).toBeUndefined(); // another DID counts apart
    expect(d.spamCall('+12125550100', 2 * MIN)).toBeUndefined();
    expect(d.spamCall('+12125550100', 3 * MIN)).toEqual({ did: '+12125550100', calls: 3, windowMinutes: 10 });
    // quiet for a window after it was told
    for (let m = 4; m < 13; m++) expect(d.spamCall('+12125550100', m * MIN)).toBeUndefined();
    // counted again from scratch after it
    expect(d.spamCall('+12125550100', 14 * MIN)).toBeUndefined();
    expect(d.spamCall('+12125550100', 15 * MIN)).toBeUndefined();
    expect(d.spamCall('+12125550100', 16 * MIN)).toEqual(expect.objectContaining({ did: '+12125550100' }));
  });

  test('calls spread wider than the window are no surge', () => {
    const d = new SpamSurgeDetector({ calls: 2, windowMinutes: 1 });
    expect(d.spamCall('s', 0)).toBeUndefined();
    expect(d.spamCall('s', 61_000)).toBeUndefined();
    expect(d.spamCall('s', 62_000)).toBeDefined();
  });
});

describe('the daemon notifications', () => {
  const loaded = loadConfigText(
    'notifications:\n  webhooks:\n    - url: "http://127.0.0.1:9/hook"\n      events: [ari-down, recovered, feed-failed, rules-rejected, spam-surge]\n  downAfterSeconds: 5\n  spamSurge: { calls: 2, windowMinutes: 10 }\n',
    'callscreen.yaml',
    {},
  );
  let posted: Array<{ type: string; data: Record<string, unknown> }>;
  let fetchSpy: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    posted = [];
    fetchSpy = jest.spyOn(global, 'fetch').mockImplementation(async (_url, init) => {
      posted.push(JSON.parse(String(init?.body)) as { type: string; data: Record<string, unknown> });
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => {
    fetchSpy.mockRestore();
    jest.useRealTimers();
  });

  function start() {
    const sources = {
      rules: new EventEmitter(),
      config: new EventEmitter(),
      redis: new EventEmitter(),
      ari: new EventEmitter(),
    };
    const n = startNotifications(loaded.config, sources, { logger: captureLogger().logger, host: 'pbx1', env: {} });
    return { sources, n };
  }
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
  };

  test('ARI down for less than downAfterSeconds says nothing; longer: ari-down, then recovered', async () => {
    const { sources, n } = start();
    sources.ari.emit('state', { state: 'reconnecting', previous: 'connected' });
    jest.advanceTimersByTime(4000);
    sources.ari.emit('state', { state: 'connected', previous: 'reconnecting' });
    await flush();
    expect(posted).toEqual([]);
    sources.ari.emit('state', { state: 'reconnecting', previous: 'connected' });
    jest.advanceTimersByTime(5000);
    await flush();
    expect(posted.map((p) => p.type)).toEqual(['ari-down']);
    sources.ari.emit('state', { state: 'connected', previous: 'reconnecting' });
    await flush();
    expect(posted.map((p) => p.type)).toEqual(['ari-down', 'recovered']);
    expect(posted[1]?.data).toMatchObject({ service: 'ari' });
    await n.close();
  });

  test('a failed or refused feed update, a rejected edit, and a spam surge from screened calls', async () => {
    const { sources, n } = start();
    n.feedRun('robocall', 'imported');
    n.feedRun('robocall', 'refused');
    sources.rules.emit(
      'rejected',
      new ConfigError([{ file: 'rules.yaml', line: 3, column: 5, reason: 'not a number' }]),
    );
    const spam = {
      decision: { verdict: 'voicemail', did: { kind: 'e164', e164: '+12125550100', raw: '' } },
    } as unknown as ScreenedCallRecord;
    n.screened(spam);
    n.screened({ ...spam, decision: { ...spam.decision, verdict: 'allow' } });
    n.screened(spam);
    for (let i = 0; i < 4; i++) await flush();
    expect(posted.map((p) => p.type)).toEqual(['feed-failed', 'rules-rejected', 'spam-surge']);
    expect(posted[1]?.data).toMatchObject({ problems: ['rules.yaml:3:5 not a number'] });
    await n.close();
  });

  test('without a webhook nothing is listened to', () => {
    const none = loadConfigText('numbers:\n  defaultRegion: US\n', 'callscreen.yaml', {});
    const rules = new EventEmitter();
    startNotifications(
      none.config,
      { rules, config: new EventEmitter(), redis: new EventEmitter(), ari: new EventEmitter() },
      { logger: captureLogger().logger, host: 'x' },
    );
    expect(rules.listenerCount('rejected')).toBe(0);
  });
});
