/**
 * Issue 13's acceptance scenarios on the real decision path: CallEvaluator with the example
 * configuration (config/callscreen.yaml: the crisis hotline, the sales lines) against the test bed's
 * Redis, a feed written by the real import, and what the screener remembers after routing (a call that
 * reached the agents, a CAPTCHA outcome) written as the screener writes it. Call times are explicit.
 * The same on live calls through Asterisk: screening-engine.test.ts.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Redis from 'ioredis';
import { RedisCallerHistoryStore } from '../../src/adapters/redis/redis-caller-history-store';
import { writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import { numberField } from '../../src/adapters/redis/reputation-layout';
import { ReputationSourceTable } from '../../src/adapters/redis/reputation-source-table';
import { CallEvaluator, type SettingsSnapshot } from '../../src/calls/call-evaluator';
import { loadConfig } from '../../src/config/load-config';
import { loadRulesFile } from '../../src/config/rules-file';
import type { Decision } from '../../src/domain/decision';
import { dayOf, encodeFeedEntry, type PackedEntries } from '../../src/domain/reputation-entry';
import { didKey } from '../../src/domain/screening-policy';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(30_000);

const prefix = `cstest-h13-${randomUUID().slice(0, 8)}:`;
const T = Date.UTC(2026, 10, 23, 15, 0, 0); // a Monday, 10:00 in New York: office hours on the sales lines
const HOTLINE = '+12125550100';
const SALES = '+12125550200';
const SUPPORT = '+16465550123';

let redis: Redis;
let store: RedisCallerHistoryStore;
let sources: ReputationSourceTable;
let evaluator: CallEvaluator;
let snapshot: SettingsSnapshot;
let callSeq = 0;

beforeAll(async () => {
  const loaded = loadConfig(path.join(__dirname, '..', '..', 'config', 'callscreen.yaml'), {
    CALLSCREEN_REDIS_URL: testbed.redisUrl,
  });
  const rules = loadRulesFile(loaded.rulesFile, loaded.config.numbers.defaultRegion);
  // a generous deadline: the test is about what is decided, not how fast
  const config = { ...loaded.config, screening: { ...loaded.config.screening, deadlineMs: 2_000 } };
  snapshot = { config, screening: loaded.screening, rules };
  redis = new Redis(testbed.redisUrl);
  sources = new ReputationSourceTable(redis, prefix);
  store = new RedisCallerHistoryStore(redis, prefix, sources);
  evaluator = new CallEvaluator({ history: store });
});

afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

type Caller = 'person' | 'robot';

/**
 * One live call at `at`, routed as the screener routes it: an allowed call reaches the agents (and is
 * remembered as having reached a person); a challenged person passes the CAPTCHA (remembered as
 * passed and reached), a robot fails it.
 */
async function liveCall(who: Caller, caller: string, did: string, at: number, attestation = 'C'): Promise<Decision> {
  const { decision } = await evaluator.evaluate(
    { callerNumber: caller, did, at: new Date(at), attestation },
    snapshot,
    { callId: `h13-${++callSeq}`, record: true },
  );
  const routedAt = at + 500;
  if (decision.verdict === 'allow' && decision.shadowVerdict === undefined)
    await store.recordReachedHuman(caller, didKey(decision.did), routedAt);
  if (decision.verdict === 'challenge') {
    await store.recordCaptchaOutcome(caller, who === 'person' ? 'passed' : 'failed', routedAt);
    if (who === 'person') await store.recordReachedHuman(caller, didKey(decision.did), routedAt);
  }
  return decision;
}

const codes = (d: Decision) => d.reasons.map((r) => r.code);

