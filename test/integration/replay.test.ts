/**
 * `callscreen replay` on what a running daemon logged: calls placed over real SIP on the test bed are screened
 * and logged (with the inputs of their decisions); the CLI then decides them again under a candidate
 * configuration and a candidate rules file, reading the daemon's log in Redis, and reports the transitions.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { placeSipCall } from '../../tools/testbed/sip-call';
import {
  aboutCaller,
  freshCallers,
  runCli,
  startDaemon,
  testConfigHeader,
  type DaemonProcess,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const DID = '+12125550450';
const CONFIG = `${testConfigHeader(prefix)}captcha:
  codeLength: 3
  prompts:
    greeting: ["sound:beep"]
`;

let redis: Redis;
let daemon: DaemonProcess;
const freshCaller = freshCallers(810);

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  daemon = await startDaemon({ config: CONFIG });
}, 30_000);

afterAll(async () => {
  await daemon?.stop();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

interface ReplayJson {
  calls: number;
  replayed: number;
  changed: number;
  matrix: Record<string, Record<string, number>>;
  effect: { agentCallsAvoided: number };
  changedCalls: Array<{ caller: string; before: string; after: string; newReasons: string[] }>;
}

async function replay(args: string[]): Promise<ReplayJson> {
  const config = args.includes('--config') ? [] : ['--config', 'callscreen.yaml'];
  const result = await runCli(daemon.configDir, ['replay', '--since', '10m', '--json', ...config, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ReplayJson;
}

test('calls the daemon logged, replayed under a stricter candidate and a candidate deny rule: the transitions', async () => {
  const unverified = freshCaller(); // attestation C: +10, let through today
  const plain = freshCaller(); // nothing against it
  const failed = freshCaller(); // verstat TN-Validation-Failed: +40, challenged
  await Promise.all([
    placeSipCall({ caller: unverified, did: DID, fromParams: ';verstat=TN-Validation-Passed-C', holdMs: 300 }),
    placeSipCall({ caller: plain, did: DID, holdMs: 300 }),
    placeSipCall({ caller: failed, did: DID, fromParams: ';verstat=TN-Validation-Failed', holdMs: 300 }),
  ]);
  for (const caller of [unverified, plain, failed]) await daemon.screenedLine(aboutCaller(caller), 15_000);
  // the log is written after the route, a moment later: wait until all three are in it
  for (let i = 0; i < 50 && (await replay([])).calls < 3; i++) await new Promise((r) => setTimeout(r, 100));

  // under the running configuration nothing changes
  const same = await replay([]);
  expect(same).toMatchObject({ calls: 3, replayed: 3, changed: 0 });

  // a candidate that challenges from 5 points: the C-attested caller would have been challenged
  writeFileSync(
    path.join(daemon.configDir, 'candidate.yaml'),
    CONFIG.replace('screening:\n', 'screening:\n  thresholds: { challenge: 5 }\n'),
  );
  const stricter = await replay(['--config', 'candidate.yaml']);
  expect(stricter).toMatchObject({ calls: 3, replayed: 3, changed: 1, effect: { agentCallsAvoided: 1 } });
  expect(stricter.matrix.allow?.challenge).toBe(1);
  expect(stricter.matrix.allow?.allow).toBe(1);
  expect(stricter.matrix.challenge?.challenge).toBe(1);
  expect(stricter.changedCalls).toEqual([
    expect.objectContaining({ caller: unverified, before: 'allow', after: 'challenge' }),
  ]);

  // a candidate rules file denying the plain caller
  writeFileSync(path.join(daemon.configDir, 'candidate-rules.yaml'), `allow: []\ndeny:\n  - "${plain}"\n`);
  const denied = await replay(['--rules', 'candidate-rules.yaml']);
  expect(denied.matrix.allow?.voicemail).toBe(1);
  expect(denied.changedCalls[0]).toMatchObject({ caller: plain, before: 'allow', after: 'voicemail' });
  expect(denied.changedCalls[0]?.newReasons.join('\n')).toMatch(/rule\.deny: .* denied by .*candidate-rules\.yaml:3/);
});

test('a candidate with a problem is refused with its file, line and reason, and nothing is replayed', async () => {
  writeFileSync(
    path.join(daemon.configDir, 'broken.yaml'),
    CONFIG.replace('screening:\n', 'screening:\n  thresholds: { challenge: many }\n'),
  );
  const result = await runCli(daemon.configDir, ['replay', '--config', 'broken.yaml']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/broken\.yaml:\d+:\d+ .*challenge/);
});
