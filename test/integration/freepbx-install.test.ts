/**
 * callscreen on FreePBX, set up as docs/install.md's FreePBX steps say, on the test bed's FreePBX-shaped
 * dialplan (test/testbed/asterisk/freepbx.conf): real SIP calls from the trunk freepbx-trunk (127.0.0.4) go
 * [from-pstn] -> the inbound route for DID 2125550180 (ext-did-0002) with the Blacklist module's check ->
 * the Custom Destination (customdests dest-1: callscreen-inbound,${FROM_DID},1) -> Stasis -> the daemon
 * -> back to queue 400 (ext-queues; its member's phone is a sipp UAS) or extension 100's voicemail
 * (ext-local vmu100), the destinations of dialplan/freepbx/globals_custom.conf. Where a call went is read
 * from Asterisk's own events (Newexten for every dialplan step, the queue's AgentConnect, the test bed's
 * UserEvents where a call ends), never from the daemon's word alone.
 *
 * The daemon's callscreen.yaml is what the FreePBX steps ask for: the defaults for routing (so the daemon
 * sends calls to [callscreen-agents]/[callscreen-voicemail], which go on to the CALLSCREEN_* targets), and
 * ami.blacklistSync into FreePBX's own AstDB family "blacklist", which the Blacklist module fills too: the
 * test puts FreePBX's settings there (dest: where blacklisted calls go; blocked: block anonymous callers)
 * and a number added by hand, and checks the sync never changes or deletes them.
 *
 * Shared test bed: the Stasis app is callscreen-freepbx (the trunk's calls carry CALLSCREEN_APP), the Redis
 * keys have this run's prefix, the numbers this run's exchange; the AstDB keys it wrote are deleted and
 * FreePBX's settings restored at the end. Only this file uses the trunk, the app and FREEPBX_AGENT_PORT.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { AmiActionError } from '../../src/errors/ami-action-error';
import type { AmiMessage } from '../../src/ports/ami';
import { CallHarness } from '../../tools/testbed/call-harness';
import { answerOneSipCall, placeSipCall, type SipCallResult } from '../../tools/testbed/sip-call';
import { startDaemon, testbedAmiEnv, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { repoRoot, testbed } from '../support/testbed';

jest.setTimeout(60_000);

const APP = 'callscreen-freepbx'; // pjsip.conf [freepbx-trunk]: set_var = CALLSCREEN_APP=callscreen-freepbx
const TRUNK_ADDRESS = '127.0.0.4';
const DID = '2125550180'; // the inbound route in freepbx.conf [ext-did-0002]
const PREFIX = `cstest-freepbx-${randomBytes(4).toString('hex')}:`;
const FAMILY = 'blacklist';
/** this run's numbers: +1 201 <EXCH> 01xx (deny rules), +1 347 <EXCH> 01xx (a deny range), +1 312 <EXCH> 0xxx (clean) */
const EXCH = String(randomInt(200, 1000));
const national = (e164: string): string => e164.slice(2);

const SYNCED = `+1201${EXCH}0101`; // an exact deny rule: synced, blocked by FreePBX
const DROPPED = `+1201${EXCH}0102`; // synced, then taken out of the rules
const IN_RANGE = `+1347${EXCH}0120`; // in a deny range: callscreen says spam, AstDB cannot hold a range
const HAND_MADE = { key: `3055${EXCH}666`, value: 'Ex-partner' }; // added in the Blacklist module
/** a hand-made entry on a key callscreen wants (SYNCED in national form): it stays as it is */
const HELD = { key: national(SYNCED), value: 'Added by the office manager' };
/** FreePBX's Blacklist settings: blacklisted calls to the SIT tone; anonymous callers blocked */
const FREEPBX_SETTINGS = { dest: 'app-blackhole,zapateller,1', blocked: '1' };

let nextClean = 0;
const cleanCaller = (): string => `312${EXCH}${String(1000 + ++nextClean * 7 + randomInt(0, 7)).slice(-4)}`;

