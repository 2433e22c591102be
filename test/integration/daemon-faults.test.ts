/**
 * No call is lost: Redis down or hung, bad config at start, SIGTERM. Where each call ends is observed
 * from Asterisk.
 */
import { CallHarness } from '../../tools/testbed/call-harness';
import { DEFAULT_TEST_CONFIG, spawnDaemon, startDaemon, writeConfigDir, type LogLine } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';

jest.setTimeout(60_000);

let harness: CallHarness;
beforeAll(async () => {
  harness = await CallHarness.open();
});
afterAll(async () => {
  await harness?.close();
});

const byCaller = (raw: string) => (l: LogLine) => (l.caller as { raw?: string } | undefined)?.raw === raw;
const DEADLINE_MS = 300;

describe('Redis fails while the daemon runs', () => {
  const redis = new PrivateRedis(16391);
  afterAll(async () => redis.kill());

  test('calls still reach a human inside the decision deadline, and the log says the decision was degraded', async () => {
    await redis.start();
    const seed = redis.client();
    await new RedisReputationStore(seed, 'callscreen:').put('test', [
      { e164: '+18336317911', score: 0.95, reports: 26 },
    ]);
    seed.disconnect();
    const config = `${DEFAULT_TEST_CONFIG}\nredis:\n  url: ${redis.url}\n  commandTimeoutMs: 100\n`.replace(
      'deadlineMs: 200',
      `deadlineMs: ${DEADLINE_MS}`,
    );
    const daemon = await startDaemon({ config, env: { CALLSCREEN_REDIS_URL: redis.url } });
    try {
      // Redis up: the listed number is screened out
      let call = await harness.placeCall({ caller: '+18336317911', did: '+12125550100' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('voicemail');

      // Redis hung (SIGSTOP): the lookup times out, the caller reaches the agents
      redis.pause();
      call = await harness.placeCall({ caller: '+18336317911', did: '+12125550101' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      let line = await daemon.screenedLine((l) => byCaller('+18336317911')(l) && l.degraded === true);
      expect(line.msg).toBe('call screened (degraded)');
      expect(line.reasons).toContain('history.unavailable');
      // within the deadline, with room for timers that fire late on a loaded machine
      expect(line.decisionMs as number).toBeLessThan(2 * DEADLINE_MS);

      // Redis killed: the connection is gone, lookups fail at once, callers still reach the agents
      await redis.kill();
      const before = daemon.lines.length;
      call = await harness.placeCall({ caller: '+18336317911', did: '+12125550102' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      line = await daemon.screenedLine((l) => daemon.lines.indexOf(l) >= before && byCaller('+18336317911')(l));
      expect(line).toMatchObject({ degraded: true, verdict: 'allow' });
      expect(String(line.explanation)).toMatch(/reputation and call history not consulted/);

      // Redis back: screening is whole again
      await redis.start();
      const reseed = redis.client();
      await new RedisReputationStore(reseed, 'callscreen:').put('test', [
        { e164: '+18336317911', score: 0.95, reports: 26 },
      ]);
      reseed.disconnect();
      await daemon.waitForLog((l) => l.msg === 'redis connected' && daemon.lines.indexOf(l) >= before, 15_000);
      call = await harness.placeCall({ caller: '+18336317911', did: '+12125550103' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('voicemail');
    } finally {
      await daemon.stop();
    }
  });
});

describe('the screened-call log across a Redis outage', () => {
  // durable, as a production Redis is: the entry written before the crash is still there after it
  const redis = new PrivateRedis(16396, { durable: true });
  afterAll(async () => redis.kill());

  test('every call screened while Redis is down for 5 s is in the log once it is back, once each', async () => {
    await redis.start();
    const daemon = await startDaemon({
      config: `${DEFAULT_TEST_CONFIG}\nredis:\n  url: ${redis.url}\n  commandTimeoutMs: 100\n`,
      env: { CALLSCREEN_REDIS_URL: redis.url },
    });
    const callers = ['+13125550141', '+13125550142', '+13125550143', '+13125550144'];
    try {
      let call = await harness.placeCall({ caller: callers[0]!, did: '+12125550110' });
      expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
      // the first call's entry is written (after its routing) before Redis goes down
      const probe = redis.client();
      try {
        const deadline = Date.now() + 10_000;
        while ((await probe.xlen('callscreen:calls')) < 1 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        probe.disconnect();
      }

      await redis.kill();
      const down = Date.now();
      for (const caller of callers.slice(1)) {
        call = await harness.placeCall({ caller, did: '+12125550110' });
        expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
        await daemon.screenedLine(byCaller(caller));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - down))));
      const before = daemon.lines.length;
      await redis.start();
      await daemon.waitForLog(
        (l) => daemon.lines.indexOf(l) >= before && /records written late/.test(String(l.msg)),
        20_000,
      );

      const client = redis.client();
      try {
        const entries = await client.xrange('callscreen:calls', '-', '+');
        const logged = entries.map(([, fields]) => fields[fields.indexOf('caller') + 1]);
        for (const caller of callers) expect(logged.filter((c) => c === caller)).toHaveLength(1);
      } finally {
        client.disconnect();
      }
    } finally {
      await daemon.stop();
    }
  });
});

describe('bad configuration at start', () => {
  test.each([
    ['malformed rules.yaml', DEFAULT_TEST_CONFIG, 'allow:\n  - "+12125550147"\n deny: [\n', /rules\.yaml:\d+:\d+/],
    [
      'a rule that does not parse',
      DEFAULT_TEST_CONFIG,
      'allow:\n  - "+12125550147"\n  - "not a number"\n',
      /rules\.yaml:3:\d+ .*not a number|rules\.yaml:3:\d+/,
    ],
    ['malformed callscreen.yaml', 'screening:\n  deadlineMs: [\n', 'allow: []\n', /callscreen\.yaml:\d+:\d+/],
    [
      'an unknown key in callscreen.yaml',
      'screening:\n  deadlinMs: 100\n',
      'allow: []\n',
      /callscreen\.yaml:2:3 unknown key "deadlinMs"/,
    ],
  ])(
    '%s: a clear error naming file, line and reason; exit code 2; no stack trace',
    async (_name, config, rules, pattern) => {
      const daemon = spawnDaemon(writeConfigDir(config, rules));
      const code = await daemon.exitCode();
      expect(code).toBe(2);
      expect(daemon.stderr).toMatch(/^callscreen: configuration error\n/);
      expect(daemon.stderr).toMatch(pattern);
      expect(daemon.stderr).not.toMatch(/\n\s+at /);
    },
  );
});

describe('SIGTERM', () => {
  test('a call in flight finishes routing, the daemon exits 0, and the next call falls back to the agents in the dialplan', async () => {
    const redis = new PrivateRedis(16392);
    await redis.start();
    const config = `${DEFAULT_TEST_CONFIG}\nredis:\n  url: ${redis.url}\n`.replace(
      'deadlineMs: 200',
      'deadlineMs: 1500',
    );
    const daemon = await startDaemon({ config, env: { CALLSCREEN_REDIS_URL: redis.url } });
    try {
      redis.pause(); // lookups hang until the deadline: the call stays in flight for ~1.5 s
      const inFlight = await harness.placeCall({ caller: '+13125550177', did: '+12125550100' });
      await daemon.waitForLog((l) => l.msg === 'call entered screening' && (l.caller as string) === '+13125550177');
      const code = daemon.stop('SIGTERM');
      expect(await harness.waitForDestination(inFlight, 10_000)).toBe('agents');
      expect(await code).toBe(0);
      expect(daemon.lines.some((l) => l.msg === 'stopped')).toBe(true);
      expect(daemon.lines.filter(byCaller('+13125550177'))).toHaveLength(1);

      const after = await harness.placeCall({ caller: '+13125550178', did: '+12125550100' });
      const fallback = harness.waitForEvent(
        (e) => e.userevent === 'CallscreenFallback' && (e.callerid ?? '').includes('+13125550178'),
        10_000,
      );
      expect(await harness.waitForDestination(after, 10_000)).toBe('agents');
      expect((await fallback).stasisstatus).toBe('FAILED');
    } finally {
      await daemon.stop('SIGKILL');
      await redis.kill();
    }
  });
});