describe('the repeat caller and DID walking', () => {
  test('a crisis caller ringing the hotline again after a few minutes gets through each time, with the repeat credit', async () => {
    const caller = '+13125550301';
    const calls = [];
    for (const minutes of [0, 3, 7])
      calls.push(await liveCall('person', caller, HOTLINE, T + minutes * 60_000, 'none'));
    expect(calls.map((d) => d.verdict)).toEqual(['allow', 'allow', 'allow']);
    expect(codes(calls[0] as Decision)).not.toContain('repeat-caller');
    for (const d of calls.slice(1)) expect(d.reasons.find((r) => r.code === 'repeat-caller')?.points).toBe(-100);
  });

  test('nine calls in a minute across three DIDs: the first one or two get through, the rest do not', async () => {
    const robot = '+13125550302';
    const dids = [HOTLINE, SALES, SUPPORT];
    const calls: Decision[] = [];
    for (let i = 0; i < 9; i++) calls.push(await liveCall('robot', robot, dids[i % 3] as string, T + i * 6_000));
    const through = calls.filter((d) => d.verdict === 'allow').length;
    expect(through).toBeGreaterThanOrEqual(1);
    expect(through).toBeLessThanOrEqual(2);
    expect(calls.slice(2).every((d) => d.verdict !== 'allow')).toBe(true);
    // the hotline never sends anyone to voicemail: the robot is challenged there (and fails)
    expect(
      calls
        .filter((d) => didKey(d.did) === HOTLINE)
        .slice(1)
        .map((d) => d.verdict),
    ).toEqual(['challenge', 'challenge']);
    // no call of the burst is credited as a repeat, though the first calls reached the agents
    expect(calls.slice(2).some((d) => codes(d).includes('repeat-caller'))).toBe(false);
    expect(calls[2]?.reasons.find((r) => r.code === 'velocity.dids')).toMatchObject({ points: 30, value: 3 });
  });

  test('`callscreen check` (record: false) sees the same history and writes nothing', async () => {
    const caller = '+13125550303';
    await liveCall('person', caller, HOTLINE, T);
    const keys = await redis.keys(`${prefix}*`);
    const before = await Promise.all(keys.map((k) => redis.dump(k)));
    const { decision } = await evaluator.evaluate(
      { callerNumber: caller, did: HOTLINE, at: new Date(T + 60_000), attestation: 'none' },
      snapshot,
      { callId: 'check', record: false },
    );
    expect(decision.reasons.find((r) => r.code === 'repeat-caller')?.points).toBe(-100);
    expect(await redis.keys(`${prefix}*`)).toEqual(expect.arrayContaining(keys));
    expect((await redis.keys(`${prefix}*`)).length).toBe(keys.length);
    expect(await Promise.all(keys.map((k) => redis.dump(k)))).toEqual(before);
  });
});

describe('block reputation from an imported feed', () => {
  /** the feed as the import hands it to the writer: digits -> packed entry */
  function entries(numbers: Record<string, number>): PackedEntries {
    const day = dayOf(T);
    const map = new Map<number, string>(
      Object.entries(numbers).map(([e164, score]) => [
        Number(numberField(e164)),
        encodeFeedEntry({ score, reports: 3, category: 0, firstDay: day - 5, lastDay: day - 1 }),
      ]),
    );
    return {
      size: map.size,
      get: (key) => map.get(key),
      forEach: (fn) => map.forEach((value, key) => fn(key, value)),
    };
  }

  beforeAll(async () => {
    // six numbers of +1 606 284 6xxx (a campaign's block) and one of +1 606 555 2xxx (chance)
    const listed: Record<string, number> = { '+16065552040': 90 };
    for (let i = 0; i < 6; i++) listed[`+1606284610${i}`] = 85 + i;
    await writeFeedGeneration(redis, prefix, {
      source: 'robocall',
      origin: 'robocall.csv',
      entries: entries(listed),
      categories: [],
      now: T,
      blockDigits: snapshot.config.screening.signals.blockReputation.blockDigits,
    });
    await sources.refresh(); // as the daemon's table does every second
  });

  test('a first-time caller from a badly listed block is sent to the CAPTCHA, not to voicemail', async () => {
    for (const attestation of ['C', 'none']) {
      const d = await liveCall('robot', `+160628469${attestation === 'C' ? '01' : '02'}`, SUPPORT, T, attestation);
      expect(d.verdict).toBe('challenge');
      expect(d.reasons.find((r) => r.code === 'reputation.block')?.text).toMatch(
        /^6 numbers of \+1 606 284 6xxx are on the robocall list \(mean score 0\.88\)/,
      );
    }
  });

  test('one listed neighbour of score 0.9 challenges a first-time caller, unless its number is attested A', async () => {
    const unsigned = await liveCall('person', '+16065552777', SUPPORT, T, 'C');
    expect(unsigned.verdict).toBe('challenge');
    const neighbour = unsigned.reasons.find((r) => r.code === 'reputation.block');
    expect(neighbour?.text).toMatch(/^1 number of \+1 606 555 2xxx is on the robocall list/);
    expect(neighbour?.points).toBe(40); // 60 x 0.9 x 1 / (1 + 0.7^3); of score 1 it would be 45, A or not a challenge
    const attested = await liveCall('person', '+16065552778', SUPPORT, T, 'A');
    expect(attested.verdict).toBe('allow');
  });

  test('a caller from the bad block who passed the CAPTCHA is trusted afterwards: no block points', async () => {
    const caller = '+16062846950';
    expect((await liveCall('person', caller, SUPPORT, T)).verdict).toBe('challenge');
    const again = await liveCall('person', caller, SALES, T + 3_600_000);
    expect(codes(again)).not.toContain('reputation.block');
    expect(again.verdict).toBe('allow');
  });
});
