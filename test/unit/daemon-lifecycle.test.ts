/**
 * The daemon's start and close order, with fakes for every part that reaches outside the process
 * (Redis and the stores on it, ARI, AMI, the HTTP endpoint). The rules and config reloaders, the
 * screener and the evaluator are the real ones, on files in a temporary folder; their steps are
 * recorded by spying on their public methods. The daemon as a process, on a real Asterisk and Redis:
 * test/integration/daemon-*.test.ts.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { CallScreener } from '../../src/calls/call-screener';
import { ConfigReloader } from '../../src/config/config-reloader';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { RulesReloader } from '../../src/config/rules-reloader';
import {
  CallscreenDaemon,
  type Closable,
  type DaemonParts,
  type ReputationSources,
} from '../../src/daemon/callscreen-daemon';
import type { AmiServicesOptions } from '../../src/daemon/ami-services';
import type { HttpEndpointOptions } from '../../src/daemon/start-http';
import {
  captureLogger,
  FakeAri,
  FakeCallerHistoryStore,
  FakeCallLog,
  fakeChannel,
  type Journal,
} from '../support/fakes';

/**
 * The little of a Redis client the daemon itself touches (events, status, quit): everything else goes
 * to the stores, which are faked here. Handed to the daemon as a RedisClient for that reason.
 */
class FakeRedis extends EventEmitter {
  status = 'wait';
  constructor(private readonly journal: Journal) {
    super();
  }
  quit(): Promise<'OK'> {
    this.journal.push('redis.quit');
    this.status = 'end';
    return Promise.resolve('OK');
  }
  disconnect(): void {
    this.journal.push('redis.disconnect');
  }
}

const closable = (journal: Journal, name: string): Closable => ({
  close: () => {
    journal.push(`${name}.close`);
  },
});

interface Fakes {
  journal: Journal;
  parts: Partial<DaemonParts>;
  ari: FakeAri;
  /** the REST-only adapter the daemon makes at close, once it did */
  rest: FakeAri | undefined;
  redis: FakeRedis;
  amiOptions: AmiServicesOptions[];
  httpOptions: HttpEndpointOptions[];
}

function fakeParts(): Fakes {
  const journal: Journal = [];
  const redis = new FakeRedis(journal);
  const ari = new FakeAri({ journal, name: 'ari' });
  const fakes: Fakes = { journal, parts: {}, ari, rest: undefined, redis, amiOptions: [], httpOptions: [] };
  let created = false;
  const sources: ReputationSources = {
    sources: () => [],
    start: () => journal.push('sources.start'),
    close: () => journal.push('sources.close'),
  };
  fakes.parts = {
    createRedis: () => {
      journal.push('redis.create');
      return redis as unknown as RedisClient; // see FakeRedis
    },
    connectRedis: () => {
      journal.push('redis.connect');
      redis.status = 'ready';
      return Promise.resolve(true);
    },
    // the first is the daemon's adapter; the next (at close) the REST-only one for the calls left behind
    createAri: () => {
      if (!created) {
        created = true;
        journal.push('ari.create');
        return ari;
      }
      journal.push('rest.create');
      fakes.rest = new FakeAri({ journal, name: 'rest' });
      return fakes.rest;
    },
    createReputationSources: () => sources,
    createCallerHistory: () => new FakeCallerHistoryStore(),
    createCallLog: () => new FakeCallLog(journal),
    startGenerationPurge: () => {
      journal.push('purge.start');
      return closable(journal, 'purge');
    },
    startAmi: (options) => {
      journal.push('ami.start');
      fakes.amiOptions.push(options);
      return closable(journal, 'ami');
    },
    startHttp: (_loaded, _redis, _logger, options) => {
      journal.push('http.start');
      fakes.httpOptions.push(options);
      return Promise.resolve(closable(journal, 'http'));
    },
  };
  return fakes;
}

