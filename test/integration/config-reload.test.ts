/**
 * Screening settings reload on a running daemon: a policy appended to callscreen.yaml applies to the
 * next live call within 2 s, without a restart; a bad edit keeps the settings in force. Where each
 * call ends is observed from Asterisk.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { CallHarness } from '../../tools/testbed/call-harness';
import { DEFAULT_TEST_CONFIG, startDaemon, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { testbed } from '../support/testbed';
import { deleteKeysWithPrefix } from '../support/redis-keys';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const DID = '+16465550123';
const ROLLOUT = `policies:\n  - name: rollout\n    dids: ["${DID}"]\n    shadow: true\n`;

let daemon: DaemonProcess;
let harness: CallHarness;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  // a short CAPTCHA: a silent challenged caller fails it in about a second and goes to voicemail
  daemon = await startDaemon({
    config: `${DEFAULT_TEST_CONFIG}\nredis:\n  keyPrefix: "${prefix}"\ncaptcha:\n  attempts: 1\n  digitTimeoutMs: 1000\n`,
  });
});

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const configFile = () => path.join(daemon.configDir, 'callscreen.yaml');
const since = (index: number, msg: string) => (l: LogLine) => daemon.lines.indexOf(l) >= index && l.msg === msg;

async function liveCall(caller: string, did: string): Promise<{ destination: string; line: LogLine }> {
  const call = await harness.placeCall({ caller, did });
  const destination = await harness.waitForDestination(call, 10_000);
  const line = await daemon.screenedLine((l) => l.callId === call.screenedUniqueId);
  return { destination, line };
}

describe('callscreen.yaml reload on a running daemon', () => {
  test('a shadow-mode policy appended while running applies to the next call within 2 s', async () => {
    const before = await liveCall('anonymous', DID);
    expect(before.destination).toBe('voicemail'); // challenged, pressed nothing: failed the CAPTCHA
    expect(before.line).toMatchObject({ verdict: 'challenge', score: 30, captcha: { outcome: 'failed' } });
    expect(before.line.shadowVerdict).toBeUndefined();
    expect(before.line.policies).toBeUndefined();

    const mark = daemon.lines.length;
    const edited = Date.now();
    appendFileSync(configFile(), ROLLOUT);
    const reloaded = await daemon.waitForLog(since(mark, 'screening settings reloaded'), 2000);
    expect(Date.now() - edited).toBeLessThan(2000);
    expect(reloaded).toMatchObject({ level: 'info', config: configFile(), policies: 1 });
    // the test's connection settings come from the environment: they still win, nothing waits for a restart
    expect(
      daemon.lines.slice(mark).filter((l) => String(l.msg).startsWith('configuration changed that needs a restart')),
    ).toEqual([]);

    const after = await liveCall('anonymous', DID);
    expect(after.destination).toBe('agents');
    expect(after.line).toMatchObject({
      verdict: 'allow',
      shadowVerdict: 'challenge',
      policies: ['rollout'],
      score: 30,
    });
  });

  test('a bad edit is logged with file, line and column, and the settings in force stay', async () => {
    const good = readFileSync(configFile(), 'utf8');
    const mark = daemon.lines.length;
    writeFileSync(configFile(), `${good}    maxVerdit: voicemail\n`);
    const rejected = await daemon.waitForLog(
      since(mark, 'configuration edit rejected; keeping the last good settings'),
      3000,
    );
    const lastLine = good.trimEnd().split('\n').length + 1;
    expect(rejected.problems).toEqual([
      expect.stringMatching(new RegExp(`callscreen\\.yaml:${lastLine}:5 unknown key "maxVerdit"`)),
    ]);

    const still = await liveCall('anonymous', DID);
    expect(still.line).toMatchObject({ verdict: 'allow', shadowVerdict: 'challenge', policies: ['rollout'] });
    expect(daemon.child.exitCode).toBeNull();
  });
});
