/**
 * The screened-call log's reader under hostile input (call-log-records.test.ts has the table of bad
 * entries, the readers' behaviour and a property over the record field's JSON). Here: random field lists,
 * whatever their length, types and order, decode to a call or a short problem and never throw; every
 * record the daemon can write (decisions of random callers and histories, random optional fields) reads
 * back as it was written, among any other fields; a good record cut short is never a call, and with a
 * character changed it is a call or a short problem; and RedisCallLog, reading a stream of good and bad
 * entries in pages of any size, yields every good one in order and reports every bad one: yielded +
 * skipped == entries. Fixed seed: docs/development.md, "Property tests".
 */
import fc from 'fast-check';
import { decodeEntry, entryFields, RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { configSchema } from '../../src/config/schema';
import { buildRuleSet } from '../../src/domain/rule-set';
import { screenCall } from '../../src/domain/screen-call';
import { compileScreening } from '../../src/domain/screening-policy';
import { CAPTCHA_OUTCOMES, type ScreenedCallRecord } from '../../src/ports/call-log';
import { histories } from '../support/history-arbitraries';
import { fuzzRuns } from '../support/hostile-yaml';

const SEED = 12_004;
const RUNS = fuzzRuns(SEED, 500);
/** problems name what is wrong, never the entry's content (which may be huge or hostile) */
const MAX_PROBLEM_LENGTH = 200;
const AT_MS = Date.parse('2026-11-23T14:05:09.250Z');

// ---- records as the daemon writes them ----

const { model } = compileScreening(
  configSchema.parse({ numbers: { defaultRegion: 'US' }, screening: { timeZone: 'UTC' } }),
);
const rules = buildRuleSet([]);
const callerIds = fc.oneof(
  fc.constantFrom('+12125550147', '+14155552671', 'anonymous', '', 'sip:someone@example.com', '+19005550100'),
  fc.string({ unit: fc.constantFrom(...'+0123456789 -()'), maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);
const texts = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }));

/** a record as CallScreener builds it: a real decision, and the optional fields present or not */
const records: fc.Arbitrary<ScreenedCallRecord> = fc
  .record({
    caller: callerIds,
    attestation: fc.option(fc.constantFrom('A', 'B', 'C', 'x'), { nil: undefined }),
    history: histories,
    callId: texts,
    channel: texts,
    routedTo: fc.constantFrom('agents', 'voicemail', 'hangup', 'announcement', 'none'),
    decisionMs: fc.nat(100_000),
    host: texts,
    extra: fc.record(
      {
        callerName: texts,
        historyMs: fc.nat(10_000),
        routeMs: fc.nat(10_000),
        routeError: texts,
        captcha: fc.record(
          {
            outcome: fc.constantFrom(...CAPTCHA_OUTCOMES),
            attempts: fc.nat(5),
            ms: fc.nat(60_000),
            failure: fc.constantFrom('wrong' as const, 'silence' as const),
          },
          { requiredKeys: ['outcome', 'attempts', 'ms'] },
        ),
      },
      { requiredKeys: [] },
    ),
  })
  .map(({ caller, attestation, history, extra, ...fields }) => {
    const decision = screenCall(
      { callerNumber: caller, did: '+12125550100', at: new Date(AT_MS), ...(attestation ? { attestation } : {}) },
      { rules, history },
      model,
    );
    return { ...fields, at: decision.at, decision, ...extra };
  });

/** a stream entry's fields: names at even places, values at odd ones, as XRANGE returns them */
const otherFields = fc.array(
  fc.tuple(
    fc.string({ maxLength: 8 }).filter((name) => name !== 'record'),
    fc.oneof(fc.string({ maxLength: 20 }), fc.constant('record')),
  ),
  { maxLength: 4 },
);

// ---- anything at all ----

/** any JSON text, and a few that are not JSON or are deeply nested */
const jsonTexts = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 40 }),
  fc.nat(100).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.nat(100).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom('', 'null', '{}', '[]', '{"__proto__":{"x":1}}', '"\\ud800"', '{"decision":{}}'),
);
/** a field list: any values of any type (not only strings), any length, "record" anywhere */
const fieldLists: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(fc.constant('record'), jsonTexts, fc.anything()), { maxLength: 8 }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(otherFields, jsonTexts, otherFields)
      .map(([before, json, after]) => [...before.flat(), 'record', json, ...after.flat()]),
  },
  { weight: 1, arbitrary: fc.anything() },
);

function decodedWell(fields: unknown): boolean {
  const decoded = decodeEntry('1700000000000-0', fields);
  if (decoded.ok) return decoded.call.id === '1700000000000-0' && typeof decoded.call.record === 'object';
  return decoded.problem.length > 0 && decoded.problem.length < MAX_PROBLEM_LENGTH;
}

// ---- a stream in memory, with the commands RedisCallLog reads with ----

