/**
 * A placed call proves the running daemon screens with the managed allow list: a number on the
 * admin's deny list goes to voicemail; after agents report it "ok" promoteAfter times over the HTTP
 * endpoint, the next call from it reaches the agents, allowed by the managed rule (its label in the
 * decision). Places calls on the shared test bed: run under `flock /tmp/callscreen-testbed.lock`.
 */
import { randomUUID } from 'node:crypto';
import { CallHarness } from '../../tools/testbed/call-harness';
import { startDaemon, testConfigHeader, type DaemonProcess, type LogLine } from '../support/daemon-process';

jest.setTimeout(60_000);

const TOKEN = 'call-feedback-token-0d5e2a77';
const PORT = 18466;
const CALLER = '+14155550188';
let daemon: DaemonProcess | undefined;
let harness: CallHarness | undefined;

beforeAll(async () => {
  harness = await CallHarness.open();
  const config = `${testConfigHeader(`fbc-${randomUUID().slice(0, 8)}:`)}log:\n  level: debug\nfeedback:\n  promoteAfter: 2\nhttp:\n  enabled: true\n  port: ${PORT}\n  auth:\n    tokenEnv: CS_FEEDBACK_TOKEN\n`;
  daemon = await startDaemon({
    config,
    rules: `deny:\n  - number: "${CALLER}"\n    label: Front desk complaint\n`,
    env: { CS_FEEDBACK_TOKEN: TOKEN },
  });
});
afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
});

const byCaller = (raw: string) => (l: LogLine) => (l.caller as { raw?: string } | undefined)?.raw === raw;
const report = (verdict: 'ok' | 'spam') =>
  fetch(`http://127.0.0.1:${PORT}/api/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-callscreen-request': '1', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ number: CALLER, verdict, agent: 'alice' }),
  });

test('a number promoted by agents reaches the agents on its next call, allowed by the managed rule', async () => {
  const first = await harness!.placeCall({ caller: CALLER, did: '+12125550100' });
  expect(await harness!.waitForDestination(first, 10_000)).toBe('voicemail');
  const denied = await daemon!.screenedLine(byCaller(CALLER));
  expect(denied.explanation).toContain('Front desk complaint');

  expect((await report('ok')).status).toBe(200);
  expect(((await (await report('ok')).json()) as { promoted: boolean }).promoted).toBe(true);
  await daemon!.waitForLog((l) => l.msg === 'managed allow list reloaded' && l.allow === 1);

  const count = daemon!.lines.length;
  const second = await harness!.placeCall({ caller: CALLER, did: '+12125550100' });
  expect(await harness!.waitForDestination(second, 10_000)).toBe('agents');
  const allowed = await daemon!.waitForLog(
    (l) =>
      daemon!.lines.indexOf(l) >= count &&
      typeof l.msg === 'string' &&
      l.msg.startsWith('call screened') &&
      byCaller(CALLER)(l),
  );
  expect(allowed).toMatchObject({ verdict: 'allow', routedTo: 'agents' });
  expect(allowed.explanation).toMatch(/agents: not spam x2, last \d{4}-\d\d-\d\d by alice/);
});
