/**
 * The real daemon (bin/callscreen.js run) with its HTTP endpoint on: agents' reports promote a number
 * to the managed allow list, the running daemon reloads it, and the number is then allowed by the
 * managed rule. The daemon talks to a private redis-server and to no Asterisk (an ARI URL nothing
 * listens on: it registers no Stasis app on the shared test bed, so it needs no test-bed lock).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startDaemon, type DaemonProcess } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(60_000);

const TOKEN = 'daemon-feedback-token-4b9e11c0';
const WRONG = 'daemon-feedback-token-4b9e11c1';
const PORT = 18465;
const redisServer = new PrivateRedis(16462);
let daemon: DaemonProcess | undefined;

const CONFIG = `
numbers:
  defaultRegion: US
redis:
  keyPrefix: "fbd:"
screening:
  deadlineMs: 500
  timeZone: UTC
log:
  level: debug
feedback:
  promoteAfter: 3
http:
  enabled: true
  port: ${PORT}
  auth:
    tokenEnv: CS_FEEDBACK_TOKEN
`;
// the number is on the admin's deny list: the managed allow entry must overrule it (allow beats deny)
const RULES = 'allow: []\ndeny:\n  - number: "+1 415 555 0123"\n    label: Reported by the front desk\n';

beforeAll(async () => {
  await redisServer.start();
  daemon = await startDaemon({
    config: CONFIG,
    rules: RULES,
    waitForAri: false,
    env: { CALLSCREEN_REDIS_URL: redisServer.url, CALLSCREEN_ARI_URL: 'http://127.0.0.1:9', CS_FEEDBACK_TOKEN: TOKEN },
  });
  await daemon.waitForLog((l) => l.msg === 'http listening', 15_000);
});
afterAll(async () => {
  await daemon?.stop();
  await redisServer.kill();
});

const post = (body: unknown, token = TOKEN) =>
  fetch(`http://127.0.0.1:${PORT}/api/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-callscreen-request': '1', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
const check = (number: string) =>
  runCli(daemon!.configDir, ['check', number, '--config', 'callscreen.yaml'], {
    CALLSCREEN_REDIS_URL: redisServer.url,
  });

describe('promotion through the running daemon', () => {
  test('three ok reports put the number on the managed allow list; the daemon reloads it and the number is allowed by the managed rule', async () => {
    const before = await check('+14155550123');
    expect(before.stdout).toMatch(/verdict: (voicemail|reject)/);

    expect((await post({ number: '+1 415 555 0123', verdict: 'ok', agent: 'alice' }, WRONG)).status).toBe(401);
    for (const expected of [false, false, true]) {
      const res = await post({ number: '+1 415 555 0123', verdict: 'ok', agent: 'alice' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { promoted: boolean }).promoted).toBe(expected);
    }
    const managed = readFileSync(path.join(daemon!.configDir, 'rules.managed.yaml'), 'utf8');
    expect(managed).toContain('number: "+14155550123"');

    // the running daemon picked the file up (its own log says so, with the new count)
    const reloaded = await daemon!.waitForLog((l) => l.msg === 'managed allow list reloaded' && l.allow === 1);
    expect(String(reloaded.rulesFile)).toMatch(/rules\.managed\.yaml$/);

    const after = await check('+14155550123');
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('verdict: allow');
    expect(after.stdout).toMatch(/rule\.allow .*agents: not spam x3, last \d{4}-\d\d-\d\d by alice/);

    // a spam report demotes it: the daemon reloads the emptied list
    expect(
      ((await (await post({ number: '+14155550123', verdict: 'spam' })).json()) as { promoted: boolean }).promoted,
    ).toBe(false);
    await daemon!.waitForLog((l) => l.msg === 'managed allow list reloaded' && l.allow === 0);
    expect((await check('+14155550123')).stdout).toMatch(/verdict: (voicemail|reject)/);
  });

  test("the token never appears in the daemon's log output", () => {
    const output = `${daemon!.lines.map((l) => JSON.stringify(l)).join('\n')}\n${daemon!.stderr}`;
    expect(output).toContain('http request');
    expect(output).not.toContain(TOKEN);
    expect(output).not.toContain(WRONG);
  });
});