/** Entries in id order; xrange / xrevrange / xread with exclusive "(" bounds, as RedisCallLog pages. */
function streamClient(entries: ReadonlyArray<[string, unknown]>): RedisClient {
  /** ids as <ms>-<seq>: compared by time, then sequence */
  const order = (a: string, b: string): number => {
    const [am = 0, as = 0] = a.split('-').map(Number);
    const [bm = 0, bs = 0] = b.split('-').map(Number);
    return am - bm || as - bs;
  };
  const within = (id: string, low: string, high: string): boolean => {
    const above = low === '-' || (low.startsWith('(') ? order(id, low.slice(1)) > 0 : order(id, low) >= 0);
    const below = high === '+' || (high.startsWith('(') ? order(id, high.slice(1)) < 0 : order(id, high) <= 0);
    return above && below;
  };
  const fake = {
    xrange: async (_key: string, start: string, end: string, _count: string, n: number) =>
      entries.filter(([id]) => within(id, start, end)).slice(0, n),
    xrevrange: async (_key: string, end: string, start: string, _count: string, n: number) =>
      entries
        .filter(([id]) => within(id, start, end))
        .reverse()
        .slice(0, n),
    xread: async (_c: string, n: number, _b: string, _ms: number, _s: string, _key: string, after: string) => {
      const page = entries.filter(([id]) => within(id, `(${after}`, '+')).slice(0, n);
      return page.length > 0 ? [['cs:calls', page]] : null;
    },
  };
  return fake as unknown as RedisClient;
}

describe('the call-log reader under hostile input: a call or a counted skip, never an exception', () => {
  test('random field lists (any length, any types, "record" anywhere or nowhere) decode to a call or a short problem', () => {
    fc.assert(fc.property(fieldLists, decodedWell), RUNS);
  });

  test('every record the daemon can write reads back as it was written, among any other fields', () => {
    fc.assert(
      fc.property(records, otherFields, otherFields, (record, before, after) => {
        const [, , , , , , name, json] = entryFields(record);
        const decoded = decodeEntry('1-0', [
          ...before.flat(),
          ...entryFields(record).slice(0, 6),
          ...after.flat(),
          name,
          json,
        ]);
        expect(decoded).toEqual({ ok: true, call: { id: '1-0', record: JSON.parse(json as string) } });
      }),
      fuzzRuns(SEED, 300),
    );
  });

  test('a good record cut short is never a call; with one character changed it is a call or a short problem; nothing throws', () => {
    fc.assert(
      fc.property(
        records,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.string({ maxLength: 2 }),
        (record, at, put) => {
          const json = JSON.stringify(record);
          const i = Math.min(json.length - 1, Math.floor(at * json.length));
          // cut short: never JSON (the record's object closes at its last character), so never a call
          const cutShort = decodeEntry('1-0', ['record', json.slice(0, i)]);
          expect(cutShort.ok).toBe(false);
          expect(decodedWell(['record', `${json.slice(0, i)}${put}${json.slice(i + 1)}`])).toBe(true);
        },
      ),
      fuzzRuns(SEED, 300),
    );
  });

  test('RedisCallLog reads a stream of good and bad entries in pages of any size: every good one in order, every bad one reported', async () => {
    const streams = fc.array(fc.oneof(records.map(entryFields), fieldLists), { maxLength: 25 });
    await fc.assert(
      fc.asyncProperty(streams, fc.integer({ min: 1, max: 7 }), fc.boolean(), async (all, batchSize, newestFirst) => {
        const entries = all.map((fields, i): [string, unknown] => [`${AT_MS}-${i}`, fields]);
        const good = entries.filter(([id, fields]) => decodeEntry(id, fields).ok).map(([id]) => id);
        const log = new RedisCallLog(streamClient(entries), 'cs:', 'calls', 1000);
        const read: string[] = [];
        const skipped: string[] = [];
        const options = { batchSize, onUnreadable: (id: string) => skipped.push(id) };
        const pages = newestFirst
          ? log.entriesNewestFirst({ start: '-', end: '+' }, options)
          : log.entries({ start: '-', end: '+' }, options);
        for await (const call of pages) read.push(call.id);
        expect(read).toEqual(newestFirst ? [...good].reverse() : good);
        expect(read.length + skipped.length).toBe(entries.length);
        // readAfter: the same, and it moves on past a bad entry all the same
        const after = await log.readAfter('0-0', 0, entries.length + 1, { onUnreadable: (id) => skipped.push(id) });
        expect(after.calls.map((c) => c.id)).toEqual(good);
        expect(after.lastId).toBe(entries[entries.length - 1]?.[0] ?? '0-0');
        expect(read.length + after.calls.length + skipped.length).toBe(2 * entries.length);
      }),
      fuzzRuns(SEED, 200),
    );
  });
});