const rulesYaml = (withDropped: boolean): string => `allow: []
deny:
  - number: "${SYNCED}"
    label: Known scammer
${withDropped ? `  - "${DROPPED}"\n` : ''}  - range: "+1 347 ${EXCH} 0100 .. +1 347 ${EXCH} 0149"
    label: Robocall block
`;

/** docs/install.md, FreePBX: defaults for routing; ami with the blacklist sync into FreePBX's family */
const CONFIG = `
numbers:
  defaultRegion: US
redis:
  keyPrefix: "${PREFIX}"
screening:
  deadlineMs: 500
  timeZone: UTC
ari:
  app: ${APP}
ami:
  enabled: true
  blacklistSync:
    enabled: true
log:
  level: debug
`;

/** dialplan/freepbx/globals_custom.conf, as a FreePBX admin copies it */
const GLOBALS_CUSTOM = Object.fromEntries(
  readFileSync(path.join(repoRoot, 'dialplan', 'freepbx', 'globals_custom.conf'), 'utf8')
    .split('\n')
    .map((line) => /^(CALLSCREEN_[A-Z_]+)\s*=\s*([^;\s]*)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
) as Record<string, string | undefined>;

let harness: CallHarness;
let redis: Redis;
let daemon: DaemonProcess | undefined;
/** FreePBX's settings keys as they were before this file ran (undefined: absent) */
const settingsBefore = new Map<string, string | undefined>();

async function dbGet(key: string): Promise<string | undefined> {
  try {
    const { events } = await harness.ami.listAction({ action: 'DBGet', family: FAMILY, key });
    return events.find((e) => e.event === 'DBGetResponse')?.val ?? '';
  } catch (error) {
    if (error instanceof AmiActionError && /not found/i.test(error.responseMessage)) return undefined;
    throw error;
  }
}

const dbPut = (key: string, val: string) => harness.ami.action({ action: 'DBPut', family: FAMILY, key, val });
const dbDel = (key: string) =>
  harness.ami.action({ action: 'DBDel', family: FAMILY, key }).catch((error: unknown) => {
    if (!(error instanceof AmiActionError)) throw error;
  });

/** FreePBX's keys and the hand-made ones, as the test put them */
async function othersEntries(): Promise<Record<string, string | undefined>> {
  return {
    dest: await dbGet('dest'),
    blocked: await dbGet('blocked'),
    [HAND_MADE.key]: await dbGet(HAND_MADE.key),
    [HELD.key]: await dbGet(HELD.key),
  };
}
const OTHERS_AS_PUT = {
  ...FREEPBX_SETTINGS,
  [HAND_MADE.key]: HAND_MADE.value,
  [HELD.key]: HELD.value,
};

const isTrunkChannel = (caller: string) => (e: AmiMessage) =>
  e.event === 'Newchannel' && (e.channel ?? '').startsWith('PJSIP/freepbx-trunk-') && e.calleridnum === caller;

/**
 * One call from the FreePBX trunk to the DID; resolves once the SIP call ended, with its trunk channel
 * (PJSIP/freepbx-trunk-...: the Newchannel event) and the time its dialplan was over (its Hangup).
 */
async function trunkCall(caller: string, holdMs = 3000): Promise<{ sip: SipCallResult; channel: AmiMessage }> {
  const earlier = new Set(harness.eventsMatching(isTrunkChannel(caller)).map((e) => e.uniqueid));
  const sip = await placeSipCall({ caller, did: DID, fromAddress: TRUNK_ADDRESS, holdMs, timeoutMs: 40_000 });
  const channel = await harness.waitForEvent((e) => isTrunkChannel(caller)(e) && !earlier.has(e.uniqueid), 10_000);
  await harness.waitForEvent((e) => e.event === 'Hangup' && e.uniqueid === channel.uniqueid, 20_000);
  return { sip, channel };
}

/** Every dialplan step (Newexten) of the call's channels so far, as "context,exten,Application". */
function steps(channel: AmiMessage): string[] {
  return harness
    .eventsMatching((e) => e.event === 'Newexten' && e.linkedid === channel.linkedid)
    .map((e) => `${e.context},${e.extension},${e.application}`);
}

/** The indexes of `expected` in `actual` in order (each a step), or a failure naming the first one missing. */
function expectInOrder(actual: string[], expected: RegExp[]): void {
  let at = 0;
  for (const step of expected) {
    const found = actual.findIndex((s, i) => i >= at && step.test(s));
    if (found < 0)
      throw new Error(`step ${step} not found after step ${at} in the call's dialplan steps:\n${actual.join('\n')}`);
    at = found + 1;
  }
}

/** the FreePBX part every call takes: trunk context, inbound route, Blacklist check passed, Custom Destination */
const THROUGH_FREEPBX_TO_CALLSCREEN = [
  new RegExp(`^from-pstn,${DID},Set$`),
  /^app-blacklist-check,s,GotoIf$/,
  /^app-blacklist-check,s,Return$/,
  new RegExp(`^from-pstn,${DID},Goto$`),
  /^customdests,dest-1,Goto$/,
  new RegExp(`^callscreen-inbound,${DID},Stasis$`),
];

const screenedFrom = (caller: string) => (l: LogLine) =>
  typeof l.msg === 'string' && l.msg.startsWith('call screened') && (l.caller as { raw?: string })?.raw === caller;

/** A phone for queue 400's member (extension 100): the next call the queue rings it with is answered. */
async function phoneForExtension100() {
  const phone = await answerOneSipCall();
  await harness.ami.action({ action: 'Setvar', variable: 'FREEPBX_AGENT_PORT', value: String(phone.port) });
  return phone;
}

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  harness = await CallHarness.open();
  for (const [key, value] of Object.entries(FREEPBX_SETTINGS)) {
    settingsBefore.set(key, await dbGet(key));
    await dbPut(key, value);
  }
  await dbPut(HAND_MADE.key, HAND_MADE.value);
  await dbPut(HELD.key, HELD.value);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  if (harness) {
    // this run's keys (its exchange), then FreePBX's settings as they were
    const { events } = await harness.ami.listAction({ action: 'DBGetTree', family: FAMILY });
    for (const e of events) {
      const key = e.key?.slice(FAMILY.length + 2) ?? '';
      if (e.event === 'DBGetTreeResponse' && key.includes(EXCH)) await dbDel(key);
    }
    for (const [key, value] of settingsBefore) await (value === undefined ? dbDel(key) : dbPut(key, value));
    await harness.ami.action({ action: 'Setvar', variable: 'FREEPBX_AGENT_PORT', value: '' }).catch(() => undefined);
    await harness.close();
  }
  await deleteKeysWithPrefix(redis, PREFIX);
  redis.disconnect();
});

