/**
 * DaemonParts for CallscreenDaemon.start without Asterisk or Redis: the FakeAri of fakes.ts, a Redis
 * client that only has what the daemon itself touches, and the stores' fakes. A test replaces any part
 * (its own caller history, the real HTTP endpoint, ...) on the returned `parts`.
 */
import { EventEmitter } from 'node:events';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import type { DaemonParts, ReputationSources } from '../../src/daemon/callscreen-daemon';
import type { AriPortOptions } from '../../src/ports/ari';
import { FakeAri, FakeCallerHistoryStore, FakeCallLog } from './fakes';

/**
 * The little of a Redis client the daemon itself touches (events, status, quit, and defineCommand for
 * the real HTTP endpoint's stores): everything else goes to the stores, which are faked. Handed to the daemon as a RedisClient for that reason.
 */
export class FakeDaemonRedis extends EventEmitter {
  status = 'wait';
  quit(): Promise<'OK'> {
    this.status = 'end';
    return Promise.resolve('OK');
  }
  disconnect(): void {
    this.status = 'end';
  }
  /** the HTTP endpoint's stores define their Lua scripts when made: a command that always fails */
  defineCommand(name: string): void {
    Object.assign(this, { [name]: () => Promise.reject(new Error('no scripts on the fake Redis')) });
  }
}

export interface FakeDaemon {
  parts: DaemonParts;
  /** the daemon's ARI adapter (the REST-only one it makes at close is another FakeAri) */
  ari: FakeAri;
  redis: FakeDaemonRedis;
  history: FakeCallerHistoryStore;
  callLog: FakeCallLog;
  /** the options every createAri was called with, in order */
  ariOptions: AriPortOptions[];
}

/** `redisReachable`: what the first connect answers (false: the daemon starts degraded, and says so). */
export function fakeDaemonParts(options: { redisReachable?: boolean } = {}): FakeDaemon {
  const ari = new FakeAri();
  const redis = new FakeDaemonRedis();
  const history = new FakeCallerHistoryStore();
  const callLog = new FakeCallLog();
  const ariOptions: AriPortOptions[] = [];
  const sources: ReputationSources = { sources: () => [], start: () => undefined, close: () => undefined };
  const parts: DaemonParts = {
    createRedis: () => redis as unknown as RedisClient, // see FakeDaemonRedis
    connectRedis: () => {
      const reachable = options.redisReachable ?? true;
      if (reachable) redis.status = 'ready';
      return Promise.resolve(reachable);
    },
    createAri: (_kind, ariOptionsGiven) => {
      ariOptions.push(ariOptionsGiven);
      return ariOptions.length === 1 ? ari : new FakeAri();
    },
    createReputationSources: () => sources,
    createCallerHistory: () => history,
    createLookupCache: () => ({ read: () => Promise.resolve(new Map()), write: () => Promise.resolve() }),
    createCallLog: () => callLog,
    startGenerationPurge: () => ({ close: () => undefined }),
    startAmi: () => ({ close: () => undefined }),
    startHttp: () => Promise.resolve(undefined),
  };
  return { parts, ari, redis, history, callLog, ariOptions };
}
