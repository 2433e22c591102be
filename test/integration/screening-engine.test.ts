/**
 * The screening engine on the real test bed: live calls through Asterisk and `callscreen check` give
 * the same decision for the same inputs; velocity, repeat-caller memory (only for calls that reached a
 * person), policies and rule hot reload
 * work on a running daemon. Where each call ends is observed from Asterisk.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import type { Decision } from '../../src/domain/decision';
import { CallHarness } from '../../tools/testbed/call-harness';
import { runCli, startDaemon, type DaemonProcess, type LogLine, testConfigHeader } from '../support/daemon-process';
import { testbed } from '../support/testbed';
import { deleteKeysWithPrefix, screenedCallRecord } from '../support/redis-keys';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const HOTLINE = '+12125550100';
const SALES = '+12125550200';
const ROLLOUT = '+12125550201';
const CONFIG = `${testConfigHeader(prefix)}didGroups:
  hotline: ["${HOTLINE}"]
policies:
  - name: crisis-hotline
    dids: [hotline]
    maxVerdict: challenge
    signals:
      repeatCaller: { withinMinutes: 30, points: -100 }
  - name: sales-suspects-to-voicemail
    dids: ["${SALES}"]
    verdicts: { challenge: voicemail }
  - name: rollout
    dids: ["${ROLLOUT}"]
    shadow: true
captcha:
  attempts: 1
  digitTimeoutMs: 1000
  prompts:
    greeting: ["sound:beep"]
log:
  level: debug
`;
const RULES = `
allow:
  - number: "+1 (212) 555-0147"
    label: Key account
deny:
  - number: "+1 (201) 555-0123"
    label: Harassing caller
`;

let daemon: DaemonProcess;
let harness: CallHarness;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  const now = Date.now();
  await new RedisReputationStore(redis, prefix).put('test-feed', [
    { e164: '+18336317911', score: 0.95, reports: 26, category: 'robocall', at: now - 2 * 86_400_000 },
    { e164: '+13125550150', score: 0.6, reports: 4, at: now },
    { e164: '+13125550185', score: 0.6, reports: 4, at: now },
  ]);
  harness = await CallHarness.open();
  // test only: the daemon logs the CAPTCHA code it says, so a challenged caller here can type it
  daemon = await startDaemon({ config: CONFIG, rules: RULES, env: { CALLSCREEN_TEST_LOG_CAPTCHA_CODE: '1' } });
});

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

/** The decision the daemon logged to the screened-call stream for a call. */
async function loggedDecision(callId: string): Promise<Decision> {
  return (await screenedCallRecord(redis, prefix, callId)).decision;
}

async function liveCall(
  caller: string,
  did: string,
  attestation?: string,
): Promise<{ destination: string; decision: Decision; line: LogLine }> {
  const call = await harness.placeCall({
    caller,
    did,
    ...(attestation ? { channelVars: { CALLSCREEN_ATTESTATION: attestation } } : {}),
  });
  // a challenged caller types the code (answers the CAPTCHA); the others never see one
  const answered = daemon.waitForLog(
    (l) =>
      l.callId === call.screenedUniqueId && (l.msg === 'captcha code' || String(l.msg).startsWith('call screened')),
    15_000,
  );
  const codeLine = await answered.catch(() => undefined);
  if (codeLine?.msg === 'captcha code') await harness.pressDigits(call, String(codeLine.code));
  const destination = await harness.waitForDestination(call, 15_000);
  const line = await daemon.screenedLine((l) => l.callId === call.screenedUniqueId);
  return { destination, decision: await loggedDecision(String(line.callId)), line };
}

async function check(caller: string, did: string, attestation?: string): Promise<Decision> {
  const args = [
    'check',
    caller,
    '--to',
    did,
    '--json',
    '--config',
    'callscreen.yaml',
    ...(attestation ? ['--attest', attestation] : []),
  ];
  const { code, stdout, stderr } = await runCli(daemon.configDir, args);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as Decision;
}