describe('with the daemon running', () => {
  beforeAll(async () => {
    // rules.yaml beside callscreen.yaml: the daemon reads it at start and reloads it when it changes
    daemon = await startDaemon({ config: CONFIG, rules: rulesYaml(true), env: testbedAmiEnv() });
    await daemon.waitForLog((l) => l.msg === 'blacklist synced to AstDB', 20_000);
  }, 60_000);

  test("the blacklist sync writes callscreen's numbers into FreePBX's family and leaves FreePBX's own keys alone", async () => {
    expect(await dbGet(SYNCED)).toBe('callscreen: deny Known scammer');
    expect(await dbGet(DROPPED)).toBe(`callscreen: deny ${DROPPED}`);
    expect(await dbGet(national(DROPPED))).toBe(`callscreen: deny ${DROPPED}`);
    // the national key of SYNCED was the office manager's: kept, not taken over
    expect(await othersEntries()).toEqual(OTHERS_AS_PUT);
    const synced = await daemon!.waitForLog((l) => l.msg === 'blacklist synced to AstDB');
    expect(synced).toMatchObject({ family: FAMILY, trigger: expect.stringMatching(/ami connected/), heldByOthers: 1 });
    expect(synced).toMatchObject({ denyNumbers: 2, skippedDenyRules: { range: 1 } });
  });

  test('a clean caller: trunk -> inbound route -> Blacklist check -> Custom Destination -> callscreen -> queue 400, whose member answers', async () => {
    const caller = cleanCaller();
    const phone = await phoneForExtension100();
    try {
      const { sip, channel } = await trunkCall(caller);
      expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 200, hangupBy: 'caller' });
      const line = await daemon!.waitForLog(screenedFrom(caller));
      expect(line).toMatchObject({ did: `+1${DID}`, verdict: 'allow', routedTo: 'agents' });
      expectInOrder(steps(channel), [
        ...THROUGH_FREEPBX_TO_CALLSCREEN,
        new RegExp(`^callscreen-agents,${DID},Goto$`),
        /^ext-queues,400,Queue$/,
        /^from-queue,100,Dial$/,
      ]);
      const connected = await harness.waitForEvent(
        (e) => e.event === 'AgentConnect' && e.linkedid === channel.linkedid,
        1000,
      );
      expect(connected).toMatchObject({ queue: '400', interface: 'Local/100@from-queue/n' });
      expect(await phone.done).toBe(0); // the phone answered, and got the BYE when the caller hung up
    } finally {
      await phone.close();
    }
  });

  test("a caller callscreen screens as spam (a deny range: no AstDB key can hold it) ends in extension 100's voicemail", async () => {
    const { sip, channel } = await trunkCall(national(IN_RANGE));
    expect(sip).toMatchObject({ inviteStatus: 200, hangupBy: 'caller' });
    const line = await daemon!.waitForLog(screenedFrom(national(IN_RANGE)));
    expect(line).toMatchObject({ verdict: 'voicemail', routedTo: 'voicemail' });
    expect(line.reasons).toContain('rule.deny');
    expectInOrder(steps(channel), [
      ...THROUGH_FREEPBX_TO_CALLSCREEN,
      new RegExp(`^callscreen-voicemail,${DID},Goto$`),
      /^ext-local,vmu100,Gosub$/,
      /^macro-vm,s,VoiceMail$/,
    ]);
    const voicemail = await harness.waitForEvent(
      (e) => e.userevent === 'VoicemailReached' && e.linkedid === channel.linkedid,
      1000,
    );
    expect(voicemail).toMatchObject({ mailbox: '100', mode: 'UNAVAIL', verdict: 'voicemail' });
  });

  test("a number the daemon synced is blocked by FreePBX's own check, before callscreen-inbound, in both forms", async () => {
    // E.164: callscreen's key; national: the office manager's entry on the same number
    for (const caller of [SYNCED, national(SYNCED)]) {
      const { sip, channel } = await trunkCall(caller, 1000);
      expect(sip.inviteStatus).toBe(200); // FreePBX answers blacklisted calls to play them the SIT tone
      const blackhole = await harness.waitForEvent(
        (e) => e.userevent === 'FreePBXBlackhole' && e.linkedid === channel.linkedid,
        1000,
      );
      expect(blackhole).toMatchObject({ dest: 'zapateller', callerid: caller }); // blacklist/dest was read
      const path = steps(channel);
      expectInOrder(path, [
        new RegExp(`^from-pstn,${DID},Gosub$`),
        /^app-blacklist-check,s,Answer$/,
        /^app-blackhole,zapateller,Zapateller$/,
      ]);
      expect(path.filter((s) => s.startsWith('callscreen-') || s.startsWith('customdests,'))).toEqual([]);
      expect(daemon!.lines.some((l) => l.msg === 'call entered screening' && l.caller === caller)).toBe(false);
    }
  });

  test('an anonymous caller is blocked by the setting blacklist/blocked = 1, which the sync left alone', async () => {
    const call = await harness.placeCall({ caller: '', did: DID, context: 'from-pstn' });
    const blackhole = await harness.waitForEvent(
      (e) => e.userevent === 'FreePBXBlackhole' && e.testid === call.testId,
      10_000,
    );
    expect(blackhole).toMatchObject({ dest: 'zapateller' });
    // priority 4 of [app-blacklist-check] is its check-blocked step: ${DB(blacklist/blocked)} = "1" said yes
    const checks = harness
      .eventsMatching((e) => e.event === 'Newexten' && e.uniqueid === call.screenedUniqueId)
      .map((e) => `${e.context},${e.priority},${e.application}(${e.appdata})`);
    expect(checks).toContain('app-blacklist-check,4,GotoIf(1?blacklisted)');
  });

  test("a rules reload that drops a number: its two entries are deleted, FreePBX's keys and the hand-made ones stay", async () => {
    const from = daemon!.lines.length;
    writeFileSync(path.join(daemon!.configDir, 'rules.yaml'), rulesYaml(false));
    const synced = await daemon!.waitForLog(
      (l) =>
        daemon!.lines.indexOf(l) >= from && l.msg === 'blacklist synced to AstDB' && l.trigger === 'rules reloaded',
      20_000,
    );
    // entries: SYNCED's two keys, one of them held by the office manager
    expect(synced).toMatchObject({ family: FAMILY, entries: 2, deleted: 2, heldByOthers: 1 });
    expect(await dbGet(DROPPED)).toBeUndefined();
    expect(await dbGet(national(DROPPED))).toBeUndefined();
    expect(await dbGet(SYNCED)).toBe('callscreen: deny Known scammer');
    expect(await othersEntries()).toEqual(OTHERS_AS_PUT);

    // FreePBX lets the dropped number through to callscreen again
    await trunkCall(DROPPED, 1000);
    const line = await daemon!.waitForLog(screenedFrom(DROPPED));
    expect(line.reasons).not.toContain('rule.deny');
  });
});

