/**
 * The spam key on the test bed: a screened call rings the agent's phone (a PJSIP endpoint answered by a sipp
 * UAS, dialled as a queue or ring group would); the daemon learns over AMI which agent answered; the agent's
 * phone then dials *77 over real SIP ([testbed-phones] -> [callscreen-spam-key] -> Stasis) and the caller is
 * reported as spam through the feedback store, with the agent's extension in the audit entry. A second press
 * marks nothing; the caller's next call is screened with the agents' verdict.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisFeedbackStore } from '../../src/adapters/redis/redis-feedback-store';
import { CallHarness } from '../../tools/testbed/call-harness';
import { answerOneSipCall, placeSipCall } from '../../tools/testbed/sip-call';
import {
  type DaemonProcess,
  aboutCaller,
  testConfigHeader,
  freshCallers,
  startDaemonWithAmi,
} from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
/** [testbed-agents] rings the agent's phone agent100 for this DID */
const AGENT_PHONE_DID = '+12125550470';
const OTHER_DID = '+12125550471';
const CONFIG = `${testConfigHeader(prefix)}ami:
  enabled: true
log:
  level: debug
`;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess;
const freshCaller = freshCallers(790);

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

/** The agent's phone dials the spam key (*77 in [testbed-phones]) and stays on until the daemon hangs up. */
const pressSpamKey = () => placeSipCall({ caller: '100', did: '*77', fromAddress: '127.0.0.3', holdMs: 8000 });

test('the agent dials *77 after a call: the caller they answered is reported as spam, the extension in the audit entry', async () => {
  const caller = freshCaller();
  const phone = await answerOneSipCall();
  try {
    await harness.ami.action({ action: 'Setvar', variable: 'TESTBED_AGENT_PORT', value: String(phone.port) });
    const result = await placeSipCall({ caller, did: AGENT_PHONE_DID, holdMs: 1000 });
    expect(result).toMatchObject({ exitCode: 0, inviteStatus: 200 });
    const answered = await daemon.waitForLog(
      (l) => l.msg === 'agent answered a screened call' && l.number === caller,
      10_000,
    );
    expect(answered).toMatchObject({ agent: 'agent100' });
    expect(await phone.done).toBe(0); // the agent's leg ended with the call
  } finally {
    await phone.close();
  }

  const press = await pressSpamKey();
  expect(press).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'asterisk' });
  const marked = await daemon.waitForLog((l) => l.msg === 'spam key: caller marked as spam', 10_000);
  expect(marked).toMatchObject({ marked: caller, agent: 'agent100', how: 'answered' });

  // the same store the review page reports into: the verdict and its audit entry
  const store = new RedisFeedbackStore(redis, prefix, Date.now, 3);
  expect(await store.lookup(caller)).toMatchObject({ spam: 1, ok: 0, last: 'spam' });
  const [audit] = await store.history(caller, 5);
  expect(audit).toMatchObject({ verdict: 'spam', agent: 'ext agent100' });
  expect(audit?.note).toContain(String(marked.callId ?? ''));

  // a second press marks nothing (the answered call was taken)
  await pressSpamKey();
  const nothing = await daemon.waitForLog((l) => l.msg === 'spam key: nothing to mark', 10_000);
  expect(nothing).toMatchObject({ agent: 'agent100' });
  expect(await store.lookup(caller)).toMatchObject({ spam: 1 });

  // the caller's next call carries the agents' verdict
  await placeSipCall({ caller, did: OTHER_DID, holdMs: 300 });
  const next = await daemon.screenedLine((l) => aboutCaller(caller)(l) && l.did === OTHER_DID, 10_000);
  expect(next.reasons).toContain('feedback.spam');
});
