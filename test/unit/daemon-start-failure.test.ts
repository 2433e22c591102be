/**
 * A daemon start that fails part-way closes what it had started, newest first, and rejects with the error:
 * nothing (file watchers, timers, the Redis client and its reconnects) is left to keep `callscreen run`
 * alive, so the command can exit non-zero. The parts that reach outside the process are fakes; the rules
 * and config reloaders are the real ones, on files in a temporary folder.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { ConfigReloader } from '../../src/config/config-reloader';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { RulesReloader } from '../../src/config/rules-reloader';
import { CallscreenDaemon, type DaemonParts } from '../../src/daemon/callscreen-daemon';
import { ConfigError } from '../../src/errors/config-error';
import { captureLogger, FakeAri, FakeCallerHistoryStore, FakeCallLog, type Journal } from '../support/fakes';

/** The little of a Redis client the daemon itself touches; handed to it as a RedisClient for that reason. */
class FakeRedis extends EventEmitter {
  status = 'wait';
  constructor(private readonly journal: Journal) {
    super();
  }
  quit(): Promise<'OK'> {
    this.journal.push('redis.quit');
    return Promise.resolve('OK');
  }
  disconnect(): void {
    this.journal.push('redis.disconnect');
    this.status = 'end';
  }
}

function fakeParts(journal: Journal): { parts: Partial<DaemonParts>; ari: FakeAri } {
  const redis = new FakeRedis(journal);
  const ari = new FakeAri({ journal, name: 'ari' });
  const parts: Partial<DaemonParts> = {
    createRedis: () => redis as unknown as RedisClient, // see FakeRedis
    connectRedis: () => {
      journal.push('redis.connect');
      return Promise.resolve(true);
    },
    createAri: () => ari,
    createReputationSources: () => ({
      sources: () => [],
      start: () => journal.push('sources.start'),
      close: () => journal.push('sources.close'),
    }),
    createCallerHistory: () => new FakeCallerHistoryStore(),
    createCallLog: () => new FakeCallLog(journal),
    startGenerationPurge: () => ({ close: () => void journal.push('purge.close') }),
    startAmi: () => ({ close: () => void journal.push('ami.close') }),
    startHttp: () => Promise.resolve({ close: () => void journal.push('http.close') }),
  };
  return { parts, ari };
}

let folder: string;
function configWith(extra = ''): LoadedConfig {
  const file = path.join(folder, 'callscreen.yaml');
  writeFileSync(file, `numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\n${extra}`);
  return loadConfig(file, {});
}

/** The reloaders' start and close, noted in the journal (each still does what it does). */
function noteReloaders(journal: Journal): void {
  for (const [prototype, name] of [
    [RulesReloader.prototype, 'rules'],
    [ConfigReloader.prototype, 'config'],
  ] as const) {
    for (const method of ['start', 'close'] as const) {
      const original = prototype[method] as (this: unknown) => void;
      jest.spyOn(prototype, method).mockImplementation(function (this: unknown) {
        journal.push(`${name}.${method}`);
        original.call(this);
      });
    }
  }
}

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'callscreen-start-failure-'));
  writeFileSync(path.join(folder, 'rules.yaml'), 'deny: ["+1 201 555 0123"]\n');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));
afterEach(() => jest.restoreAllMocks());

describe('CallscreenDaemon.start when a part fails', () => {
  test('a part failing after Redis is connected: start rejects with its error and closes what ran, newest first', async () => {
    const journal: Journal = [];
    noteReloaders(journal);
    const { parts } = fakeParts(journal);
    const refused = new RangeError('ARI options refused');
    parts.createAri = () => {
      throw refused;
    };
    await expect(CallscreenDaemon.start(configWith(), captureLogger().logger, parts)).rejects.toBe(refused);
    expect(journal).toEqual([
      'rules.start',
      'config.start',
      'redis.connect',
      'redis.disconnect',
      'config.close',
      'rules.close',
    ]);
  });

  test('a configuration error found while making a part (a passwordEnv that is not set) closes the reloaders', async () => {
    const journal: Journal = [];
    noteReloaders(journal);
    const { parts } = fakeParts(journal);
    const unset = new ConfigError([
      { file: '(environment)', line: 0, column: 0, reason: 'redis.cluster.passwordEnv names X, which is not set' },
    ]);
    parts.createRedis = () => {
      throw unset;
    };
    await expect(CallscreenDaemon.start(configWith(), captureLogger().logger, parts)).rejects.toBe(unset);
    expect(journal).toEqual(['rules.start', 'config.start', 'config.close', 'rules.close']);
  });

  test('a failure at the last step before ARI closes every part started, ARI and Redis included', async () => {
    const journal: Journal = [];
    noteReloaders(journal);
    const { parts } = fakeParts(journal);
    parts.startHttp = () => Promise.reject(new Error('the HTTP endpoint broke'));
    const log = captureLogger();
    await expect(CallscreenDaemon.start(configWith('ami:\n  enabled: true\n'), log.logger, parts)).rejects.toThrow(
      'the HTTP endpoint broke',
    );
    const closing = journal.slice(journal.indexOf('callLog.startRetention') + 1);
    expect(closing).toEqual([
      'ami.close',
      'callLog.close',
      'purge.close',
      'sources.close',
      'ari.close',
      'redis.disconnect',
      'config.close',
      'rules.close',
    ]);
    expect(journal).not.toContain('ari.start');
  });

  test('a part that fails to close is logged and the others still close', async () => {
    const journal: Journal = [];
    noteReloaders(journal);
    const { parts, ari } = fakeParts(journal);
    jest.spyOn(ari, 'close').mockRejectedValue(new Error('close failed'));
    parts.startHttp = () => Promise.reject(new Error('the HTTP endpoint broke'));
    const log = captureLogger();
    await expect(CallscreenDaemon.start(configWith(), log.logger, parts)).rejects.toThrow('the HTTP endpoint broke');
    expect(journal.slice(-3)).toEqual(['redis.disconnect', 'config.close', 'rules.close']);
    expect(log.at('warn').map((l) => l.err)).toContain('close failed');
  });
});
