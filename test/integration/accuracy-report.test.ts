/**
 * `callscreen report accuracy` and `report shadow` as users run them (bin/callscreen.js), and the
 * console's GET /api/v1/accuracy and /api/v1/shadow, on the test bed's Redis: screened-call records
 * appended through RedisCallLog and agents' verdicts stored through RedisFeedbackStore (the hand-worked
 * month of test/support/accuracy-scenario.ts), the figures checked against the hand-computed ones.
 * No calls are placed: each run has a key prefix of its own and deletes its keys after.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Redis from 'ioredis';
import pino from 'pino';
import { RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import type { AccuracyReportResult } from '../../src/accuracy/accuracy-report';
import type { ShadowReportResult } from '../../src/accuracy/shadow-report';
import { loadConfig } from '../../src/config/load-config';
import { startHttpEndpoint } from '../../src/daemon/start-http';
import type { HttpServer } from '../../src/http-api/http-server';
import { SCENARIO_CALLS, SCENARIO_REPORTS } from '../support/accuracy-scenario';
import { runCli, writeConfigDir } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { reason, screenedCall } from '../support/screened-calls';
import { testbed } from '../support/testbed';

jest.setTimeout(30_000);

const RUN = randomUUID();
const ACCURACY_PREFIX = `cstest-${RUN}-accuracy:`;
const SHADOW_PREFIX = `cstest-${RUN}-shadow:`;
const PORT = 18498;
const TOKEN = 'accuracy-report-token-5c1e9a';
const ROLLOUT_DID = '+1 212 555 0150';
const T = Date.parse('2026-12-01T10:00:00Z');

let redis: Redis;
let accuracyDir: string;
let shadowDir: string;
let http: HttpServer | undefined;

function config(prefix: string): string {
  return [
    'numbers:',
    '  defaultRegion: US',
    'redis:',
    `  keyPrefix: "${prefix}"`,
    'http:',
    '  enabled: true',
    `  port: ${PORT}`,
    '  auth:',
    '    tokenEnv: CS_ACCURACY_TOKEN',
    'policies:',
    '  - name: rollout',
    `    dids: ["${ROLLOUT_DID}"]`,
    '    shadow: true',
    '',
  ].join('\n');
}

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl, { lazyConnect: true });
  await redis.connect();
  accuracyDir = writeConfigDir(config(ACCURACY_PREFIX), 'allow: []\ndeny: []\n');
  shadowDir = writeConfigDir(config(SHADOW_PREFIX), 'allow: []\ndeny: []\n');

  const log = new RedisCallLog(redis, ACCURACY_PREFIX, 'calls', 100_000);
  for (const spec of SCENARIO_CALLS) await log.append(screenedCall(spec));
  const store = new RedisFeedbackStore(redis, ACCURACY_PREFIX);
  for (const r of SCENARIO_REPORTS) await store.report({ ...r, agent: 'alice', host: 'console' });

  // shadow mode on the rollout DID: one call it would have rejected, one it would have allowed anyway
  const shadowLog = new RedisCallLog(redis, SHADOW_PREFIX, 'calls', 100_000);
  const shadowStore = new RedisFeedbackStore(redis, SHADOW_PREFIX);
  await shadowLog.append(
    screenedCall({
      caller: '+1 212 555 0111',
      verdict: 'allow',
      at: T,
      did: ROLLOUT_DID,
      policies: ['rollout'],
      shadowVerdict: 'reject',
      reasons: [reason('reputation.listed', 40), reason('policy.shadow')],
    }),
  );
  await shadowLog.append(
    screenedCall({
      caller: '+1 212 555 0114',
      verdict: 'allow',
      at: T + 60_000,
      did: ROLLOUT_DID,
      policies: ['rollout'],
      reasons: [reason('attestation', -10)],
    }),
  );
  await shadowLog.append(
    screenedCall({ caller: '+1 212 555 0116', verdict: 'voicemail', at: T + 120_000, reasons: [reason('rule.deny')] }),
  );
  await shadowStore.report({ e164: '+12125550111', verdict: 'spam', at: T + 3_600_000, host: 'pbx1' });
  await shadowStore.report({ e164: '+12125550114', verdict: 'ok', at: T + 3_600_000, host: 'pbx1' });
});

afterAll(async () => {
  await http?.close();
  if (redis) {
    await deleteKeysWithPrefix(redis, ACCURACY_PREFIX);
    await deleteKeysWithPrefix(redis, SHADOW_PREFIX);
    redis.disconnect();
  }
});

const cli = (dir: string, ...args: string[]) =>
  runCli(dir, ['report', ...args, '--config', path.join(dir, 'callscreen.yaml')], {
    CALLSCREEN_REDIS_URL: testbed.redisUrl,
  });

describe('callscreen report accuracy', () => {
  test('--json: the catch and error rates, the unknown calls and the thin truth, as computed by hand', async () => {
    const { code, stdout, stderr } = await cli(accuracyDir, 'accuracy', '--since', '1h', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as AccuracyReportResult;
    expect(report.overall).toEqual({
      calls: 14,
      unknown: 3,
      truthFrom: { 'agent-after': 8, 'agent-before': 1, 'captcha-passed': 1, 'captcha-failed': 1 },
      spam: { known: 6, keptFromAgents: 4, shadowLetThrough: 1, catchRate: 4 / 6 },
      good: { known: 5, challenged: 2, voicemail: 1, rejected: 1, errorRate: 0.8 },
      thin: true,
      thinReason: 'only 11 of 14 calls have a known truth (fewer than 30)',
    });
    expect(report.feedback).toEqual({ entries: 7, numbers: 7 });
    expect(report.signals.map((s) => [s.signal, s.onSpam, s.onGood, s.onUnknown])).toEqual([
      ['reputation.listed', 4, 1, 0],
      ['velocity.number', 2, 2, 1],
      ['attestation (towards good)', 0, 2, 1],
      ['rule.deny', 1, 1, 0],
      ['caller.withheld', 0, 0, 1],
    ]);
  });

  test('--by did groups the figures per DID', async () => {
    const { code, stdout } = await cli(accuracyDir, 'accuracy', '--since', '1h', '--by', 'did', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as AccuracyReportResult;
    expect(report.groups.map((g) => [g.group, g.calls, g.spam.catchRate, g.good.errorRate])).toEqual([
      ['+12125550100', 12, 4 / 6, 2 / 3],
      ['+12125550199', 2, null, 1],
    ]);
  });

  test('the table says the truth is thin', async () => {
    const { code, stdout } = await cli(accuracyDir, 'accuracy', '--since', '1h');
    expect(code).toBe(0);
    expect(stdout).toContain('catch rate  66.7 %  4 of 6 known spam kept from the agents');
    expect(stdout).toContain('THIN TRUTH: only 11 of 14 calls have a known truth (fewer than 30)');
  });

  test('a range with no calls has no known truth and says so', async () => {
    const { code, stdout } = await cli(accuracyDir, 'accuracy', '--since', '2h', '--until', '90m', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as AccuracyReportResult).overall).toMatchObject({ calls: 0, thinReason: 'no calls' });
  });

  test('`report NUMBER spam|ok` still records a verdict beside the new subcommands', async () => {
    const { code, stdout } = await cli(shadowDir, '+1 212 555 0199', 'ok', '--agent', 'bob');
    expect(code).toBe(0);
    expect(stdout).toContain('+12125550199: reported ok');
  });
});

describe('callscreen report shadow', () => {
  test('--json: per shadow DID what would have happened, by the shadowVerdict and by the shadow policy', async () => {
    const { code, stdout, stderr } = await cli(shadowDir, 'shadow', '--since', '1h', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as ShadowReportResult;
    expect(report.callsRead).toBe(3);
    expect(report.dids).toEqual([
      {
        did: '+12125550150',
        calls: 2,
        wouldHave: { allow: 1, challenge: 0, voicemail: 0, reject: 1 },
        topReasons: [
          { signal: 'attestation (towards good)', calls: 1 },
          { signal: 'reputation.listed', calls: 1 },
        ],
        truth: {
          spam: { allow: 0, challenge: 0, voicemail: 0, reject: 1 },
          good: { allow: 1, challenge: 0, voicemail: 0, reject: 0 },
          unknown: { allow: 0, challenge: 0, voicemail: 0, reject: 0 },
        },
        wouldCatchRate: 1,
        wouldErrorRate: 0,
      },
    ]);
  });
});

describe('the console API', () => {
  beforeAll(async () => {
    http = await startHttpEndpoint(
      loadConfig(path.join(accuracyDir, 'callscreen.yaml')),
      redis,
      pino({ level: 'silent' }),
      { CS_ACCURACY_TOKEN: TOKEN },
    );
    expect(http).toBeDefined();
  });
  const get = (p: string, auth = true) =>
    fetch(`http://127.0.0.1:${PORT}${p}`, auth ? { headers: { authorization: `Bearer ${TOKEN}` } } : {});

  test('GET /api/v1/accuracy answers the same JSON as --json', async () => {
    const res = await get('/api/v1/accuracy?since=1h&by=did');
    expect(res.status).toBe(200);
    const api = (await res.json()) as AccuracyReportResult;
    const { stdout } = await cli(accuracyDir, 'accuracy', '--since', '1h', '--by', 'did', '--json');
    const cliReport = JSON.parse(stdout) as AccuracyReportResult;
    expect({ ...api, from: '', until: '' }).toEqual({ ...cliReport, from: '', until: '' });
  });

  test('GET /api/v1/shadow answers the shadow report; a bad `by` or `since` is a 400; no credentials a 401', async () => {
    const shadow = await get('/api/v1/shadow?since=1h');
    expect(shadow.status).toBe(200);
    // the month's one shadow call: S3, which shadow mode let through and would have rejected
    expect((await shadow.json()) as ShadowReportResult).toMatchObject({
      callsRead: 14,
      dids: [{ did: '+12125550100', calls: 1, wouldHave: { reject: 1 }, wouldCatchRate: 1 }],
    });
    expect((await get('/api/v1/accuracy?by=month')).status).toBe(400);
    expect((await get('/api/v1/shadow?since=yesterday')).status).toBe(400);
    expect((await get('/api/v1/accuracy', false)).status).toBe(401);
    expect((await get('/api/v1/shadow', false)).status).toBe(401);
  });
});