const explained = (d: Decision) => ({
  verdict: d.verdict,
  score: d.score,
  shadowVerdict: d.shadowVerdict,
  policies: d.policies,
  degraded: d.degraded,
  reasons: d.reasons.map((r) => ({ code: r.code, points: r.points, text: r.text })),
});

describe('a live call and `callscreen check` agree', () => {
  // check first (it writes nothing), then the call: both see the same history
  test.each([
    [
      'a listed robocaller without STIR/SHAKEN identity, on a line without policy',
      '+18336317911',
      '+16465559999',
      'none',
      'voicemail',
      'voicemail',
    ],
    // challenged: the CAPTCHA answers, the caller types the code it says and reaches the agents
    [
      'the same robocaller on the crisis hotline: capped at challenge',
      '+18336317911',
      HOTLINE,
      'B',
      'challenge',
      'agents',
    ],
    [
      'a withheld caller on the sales line: challenge becomes voicemail',
      'anonymous',
      SALES,
      undefined,
      'voicemail',
      'voicemail',
    ],
    [
      'a suspect caller in shadow mode: decided, logged, let through',
      '+13125550150',
      ROLLOUT,
      'none',
      'allow',
      'agents',
    ],
    ['an allow-listed customer with failed verification', '+12125550147', SALES, 'failed', 'allow', 'agents'],
    ['a deny-listed number', '+12015550123', '+16465559999', 'A', 'voicemail', 'voicemail'],
    ['a clean number with attestation A', '+13125550111', SALES, 'A', 'allow', 'agents'],
  ])('%s', async (_name, caller, did, attestation, verdict, destination) => {
    const checked = await check(caller, did, attestation);
    const live = await liveCall(caller, did, attestation);
    expect(live.destination).toBe(destination);
    expect(live.decision.verdict).toBe(verdict);
    expect(explained(checked)).toEqual(explained(live.decision));
    expect(live.line).toMatchObject({ verdict, score: live.decision.score });
  });

  test('shadow mode is in the log line: the verdict the call would have had', async () => {
    const { line } = await liveCall('+13125550150', ROLLOUT, 'failed');
    expect(line).toMatchObject({ verdict: 'allow', shadowVerdict: expect.any(String), policies: ['rollout'] });
  });
});

describe('history across calls', () => {
  test('a burst from one number is seen by the third call within a minute, and earns no repeat credit', async () => {
    const caller = '+13125550160';
    const did = '+16465559998';
    const first = await liveCall(caller, did);
    const second = await liveCall(caller, did);
    const third = await liveCall(caller, did);
    expect(first.decision.reasons.map((r) => r.code)).not.toContain('velocity.number');
    expect(second.decision.reasons.map((r) => r.code)).not.toContain('velocity.number');
    // the first call reached the agents, so the second is a person ringing again ...
    expect(second.decision.reasons.find((r) => r.code === 'repeat-caller')).toMatchObject({ points: -40 });
    // ... the third, in a burst, is not
    expect(third.decision.reasons.find((r) => r.code === 'velocity.number')).toMatchObject({ points: 30, value: 3 });
    expect(third.decision.reasons.map((r) => r.code)).not.toContain('repeat-caller');
  });

  test('a crisis caller whose call reached a counsellor rings the hotline again and gets the repeat credit', async () => {
    const caller = '+13125550175';
    const first = await liveCall(caller, HOTLINE, 'C');
    expect(first.destination).toBe('agents');
    expect(first.decision.reasons.map((r) => r.code)).not.toContain('repeat-caller');
    const again = await liveCall(caller, HOTLINE, 'failed');
    expect(again.decision.reasons.find((r) => r.code === 'repeat-caller')).toMatchObject({ points: -100 });
    expect(again.decision.verdict).toBe('allow');
    expect(again.destination).toBe('agents');
  });

  test('a caller sent to voicemail rings the same line again: no repeat credit (nobody was reached)', async () => {
    const caller = '+13125550185'; // listed 0.6: challenged, and the sales line sends challenges to voicemail
    const first = await liveCall(caller, SALES, 'C');
    expect(first.destination).toBe('voicemail');
    const again = await liveCall(caller, SALES, 'C');
    expect(again.decision.reasons.map((r) => r.code)).not.toContain('repeat-caller');
    expect(again.destination).toBe('voicemail');
  });

  test('the listed robocaller redialling the hotline in a burst gets no repeat credit', async () => {
    // its hotline call above passed the CAPTCHA (a person was reached), but three calls in a minute are a burst
    const caller = '+18336317911';
    await liveCall(caller, HOTLINE);
    await liveCall(caller, HOTLINE);
    const again = await liveCall(caller, HOTLINE);
    expect(again.decision.reasons.find((r) => r.code === 'velocity.number')).toMatchObject({ points: 30 });
    expect(again.decision.reasons.map((r) => r.code)).not.toContain('repeat-caller');
    expect(again.decision.verdict).toBe('challenge');
  });
});