/** The real reloaders' and the screener's steps, in the same journal (each still does what it did). */
function spyOnRealParts(journal: Journal): void {
  // typed loosely: jest.spyOn's types cannot follow a method name that is a type parameter
  const spy = <T extends object>(prototype: T, method: keyof T & string, name: string): void => {
    const original = prototype[method] as (...args: unknown[]) => unknown;
    jest.spyOn(prototype, method as never).mockImplementation(function (this: T, ...args: unknown[]) {
      journal.push(`${name}.${method}`);
      return original.apply(this, args);
    } as never);
  };
  spy(RulesReloader.prototype, 'start', 'rules');
  spy(RulesReloader.prototype, 'close', 'rules');
  spy(ConfigReloader.prototype, 'start', 'config');
  spy(ConfigReloader.prototype, 'close', 'config');
  spy(CallScreener.prototype, 'drain', 'screener');
  spy(CallScreener.prototype, 'stopTakingCalls', 'screener');
  spy(CallScreener.prototype, 'releaseCallsLeftBehind', 'screener');
}

let folder: string;
function configWith(extra = ''): LoadedConfig {
  const file = path.join(folder, 'callscreen.yaml');
  writeFileSync(file, `numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\n${extra}`);
  return loadConfig(file, {});
}

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'callscreen-daemon-'));
  writeFileSync(path.join(folder, 'rules.yaml'), 'deny: ["+1 201 555 0123"]\n');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));
afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

/** The steps of start, in order. */
const START_ORDER = [
  'rules.start',
  'config.start',
  'redis.create',
  'redis.connect',
  'ari.create',
  'sources.start',
  'purge.start',
  'callLog.startRetention',
  'http.start',
  'ari.start',
];

/** The steps of close, in order: calls first, Redis last. */
const CLOSE_ORDER = [
  'screener.drain', // calls in flight finish routing
  'callLog.close',
  'sources.close',
  'purge.close',
  'rules.close',
  'config.close',
  'http.close',
  'screener.stopTakingCalls', // calls entering from now on are only remembered
  'screener.drain', // calls screened since the first wait
  'ari.close',
  'rest.create',
  'screener.releaseCallsLeftBehind', // over a REST-only adapter
  'rest.close',
  'redis.quit',
];

