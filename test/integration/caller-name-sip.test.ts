/**
 * Caller names and the rest of the identity variants over real SIP: sipp calls the test bed's PJSIP trunk
 * with display names as carriers and robocallers send them (quotes, unicode, numbered campaign names), a
 * withheld From behind P-Asserted-Identity with Privacy: id, and a 300-character user part. Name rules are
 * in the daemon's rules.yaml; where a call ended comes from the daemon's log line and Asterisk's AMI events.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { CallHarness } from '../../tools/testbed/call-harness';
import { placeSipCall } from '../../tools/testbed/sip-call';
import type { AmiMessage } from '../../src/ports/ami';
import {
  startDaemon,
  type DaemonProcess,
  aboutCaller,
  testConfigHeader,
  freshCallers,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(40_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const DID = '+12125550440';
const LISTED = '+13125559440';

const CONFIG = `${testConfigHeader(prefix)}captcha:
  codeLength: 3
  prompts:
    greeting: ["sound:beep"]
log:
  level: debug
`;
const RULES = `
allow:
  - name: "Zurich*"
    label: our insurer's claims desk
deny:
  - number: "${LISTED}"
    label: listed robocaller
  - name: "*spam risk*"
    label: the carrier's warning
  - nameRegex: '^V\\d{9}$'
    label: numbered robocall campaigns
    points: 35
`;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess;
const freshCaller = freshCallers(780);

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  daemon = await startDaemon({ config: CONFIG, rules: RULES });
}, 30_000);

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const routed = (caller: string, target: string) => (e: AmiMessage) =>
  e.userevent === 'CallscreenRouted' && e.calleridnum === caller && e.target === target;

test('a display name with quotes around "Spam Risk" is denied by the name rule and goes to voicemail', async () => {
  const caller = freshCaller();
  const voicemail = harness.waitForEvent(routed(caller, 'voicemail'), 15_000);
  await placeSipCall({ caller, callerName: '"Spam Risk" Alert', did: DID, holdMs: 300 });
  await voicemail;
  const entered = await daemon.waitForLog((l) => l.msg === 'call entered screening' && l.caller === caller, 10_000);
  // PJSIP keeps the display name's quoted-pairs as sent; name rules compare it without them
  expect(entered.callerName).toBe('\\"Spam Risk\\" Alert');
  const line = await daemon.screenedLine(aboutCaller(caller), 10_000);
  expect(line).toMatchObject({ verdict: 'voicemail' });
  expect(String(line.explanation)).toContain(
    'rule.deny: caller name "\\"Spam Risk\\" Alert" matches name "*spam risk*": denied by ',
  );
});

test('a unicode display name is compared without its accents and case: the allow name rule lets it through', async () => {
  const caller = freshCaller();
  await placeSipCall({ caller, callerName: 'ZÜRICH Versicherung – Schäden', did: DID, holdMs: 300 });
  const line = await daemon.screenedLine(aboutCaller(caller), 10_000);
  expect(line).toMatchObject({ verdict: 'allow' });
  expect(String(line.explanation)).toMatch(
    /^rule\.allow: caller name "ZÜRICH Versicherung – Schäden" matches name "Zurich\*": allowed by \S*rules\.yaml:3 \(our insurer's claims desk\)$/,
  );
});

test('a numbered campaign name (V123456789) adds the name rule points: an unknown caller is challenged', async () => {
  const caller = freshCaller();
  const captcha = daemon.waitForLog((l) => l.msg === 'captcha started', 15_000);
  await placeSipCall({ caller, callerName: 'V123456789', did: DID, holdMs: 1500 });
  await captcha;
  const line = await daemon.screenedLine(aboutCaller(caller), 15_000);
  expect(line).toMatchObject({ verdict: 'challenge', score: 35 });
  expect(String(line.explanation)).toMatch(
    /^rule\.name \+35: caller name "V123456789" matches name regex \^V\\d\{9\}\$ \(deny list\) at \S*rules\.yaml:10 \(numbered robocall campaigns\);/,
  );
});

test('From anonymous, a listed number in P-Asserted-Identity, Privacy: id: the asserted number is screened and caught', async () => {
  const voicemail = harness.waitForEvent(routed(LISTED, 'voicemail'), 15_000);
  const result = await placeSipCall({
    caller: 'anonymous',
    callerName: 'Anonymous',
    did: DID,
    pai: `<sip:${LISTED}@127.0.0.1;user=phone>`,
    privacy: 'id',
    holdMs: 300,
  });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  await voicemail;
  const line = await daemon.screenedLine(aboutCaller(LISTED), 10_000);
  expect(line).toMatchObject({ verdict: 'voicemail' });
  expect(String(line.explanation)).toMatch(
    new RegExp(`^rule\\.deny: \\${LISTED} denied by \\S*rules\\.yaml:6 \\(listed robocaller\\)$`),
  );
  // "anonymous" in From names no number: no identity mismatch
  expect(line.reasons).not.toContain('caller.identity-mismatch');
});

test('a 300-character user part in From: Asterisk cuts it, the daemon screens it as no number and challenges the caller', async () => {
  const caller = `+1312${'7'.repeat(295)}`;
  const isIt = (l: Record<string, unknown>): boolean =>
    String((l.caller as { raw?: string } | undefined)?.raw ?? '').startsWith('+13127777');
  const captcha = daemon.waitForLog((l) => l.msg === 'captcha started', 15_000);
  const result = await placeSipCall({ caller, did: DID, holdMs: 1500 });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  await captcha;
  const line = await daemon.screenedLine(isIt, 15_000);
  expect(line).toMatchObject({ verdict: 'challenge', caller: { e164: null, kind: 'unparseable' } });
  expect(line.reasons).toContain('caller.unparseable');
  expect(String(line.explanation)).toContain('more than a phone number can have');
});