describe('with the daemon not running', () => {
  beforeAll(async () => {
    expect(await daemon?.stop()).toBe(0);
    daemon = undefined;
    await harness.waitUntilStasisAppAbsent(APP, 20_000);
  });

  test('a call still reaches the agents the globals name (globals_custom.conf: queue 400) through the dialplan fallback', async () => {
    // The fallback reads CALLSCREEN_AGENTS_*. On FreePBX they are globals from globals_custom.conf; on the test
    // bed the trunk's calls carry that file's values as channel variables (its [globals] serve other tests),
    // so this shows where callscreen.conf's fallback takes a call with those values, not FreePBX's #include.
    const agents = `${GLOBALS_CUSTOM.CALLSCREEN_AGENTS_CONTEXT},${GLOBALS_CUSTOM.CALLSCREEN_AGENTS_EXTEN}`;
    expect(agents).toBe('ext-queues,400');
    const caller = cleanCaller();
    const phone = await phoneForExtension100();
    try {
      const { sip, channel } = await trunkCall(caller);
      expect(sip).toMatchObject({ exitCode: 0, inviteStatus: 200 });
      const fallback = await harness.waitForEvent(
        (e) => e.userevent === 'CallscreenFallback' && e.linkedid === channel.linkedid,
        1000,
      );
      // FAILED: no app callscreen-freepbx; off: CALLSCREEN_BLACKLIST_FAMILY empty, as the FreePBX steps leave it
      expect(fallback).toMatchObject({ stasisstatus: 'FAILED', blacklisted: 'off', did: DID });
      expectInOrder(steps(channel), [
        ...THROUGH_FREEPBX_TO_CALLSCREEN,
        new RegExp(`^callscreen-agents,${DID},Goto$`),
        new RegExp(`^${agents},Queue$`),
        /^from-queue,100,Dial$/,
      ]);
      expect(await phone.done).toBe(0);
    } finally {
      await phone.close();
    }
  });

  test('a synced number stays blocked by FreePBX while the daemon is down', async () => {
    const { channel } = await trunkCall(SYNCED, 1000);
    const blackhole = await harness.waitForEvent(
      (e) => e.userevent === 'FreePBXBlackhole' && e.linkedid === channel.linkedid,
      1000,
    );
    expect(blackhole).toMatchObject({ dest: 'zapateller' });
  });
});