describe('`callscreen check` without Redis', () => {
  test('says plainly that Redis is not reachable and decides on rules and the number alone', async () => {
    const { code, stdout } = await runCli(
      daemon.configDir,
      ['check', '+1 (833) 631-7911', '--to', SALES, '--config', 'callscreen.yaml'],
      { CALLSCREEN_REDIS_URL: 'redis://127.0.0.1:1' },
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^redis: NOT REACHABLE at redis:\/\/127\.0\.0\.1:1 /m);
    expect(stdout).toMatch(/verdict: allow .*DEGRADED/);
    expect(stdout).toMatch(/caller\.number-type .*toll-free/);
  });

  test('bad input is a clear error with exit code 2', async () => {
    const bad = await runCli(daemon.configDir, [
      'check',
      '+13125550111',
      '--at',
      'yesterday',
      '--config',
      'callscreen.yaml',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--at: "yesterday" is not an ISO time/);
    const attest = await runCli(daemon.configDir, [
      'check',
      '+13125550111',
      '--attest',
      'Z',
      '--config',
      'callscreen.yaml',
    ]);
    expect(attest.code).toBe(2);
    expect(attest.stderr).toMatch(/--attest: "Z" is not one of A, B, C, none, failed/);
  });
});

describe('rules hot reload on a running daemon', () => {
  const rulesFile = () => path.join(daemon.configDir, 'rules.yaml');

  test('a new deny rule takes effect within 2 s without a restart', async () => {
    const caller = '+13125550170';
    expect((await liveCall(caller, '+16465559997')).destination).toBe('agents');
    const edited = Date.now();
    writeFileSync(`${rulesFile()}.tmp`, `${RULES}  - number: "+1 312 555 0170"\n    label: Added while running\n`);
    renameSync(`${rulesFile()}.tmp`, rulesFile());
    await daemon.waitForLog((l) => l.msg === 'rules reloaded' && daemon.lines.indexOf(l) > 0, 2000);
    expect(Date.now() - edited).toBeLessThan(2000);
    const after = await liveCall(caller, '+16465559996');
    expect(after.destination).toBe('voicemail');
    expect(after.decision.reasons[0]?.text).toMatch(/Added while running/);
  });

  test('an invalid edit is logged with file, line, column and reason, and the last good rules stay', async () => {
    const before = daemon.lines.length;
    writeFileSync(rulesFile(), `${RULES}  - number: "not a number at all"\n`);
    const rejected = await daemon.waitForLog(
      (l) => daemon.lines.indexOf(l) >= before && String(l.msg).startsWith('rules edit rejected'),
      3000,
    );
    expect(JSON.stringify(rejected)).toMatch(/rules\.yaml:8:\d+ .*not a number at all/);
    const still = await liveCall('+13125550170', '+16465559995');
    expect(still.destination).toBe('voicemail'); // the rule added before is still in force
    expect(daemon.child.exitCode).toBeNull();
  });
});
