/**
 * The screened-call log survives a Redis outage: the daemon's call log (realDaemonParts.createCallLog,
 * on a private redis-server) gets a record every 50 ms while Redis is stopped for 5 s, or hung for 5 s
 * (SIGSTOP: the writes sent meanwhile time out on the client, and Redis runs them when it wakes up,
 * so the retries of the same records reach it too). Afterwards every record is in the stream once, in
 * the order of the calls. Needs only Redis (no Asterisk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectInBackground, createRedisClient, type RedisClient } from '../../src/adapters/redis/redis-connection';
import type { CallLogBufferMetrics } from '../../src/call-log/buffered-call-log';
import { configSchema, type CallscreenConfig } from '../../src/config/schema';
import { realDaemonParts, type RetainedCallLog } from '../../src/daemon/callscreen-daemon';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { captureLogger } from '../support/fakes';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(60_000);

const OUTAGE_MS = 5000;
const EVERY_MS = 50;

const server = new PrivateRedis(16531);
let dir: string;

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.kill();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'call-log-outage-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
function record(): ScreenedCallRecord {
  seq += 1;
  const at = new Date().toISOString();
  return {
    callId: `1765000000.${seq}`,
    at,
    channel: `PJSIP/trunk-${seq}`,
    decision: {
      verdict: 'allow',
      score: 0,
      reasons: [{ code: 'score', text: 'score 0' }],
      degraded: true,
      policies: [],
      caller: { kind: 'withheld', raw: 'anonymous' },
      did: { kind: 'withheld', raw: '' },
      at,
    },
    routedTo: 'agents',
    decisionMs: 1,
    host: 'pbx-a',
  };
}

/** what the buffer reported: the most records waiting at once, and how many were dropped */
interface Reported {
  mostQueued: number;
  dropped: number;
}

interface Setup {
  redis: RedisClient;
  log: RetainedCallLog;
  reported: Reported;
  logged: ReturnType<typeof captureLogger>;
  config: CallscreenConfig;
}

/** the daemon's Redis client and call log, as CallscreenDaemon wires them */
async function setup(stream: string): Promise<Setup> {
  const config = configSchema.parse({
    redis: { url: server.url, commandTimeoutMs: 100, keyPrefix: 'outage:' },
    callLog: { stream },
  });
  const redis = createRedisClient(config.redis, { connectionName: 'call-log-outage' });
  redis.on('error', () => undefined);
  expect(await connectInBackground(redis)).toBe(true);
  const logged = captureLogger();
  const reported: Reported = { mostQueued: 0, dropped: 0 };
  const metrics: CallLogBufferMetrics = {
    queued: (n) => (reported.mostQueued = Math.max(reported.mostQueued, n)),
    spilled: () => undefined,
    dropped: (n) => (reported.dropped += n),
  };
  const log = realDaemonParts.createCallLog(redis, config, logged.logger, {
    configFile: path.join(dir, 'callscreen.yaml'),
    metrics,
  });
  return { redis, log, reported, logged, config };
}

/** appends a record every EVERY_MS for ms, as the screener does (never awaited; a failure is only logged) */
async function screenCalls(log: RetainedCallLog, ms: number, into: string[]): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const r = record();
    into.push(r.callId);
    log.append(r).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
  }
}

async function streamCallIds(stream: string): Promise<string[]> {
  const admin = server.client();
  try {
    const entries = (await admin.xrange(`outage:${stream}`, '-', '+')) as [string, string[]][];
    return entries.map(([, fields]) => (JSON.parse(fields[7] as string) as ScreenedCallRecord).callId);
  } finally {
    admin.disconnect();
  }
}

/** how many times Redis ran a script (EVALSHA and EVAL) since it started */
async function scriptRuns(): Promise<number> {
  const admin = server.client();
  try {
    const stats = await admin.info('commandstats');
    return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  } finally {
    admin.disconnect();
  }
}

async function waitForEntries(stream: string, count: number, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids = await streamCallIds(stream).catch(() => []);
    if (ids.length >= count || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('records of calls screened while Redis is stopped for 5 s are all written when it is back, once each, in order', async () => {
  const s = await setup('stopped');
  const appended: string[] = [];
  try {
    await server.kill();
    await screenCalls(s.log, OUTAGE_MS, appended);
    await server.start();
    await screenCalls(s.log, 1000, appended); // and right after
    const written = await waitForEntries('stopped', appended.length);
    expect(written).toEqual(appended);
    expect(s.reported.mostQueued).toBeGreaterThan(50);
    expect(s.reported.dropped).toBe(0);
    expect(s.logged.at('warn').map((l) => l.msg)).toEqual([
      expect.stringMatching(/^screened-call log: Redis not writable, \d+ records waiting$/),
    ]);
    expect(s.logged.at('info').map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/^screened-call log: Redis writable again, \d+ records written late$/),
    );
  } finally {
    await s.log.close();
    s.redis.disconnect();
  }
});

test('records of calls screened while Redis hangs for 5 s: the writes whose answers were lost add nothing twice', async () => {
  const s = await setup('hung');
  const appended: string[] = [];
  const runsBefore = await scriptRuns();
  try {
    await screenCalls(s.log, 500, appended); // Redis up
    server.pause();
    await screenCalls(s.log, OUTAGE_MS, appended);
    server.resume();
    await screenCalls(s.log, 1000, appended);
    const written = await waitForEntries('hung', appended.length);
    await new Promise((r) => setTimeout(r, 500)); // any late duplicate would land by now
    expect(await streamCallIds('hung')).toEqual(appended);
    expect(written).toEqual(appended);
    expect(s.reported.dropped).toBe(0);
    // the writes sent while it hung reached Redis all the same: more script runs than records
    expect((await scriptRuns()) - runsBefore).toBeGreaterThan(appended.length);
  } finally {
    await s.log.close();
    s.redis.disconnect();
  }
});
