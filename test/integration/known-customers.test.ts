/**
 * Known customers on the test bed: an agent's call out through the PJSIP trunk (a Dial in the dialplan,
 * answered by a sipp UAS) makes its number known to the daemon over AMI; an inbound call from that
 * number later, over real SIP and with a carrier verstat that would challenge a stranger, reaches the
 * agents as a known customer's. A contacts import into the running daemon's folder does the same for the
 * numbers of an address book, without a restart.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { CallHarness } from '../../tools/testbed/call-harness';
import { answerOneSipCall, placeSipCall } from '../../tools/testbed/sip-call';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type DaemonProcess,
  aboutCaller,
  runCli,
  testConfigHeader,
  freshCallers,
  startDaemonWithAmi,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
const DID = '+12125550440';
const CONFIG = `${testConfigHeader(prefix)}ami:
  enabled: true
log:
  level: debug
`;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess;
const freshCaller = freshCallers(760);
beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  daemon = await startDaemonWithAmi(CONFIG);
}, 40_000);

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

test('an answered call out makes the number a known customer: its call in is not challenged despite a failed verstat', async () => {
  const customer = freshCaller();
  const uas = await answerOneSipCall();
  try {
    await harness.ami.action({
      action: 'Originate',
      channel: `Local/${customer}@testbed-outbound`,
      application: 'Wait',
      data: '1',
      variable: `UAS_PORT=${uas.port}`,
      async: 'true',
    });
    const remembered = await daemon.waitForLog(
      (l) => l.msg === 'called by us: a known customer' && l.number === customer,
      10_000,
    );
    expect(remembered).toBeDefined();
    expect(await uas.done).toBe(0); // the call ended (BYE) as a real one would
  } finally {
    await uas.close();
  }

  const result = await placeSipCall({
    caller: customer,
    did: DID,
    fromParams: ';verstat=TN-Validation-Failed',
    holdMs: 300,
  });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  const line = await daemon.screenedLine(aboutCaller(customer), 10_000);
  expect(line).toMatchObject({ verdict: 'allow', attestation: 'failed' });
  expect(line.reasons).toContain('known-customer');
  expect(String(line.explanation)).toMatch(/known-customer -40: known customer: called by us \d+ s ago/);

  const stranger = freshCaller();
  await placeSipCall({ caller: stranger, did: DID, fromParams: ';verstat=TN-Validation-Failed', holdMs: 300 });
  // a stranger with the same verstat is challenged; the caller hangs up in the CAPTCHA
  const strangerLine = await daemon.screenedLine(aboutCaller(stranger), 15_000);
  expect(strangerLine).toMatchObject({ verdict: 'challenge' });
  expect(strangerLine.reasons).not.toContain('known-customer');
});

test('an address book imported while the daemon runs: a contact calling with a failed verstat reaches the agents, the reason names the contact', async () => {
  const contact = freshCaller();
  const vcard = path.join(daemon.configDir, 'acme.vcf');
  writeFileSync(
    vcard,
    [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:',
      'ORG:ACME Corp;Purchasing',
      'TEL;TYPE=work,voice:+1 212 555 0100',
      `TEL;TYPE=cell:${contact}`,
      'END:VCARD',
      '',
    ].join('\r\n'),
  );
  const imported = await runCli(daemon.configDir, [
    'contacts',
    'import',
    vcard,
    '--source',
    'crm',
    '--config',
    'callscreen.yaml',
  ]);
  expect(imported.code).toBe(0);
  // found by the folder's poll and compiled off the event loop; in force for the calls after it
  await daemon.waitForLog((l) => l.msg === 'contacts source reloaded', 10_000);

  const result = await placeSipCall({
    caller: contact,
    did: DID,
    fromParams: ';verstat=TN-Validation-Failed',
    holdMs: 300,
  });
  expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
  const line = await daemon.screenedLine(aboutCaller(contact), 10_000);
  expect(line).toMatchObject({ verdict: 'allow', routedTo: 'agents' });
  expect(String(line.explanation)).toMatch(/^rule\.allow: \+\d+ allowed by \S*crm\.yaml:\d+ \(contact: ACME Corp\)/);
});