describe('CallscreenDaemon: start and close', () => {
  test('start brings the parts up in order, ARI last; close takes them down in reverse, Redis last', async () => {
    const fakes = fakeParts();
    spyOnRealParts(fakes.journal);
    const { logger } = captureLogger();
    const daemon = await CallscreenDaemon.start(configWith(), logger, fakes.parts);
    expect(fakes.journal).toEqual(START_ORDER);
    expect(fakes.ari.state).toBe('connected');

    fakes.journal.length = 0;
    await daemon.close();
    expect(fakes.journal).toEqual(CLOSE_ORDER);
  });

  test('with ami.enabled, AMI starts before HTTP and closes right after the calls drained', async () => {
    const fakes = fakeParts();
    spyOnRealParts(fakes.journal);
    const { logger } = captureLogger();
    const daemon = await CallscreenDaemon.start(configWith('ami:\n  enabled: true\n'), logger, fakes.parts);
    expect(fakes.journal.slice(-3)).toEqual(['ami.start', 'http.start', 'ari.start']);
    expect(fakes.amiOptions[0]?.ari).toBe(fakes.ari);

    fakes.journal.length = 0;
    await daemon.close();
    expect(fakes.journal.slice(0, 3)).toEqual(['screener.drain', 'ami.close', 'callLog.close']);
    expect(fakes.journal.at(-1)).toBe('redis.quit');
  });

  test('close() is idempotent: the same promise, every step once', async () => {
    const fakes = fakeParts();
    spyOnRealParts(fakes.journal);
    const daemon = await CallscreenDaemon.start(configWith(), captureLogger().logger, fakes.parts);
    fakes.journal.length = 0;
    const first = daemon.close();
    expect(daemon.close()).toBe(first);
    await first;
    await daemon.close();
    expect(fakes.journal).toEqual(CLOSE_ORDER);
  });

  test('an ARI that is not reachable at start is retried, with a growing delay, until it is', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const fakes = fakeParts();
    fakes.ari.fail('start', new Error('connect ECONNREFUSED 127.0.0.1:8088'), { times: 2 });
    const log = captureLogger();
    let started: CallscreenDaemon | undefined;
    const starting = CallscreenDaemon.start(configWith(), log.logger, fakes.parts).then((d) => (started = d));

    await jest.advanceTimersByTimeAsync(499);
    expect(fakes.journal.filter((s) => s === 'ari.start')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1); // 500 ms after the first try
    expect(fakes.journal.filter((s) => s === 'ari.start')).toHaveLength(2);
    expect(started).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1000); // 1000 ms after the second
    await starting;
    expect(fakes.journal.filter((s) => s === 'ari.start')).toHaveLength(3);
    expect(log.at('warn').filter((l) => l.msg === 'ARI not reachable; retrying')).toMatchObject([
      { attempt: 1, delayMs: 500, err: 'connect ECONNREFUSED 127.0.0.1:8088' },
      { attempt: 2, delayMs: 1000 },
    ]);
    jest.useRealTimers();
    await started?.close();
  });

  test('once ARI is connected, calls left in the app by an earlier daemon are sent to the agents', async () => {
    const fakes = fakeParts();
    const old = new Date(Date.now() - 60_000).toISOString();
    fakes.ari.channels = [
      fakeChannel('orphan', '+14155552671', {
        creationtime: old,
        dialplan: {
          context: 'from-trunk',
          exten: '+12125550100',
          priority: 2,
          app_name: 'Stasis',
          app_data: 'callscreen,inbound',
        },
      }),
    ];
    const log = captureLogger();
    const daemon = await CallscreenDaemon.start(configWith(), log.logger, fakes.parts);
    await until(() => fakes.ari.requestsOf('continueInDialplan').length === 1);
    expect(fakes.ari.requestsOf('continueInDialplan')[0]?.args).toEqual([
      'orphan',
      { context: 'callscreen-agents', extension: '+12125550100', priority: 1 },
    ]);
    await until(() => log.lines.some((l) => l.msg === 'sent calls left without a handler to the agents'));
    await daemon.close();
  });

  test('the ARI link lost while a caller is in the CAPTCHA: the daemon has the caller sent to the agents', async () => {
    const fakes = fakeParts();
    const listed = new FakeCallerHistoryStore().returns({
      reputation: { entries: [{ score: 0.5, reports: 3, source: 'feed', lastSeenAt: Date.now() }] },
    });
    fakes.parts.createCallerHistory = () => listed;
    fakes.ari.endlessMedia = ['sound:vm-press']; // the code prompt plays on
    fakes.ari.onRequest = (r) => {
      if (r.method === 'play' && [r.args[1].media].flat()[0] === 'sound:vm-press')
        setImmediate(() => fakes.ari.setState('reconnecting', { reason: 'websocket closed (code 1006)', attempt: 1 }));
    };
    const daemon = await CallscreenDaemon.start(configWith(), captureLogger().logger, fakes.parts);
    fakes.ari.startCall(fakeChannel('in-captcha', '+14155552671'), ['inbound', '+12125550100']);
    await until(() => fakes.ari.requestsOf('continueInDialplan').length === 1);
    expect(fakes.ari.requestsOf('continueInDialplan')[0]?.args).toEqual([
      'in-captcha',
      { context: 'callscreen-agents', extension: '+12125550100', priority: 1 },
    ]);
    await daemon.close();
  });

  test('a call entering while the daemon closes is sent to the agents once ARI is closed', async () => {
    const fakes = fakeParts();
    spyOnRealParts(fakes.journal);
    const daemon = await CallscreenDaemon.start(configWith(), captureLogger().logger, fakes.parts);
    const late = fakeChannel('late', '+14155552671');
    // the call enters after the screener stopped taking calls, before the websocket closed
    const realClose = fakes.ari.close.bind(fakes.ari);
    jest.spyOn(fakes.ari, 'close').mockImplementation(() => {
      fakes.ari.startCall(late, ['inbound', '+12125550100']);
      return realClose();
    });
    await daemon.close();
    expect(fakes.ari.requestsOf('continueInDialplan')).toEqual([]);
    expect(fakes.rest?.requestsOf('continueInDialplan').map((r) => r.args)).toEqual([
      ['late', { context: 'callscreen-agents', extension: '+12125550100', priority: 1 }],
    ]);
  });

  test('the HTTP endpoint reports readiness from the ARI and Redis the daemon holds', async () => {
    const fakes = fakeParts();
    const daemon = await CallscreenDaemon.start(configWith(), captureLogger().logger, fakes.parts);
    expect(fakes.httpOptions[0]?.readiness?.()).toEqual({ ari: 'connected', redis: 'ready' });
    await daemon.close();
    expect(fakes.httpOptions[0]?.readiness?.()).toEqual({ ari: 'closed', redis: 'end' });
  });
});

async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}
