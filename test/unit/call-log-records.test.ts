/**
 * Reading the screened-call log back when the stream holds entries the daemon did not write (an XADD
 * by hand, a truncated or foreign write): decodeEntry (stream fields -> call record, or what is wrong)
 * on hostile entries, a property test that whatever it accepts every reader can show, and the readers
 * themselves on a stream with bad entries in it: RedisCallLog, `callscreen log` / `log export`, and
 * the review console's /api/v1/calls. A bad entry is skipped and counted, never a failed read, never
 * "Redis not reachable".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import fc from 'fast-check';
import pino from 'pino';
import {
  decodeEntry,
  entryFields,
  MAX_RECORD_CHARS,
  MAX_RECORD_DEPTH,
  RedisCallLog,
} from '../../src/adapters/redis/redis-call-log';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { CallEvaluator } from '../../src/calls/call-evaluator';
import { matchesFilter } from '../../src/call-log/call-log-query';
import { csvRow, jsonLine, renderTable, tableRow } from '../../src/call-log/call-log-render';
import { registerLogCommands } from '../../src/cli/call-log-command';
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import { configSchema } from '../../src/config/schema';
import type { Decision } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { callView, SummaryCounter } from '../../src/http-api/console-data';
import { registerConsoleRoutes, type RulesView } from '../../src/http-api/console-routes';
import { HttpServer } from '../../src/http-api/http-server';
import { EMPTY_RULE_SET } from '../../src/domain/rule-set';
import type { LoggedCall, ScreenedCallRecord } from '../../src/ports/call-log';
import type { ManagedAllowList } from '../../src/reputation/managed-allow-list';
import { FakeCallerHistoryStore } from '../support/fakes';

// fastify's inject loads the cookie package, which jest (CommonJS) cannot load as it ships; these
// requests carry no cookies, so the one function inject takes from it is never called
jest.mock('cookie', () => ({ stringifySetCookie: () => '' }));

// `callscreen log` reads the stream below instead of a Redis server
let stream: FakeStream;
jest.mock('../../src/adapters/redis/redis-connection', () => ({
  ...jest.requireActual('../../src/adapters/redis/redis-connection'),
  createRedisClient: () => stream.client(),
  connectOrThrow: async () => undefined,
}));

const AT_MS = Date.parse('2026-11-23T14:05:09.250Z');

// ---- records as the daemon writes them ----

const loaded = loadConfigText('numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\n', 'callscreen.yaml', {});
const rules = compileRulesText(
  'allow:\n  - number: "+1 212 555 0147"\n    label: Key account\ndeny:\n  - number: "+1 201 555 0123"\n    label: Known robocaller\n',
  'rules.yaml',
  'US',
);

/** a decision from the real evaluator, as a live call gets it */
async function decide(callerNumber: string, historyFails = false): Promise<Decision> {
  const history = new FakeCallerHistoryStore();
  if (historyFails) history.answer = () => Promise.reject(new Error('Redis down'));
  const evaluator = new CallEvaluator({ history });
  const { decision } = await evaluator.evaluate(
    { callerNumber, did: '+12125550100', at: new Date(AT_MS) },
    { config: loaded.config, screening: loaded.screening, rules },
    { callId: `call-${callerNumber}`, record: true },
  );
  return decision;
}

/** a record as CallScreener builds it */
function recordOf(decision: Decision, extra: Partial<ScreenedCallRecord> = {}): ScreenedCallRecord {
  return {
    callId: `1700000000.${Math.abs(decision.score)}`,
    at: decision.at,
    channel: 'PJSIP/trunk-00000001',
    decision,
    routedTo: 'agents',
    decisionMs: 3,
    host: 'pbx1',
    ...extra,
  };
}

let records: ScreenedCallRecord[];
let good: ScreenedCallRecord;

beforeAll(async () => {
  records = [
    recordOf(await decide('+12125550147')), // allow rule
    recordOf(await decide('+12015550123'), { routedTo: 'hangup', routeMs: 12 }), // deny rule
    recordOf(await decide('+14155552671'), { callerName: 'Jane "J" Doe', historyMs: 1 }), // scored
    recordOf(await decide('anonymous')), // withheld
    recordOf(await decide('sip:someone@example.com')), // unparseable
    recordOf(await decide('+14155552672', true)), // degraded
    recordOf(await decide('+18005550199'), {
      routedTo: 'voicemail',
      routeError: 'Channel not found',
      captcha: { outcome: 'failed', attempts: 2, ms: 9000, failure: 'silence' },
    }),
  ];
  good = records[2] as ScreenedCallRecord;
});

/** a record's stream fields with the record field replaced by `json` */
const withRecord = (json: string): string[] => ['verdict', 'allow', 'caller', '+12125550147', 'record', json];

/** a copy of the good record with one change made to it */
function changed(change: (r: Record<string, unknown>) => void): string {
  const copy = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
  change(copy);
  return JSON.stringify(copy);
}
const decisionOf = (r: Record<string, unknown>): Record<string, unknown> => r.decision as Record<string, unknown>;

/** Every way the log's readers use a record: none may throw on a record decodeEntry accepted. */
function showEveryWay(call: LoggedCall): void {
  renderTable([tableRow(call.record)], true);
  csvRow(call.record);
  jsonLine(call);
  callView(call);
  new SummaryCounter(24, AT_MS).add(call, AT_MS);
  matchesFilter(call.record, { verdicts: new Set(['allow']), caller: '+12125550147', did: '+12125550100' });
}

describe('decodeEntry: records the daemon writes', () => {
  test('every kind of record reads back as it was written, and every reader can show it', () => {
    for (const [i, record] of records.entries()) {
      const decoded = decodeEntry(`${AT_MS}-${i}`, entryFields(record));
      expect(decoded).toEqual({ ok: true, call: { id: `${AT_MS}-${i}`, record: JSON.parse(JSON.stringify(record)) } });
      if (decoded.ok) showEveryWay(decoded.call);
    }
  });

  test('the record field is found among other fields in any order', () => {
    const fields = ['host', 'x', 'record', JSON.stringify(good), 'verdict', 'allow'];
    expect(decodeEntry('1-0', fields).ok).toBe(true);
  });
});

describe('decodeEntry: hostile entries are bad, with what is wrong, and never throw', () => {
  const hugeText = 'x'.repeat(MAX_RECORD_CHARS);
  const cases: [string, () => unknown, RegExp][] = [
    ['no fields at all (null)', () => null, /no fields/],
    ['an empty field list', () => [], /no record field/],
    ['fields without a record', () => ['verdict', 'allow', 'caller', '+1'], /no record field/],
    ['"record" only as a value', () => ['note', 'record'], /no record field/],
    ['"record" as a value, then no record field', () => ['note', 'record', 'x', JSON.stringify({})], /no record field/],
    ['an empty record', () => withRecord(''), /empty/],
    ['a record that is not JSON', () => withRecord('{"callId": "1700000000.1", '), /not JSON/],
    ['a record that is JSON null', () => withRecord('null'), /^record is not an object$/],
    ['a record that is a JSON list', () => withRecord(JSON.stringify([good])), /^record is not an object$/],
    ['a record that is a JSON string', () => withRecord(JSON.stringify('hello')), /^record is not an object$/],
    ['a record that is a number', () => withRecord('42'), /^record is not an object$/],
    ['an empty object', () => withRecord('{}'), /^record\.callId is missing$/],
    ['no decision', () => withRecord(changed((r) => delete r.decision)), /^record\.decision is missing$/],
    [
      'a decision that is null',
      () => withRecord(changed((r) => (r.decision = null))),
      /^record\.decision is not an object$/,
    ],
    [
      'a decision without reasons',
      () => withRecord(changed((r) => delete decisionOf(r).reasons)),
      /^record\.decision\.reasons is missing$/,
    ],
    [
      'reasons that are not a list',
      () => withRecord(changed((r) => (decisionOf(r).reasons = { code: 'score' }))),
      /^record\.decision\.reasons is not a list$/,
    ],
    [
      'a reason without its text',
      () => withRecord(changed((r) => (decisionOf(r).reasons = [{ code: 'score' }]))),
      /^record\.decision\.reasons\[0\]\.text is missing$/,
    ],
    [
      'a reason whose points are text',
      () => withRecord(changed((r) => (decisionOf(r).reasons = [{ code: 'score', text: 't', points: '+45' }]))),
      /^record\.decision\.reasons\[0\]\.points is not a number$/,
    ],
    [
      'an unknown verdict',
      () => withRecord(changed((r) => (decisionOf(r).verdict = 'maybe'))),
      /^record\.decision\.verdict is not one of allow, challenge, voicemail, reject$/,
    ],
    [
      'a verdict that is an inherited property name',
      () => withRecord(changed((r) => (decisionOf(r).verdict = 'constructor'))),
      /verdict is not one of/,
    ],
    [
      'a score as text',
      () => withRecord(changed((r) => (decisionOf(r).score = '45'))),
      /^record\.decision\.score is not a number$/,
    ],
    [
      'a score too large for a number (1e999 parses as Infinity)',
      () => withRecord(changed((r) => (decisionOf(r).score = 0)).replace('"score":0', '"score":1e999')),
      /^record\.decision\.score is not a number$/,
    ],
    [
      'degraded as text',
      () => withRecord(changed((r) => (decisionOf(r).degraded = 'no'))),
      /^record\.decision\.degraded is not true or false$/,
    ],
    [
      'no caller',
      () => withRecord(changed((r) => delete decisionOf(r).caller)),
      /^record\.decision\.caller is missing$/,
    ],
    [
      'a caller as plain text',
      () => withRecord(changed((r) => (decisionOf(r).caller = '+12125550147'))),
      /^record\.decision\.caller is not an object$/,
    ],
    [
      'a caller of an unknown kind',
      () => withRecord(changed((r) => (decisionOf(r).caller = { kind: 'sip', raw: 'x' }))),
      /^record\.decision\.caller\.kind is not one of e164, withheld, unparseable$/,
    ],
    [
      'an E.164 caller without its number',
      () =>
        withRecord(changed((r) => (decisionOf(r).caller = { kind: 'e164', raw: 'x', valid: true, possible: true }))),
      /^record\.decision\.caller\.e164 is missing$/,
    ],
    [
      'a DID without its raw text',
      () => withRecord(changed((r) => (decisionOf(r).did = { kind: 'withheld' }))),
      /^record\.decision\.did\.raw is missing$/,
    ],
    [
      'an unknown CAPTCHA outcome',
      () => withRecord(changed((r) => (r.captcha = { outcome: 'won', attempts: 1, ms: 1 }))),
      /^record\.captcha\.outcome is not one of passed, failed/,
    ],
    [
      'CAPTCHA attempts as text',
      () => withRecord(changed((r) => (r.captcha = { outcome: 'passed', attempts: 'one', ms: 1 }))),
      /^record\.captcha\.attempts is not a number$/,
    ],
    ['routedTo as a number', () => withRecord(changed((r) => (r.routedTo = 7))), /^record\.routedTo is not text$/],
    ['no host', () => withRecord(changed((r) => delete r.host)), /^record\.host is missing$/],
    [
      'a caller name as an object',
      () => withRecord(changed((r) => (r.callerName = {}))),
      /^record\.callerName is not text$/,
    ],
    ['a time that is null', () => withRecord(changed((r) => (r.at = null))), /^record\.at is not text$/],
    [
      'a record larger than the limit',
      () => withRecord(changed((r) => (r.callerName = hugeText))),
      new RegExp(`more than the ${MAX_RECORD_CHARS}`),
    ],
    [
      'deeply nested JSON',
      () => withRecord('['.repeat(500_000) + ']'.repeat(500_000)),
      new RegExp(`nested deeper than ${MAX_RECORD_DEPTH} levels`),
    ],
    [
      'a deep value in a field no reader looks at (it would overflow JSON.stringify)',
      () =>
        withRecord(
          changed((r) => (r.extra = 0)).replace('"extra":0', `"extra":${'['.repeat(200_000)}${']'.repeat(200_000)}`),
        ),
      new RegExp(`nested deeper than ${MAX_RECORD_DEPTH} levels`),
    ],
    ['a record field that is not text', () => ['record', 42], /empty/],
  ];

  test.each(cases)('%s', (_name, fields, problem) => {
    const decoded = decodeEntry('1700000000000-0', fields());
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.problem).toMatch(problem);
    // the problem names what is wrong, never the entry's content (which may be huge or hostile)
    expect(decoded.problem.length).toBeLessThan(200);
  });

  test('brackets and quotes inside text are not nesting', () => {
    const json = changed((r) => (r.callerName = `${'['.repeat(100)}"\\{`));
    expect(decodeEntry('1-0', withRecord(json)).ok).toBe(true);
  });

  test('a record with a __proto__ key reads as the record it is and changes no prototype', () => {
    const json = changed(() => undefined).replace('{', '{"__proto__":{"polluted":true},');
    const decoded = decodeEntry('1-0', withRecord(json));
    expect(decoded.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('property: any JSON as the record, and any change to a good record, never throws; whatever is accepted every reader can show', () => {
    const anyRecord = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.string(),
      // a good record with one field (at any depth) replaced by any JSON value or removed
      fc.tuple(fc.nat(), fc.option(fc.jsonValue(), { nil: undefined })).map(([pick, value]) => {
        const copy = JSON.parse(JSON.stringify(good)) as unknown;
        const slots: [Record<string, unknown>, string][] = [];
        const walk = (v: unknown): void => {
          if (typeof v !== 'object' || v === null) return;
          for (const key of Object.keys(v)) {
            slots.push([v as Record<string, unknown>, key]);
            walk((v as Record<string, unknown>)[key]);
          }
        };
        walk(copy);
        const [holder, key] = slots[pick % slots.length] as [Record<string, unknown>, string];
        if (value === undefined) delete holder[key];
        else holder[key] = value;
        return JSON.stringify(copy);
      }),
    );
    fc.assert(
      fc.property(anyRecord, (json) => {
        const decoded = decodeEntry('1700000000000-0', withRecord(json));
        if (decoded.ok) showEveryWay(decoded.call);
        else expect(decoded.problem.length).toBeLessThan(200);
      }),
      { seed: 4242, numRuns: 2000 },
    );
  });
});

// ---- the readers on a stream with bad entries ----

/** A Redis stream in memory with the few commands RedisCallLog and the CLI send. */
class FakeStream {
  readonly entries: [string, unknown][] = [];

  add(ms: number, fields: unknown): string {
    const id = `${ms}-${this.entries.length}`;
    this.entries.push([id, fields]);
    return id;
  }

  private range(start: string, end: string): [string, unknown][] {
    const key = (id: string): [number, number] => {
      const [ms, seq] = id.split('-');
      return [Number(ms), Number(seq ?? 0)];
    };
    const cmp = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1];
    const after = (id: string, bound: string): boolean => {
      if (bound === '-') return true;
      if (bound.startsWith('(')) return cmp(key(id), key(bound.slice(1))) > 0;
      return cmp(key(id), bound.includes('-') ? key(bound) : [Number(bound), 0]) >= 0;
    };
    const before = (id: string, bound: string): boolean => {
      if (bound === '+') return true;
      if (bound.startsWith('(')) return cmp(key(id), key(bound.slice(1))) < 0;
      return cmp(key(id), bound.includes('-') ? key(bound) : [Number(bound), Number.MAX_SAFE_INTEGER]) <= 0;
    };
    return this.entries.filter(([id]) => after(id, start) && before(id, end));
  }

  client(): RedisClient {
    const fake = {
      on: () => fake,
      off: () => fake,
      connect: async () => undefined,
      quit: async () => 'OK',
      disconnect: () => undefined,
      xrange: async (_key: string, start: string, end: string, _count: string, n: number) =>
        this.range(start, end).slice(0, n),
      xrevrange: async (_key: string, end: string, start: string, _count: string, n: number) =>
        this.range(start, end).reverse().slice(0, n),
      xread: async (...args: unknown[]) => {
        const page = this.range(`(${String(args[args.length - 1])}`, '+');
        return page.length ? [['calls', page]] : null;
      },
    };
    return fake as unknown as RedisClient;
  }
}

/** good and bad entries, one after the other, in the last hour */
function mixedStream(): { stream: FakeStream; good: string[]; bad: string[] } {
  const s = new FakeStream();
  const ids = { good: [] as string[], bad: [] as string[] };
  const now = Date.now();
  ids.good.push(s.add(now - 50_000, entryFields(records[0] as ScreenedCallRecord)));
  ids.bad.push(s.add(now - 40_000, withRecord(changed((r) => delete decisionOf(r).reasons))));
  ids.good.push(s.add(now - 30_000, entryFields(records[1] as ScreenedCallRecord)));
  ids.bad.push(s.add(now - 20_000, ['hello', 'world']));
  ids.good.push(s.add(now - 10_000, entryFields(records[2] as ScreenedCallRecord)));
  ids.bad.push(s.add(now - 5_000, withRecord(changed((r) => delete decisionOf(r).caller))));
  return { stream: s, ...ids };
}

describe('RedisCallLog on a stream with bad entries', () => {
  const logOn = (s: FakeStream): RedisCallLog => new RedisCallLog(s.client(), 'cs:', 'calls', 1000);

  test('entries, both ways and across pages, yield the good ones and report each bad one with its problem', async () => {
    const { stream: s, good: goodIds, bad: badIds } = mixedStream();
    for (const newestFirst of [false, true]) {
      const skipped: [string, string][] = [];
      const read: string[] = [];
      const options = { batchSize: 2, onUnreadable: (id: string, problem: string) => skipped.push([id, problem]) };
      const log = logOn(s);
      const entries = newestFirst
        ? log.entriesNewestFirst({ start: '-', end: '+' }, options)
        : log.entries({ start: '-', end: '+' }, options);
      for await (const call of entries) read.push(call.id);
      expect(read).toEqual(newestFirst ? [...goodIds].reverse() : goodIds);
      expect(skipped.map(([id]) => id)).toEqual(newestFirst ? [...badIds].reverse() : badIds);
      expect(skipped.map(([, problem]) => problem).sort()).toEqual([
        'no record field',
        'record.decision.caller is missing',
        'record.decision.reasons is missing',
      ]);
    }
  });

  test('readAfter moves past bad entries and reports them; recent leaves them out', async () => {
    const { stream: s, good: goodIds, bad: badIds } = mixedStream();
    const skipped: string[] = [];
    const { calls, lastId } = await logOn(s).readAfter('0-0', 10, 100, { onUnreadable: (id) => skipped.push(id) });
    expect(calls.map((c) => c.id)).toEqual(goodIds);
    expect(skipped).toEqual(badIds);
    expect(lastId).toBe(badIds[2]); // past the last entry, bad as it is
    expect(await logOn(s).recent(10)).toHaveLength(3);
  });
});

describe('the review console API on a stream with bad entries', () => {
  const TOKEN = 'call-log-records-token-3c9e1a';
  let server: HttpServer;
  let ids: ReturnType<typeof mixedStream>;

  beforeAll(async () => {
    ids = mixedStream();
    const settings = configSchema.parse({ http: { enabled: true, auth: { tokens: [TOKEN] } } }).http;
    server = HttpServer.create(settings, { logger: pino({ level: 'silent' }), env: {} });
    const rulesView: RulesView = {
      current: () => EMPTY_RULE_SET,
      managedRules: () => EMPTY_RULE_SET,
      lastError: undefined,
      managedError: undefined,
    };
    registerConsoleRoutes(server.app, {
      loaded: { ...loaded, rulesFile: '/nonexistent/rules.yaml' },
      list: {} as ManagedAllowList,
      rules: rulesView,
      logger: pino({ level: 'silent' }),
      log: new RedisCallLog(ids.stream.client(), 'cs:', 'calls', 1000),
      assets: { index: { type: 'text/html', body: Buffer.from('') }, assets: new Map(), dir: '' },
    });
    await server.app.ready();
  });

  afterAll(() => server.close());

  const get = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.statusCode, body: response.json() };
  };

  test('GET /api/v1/calls answers with the good calls and how many entries were skipped', async () => {
    const { status, body } = await get('/api/v1/calls?since=2h');
    expect(status).toBe(200);
    expect((body.calls as { id: string }[]).map((c) => c.id)).toEqual([...ids.good].reverse());
    expect(body).toMatchObject({ more: false, skipped: 3 });
  });

  test('GET /api/v1/calls with a filter skips the bad entries too', async () => {
    const { status, body } = await get('/api/v1/calls?since=2h&number=%2B12015550123');
    expect(status).toBe(200);
    expect((body.calls as { id: string }[]).map((c) => c.id)).toEqual([ids.good[1]]);
    expect(body.skipped).toBe(3);
  });

  test('GET /api/v1/calls/<id> of a bad entry is a 404 that says why, not a 503', async () => {
    const { status, body } = await get(`/api/v1/calls/${ids.bad[0]}`);
    expect(status).toBe(404);
    expect(body.message).toMatch(/not a readable call record \(record\.decision\.reasons is missing\)/);
    expect((await get(`/api/v1/calls/${ids.good[0]}`)).status).toBe(200);
  });

  test('GET /api/v1/summary counts the good calls and the skipped entries', async () => {
    const { status, body } = await get('/api/v1/summary?hours=2');
    expect(status).toBe(200);
    expect(body).toMatchObject({ calls: 3, skipped: 3 });
  });
});

describe('callscreen log on a stream with bad entries', () => {
  let dir: string;
  let out: string;
  let err: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'callscreen-log-records-'));
    writeFileSync(path.join(dir, 'callscreen.yaml'), 'numbers:\n  defaultRegion: US\n');
    writeFileSync(path.join(dir, 'rules.yaml'), 'allow: []\ndeny: []\n');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(() => {
    out = '';
    err = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
  });

  afterEach(() => jest.restoreAllMocks());

  async function run(...args: string[]): Promise<void> {
    const program = new Command().exitOverride();
    registerLogCommands(program, path.join(dir, 'callscreen.yaml'));
    await program.parseAsync(['node', 'callscreen', 'log', ...args]);
  }

  test('the table shows the good calls; stderr says how many entries were skipped and the first one', async () => {
    const ids = mixedStream();
    stream = ids.stream;
    await run('--since', '2h');
    expect(out).toContain('+12125550147');
    expect(out).toContain('+12015550123');
    expect(out).toContain('+14155552671');
    expect(out).not.toContain('skipped');
    expect(err).toContain('skipped 3 log entries that are not call records');
    expect(err).not.toMatch(/Redis/);
  });

  test('--json: one line per good call, the count on stderr', async () => {
    stream = mixedStream().stream;
    await run('--since', '2h', '--json');
    expect(out.trim().split('\n')).toHaveLength(3);
    expect(err).toContain('skipped 3 log entries');
  });

  test('export: every good call in the CSV, the count on stderr', async () => {
    stream = mixedStream().stream;
    await run('export', '--since', '2h');
    expect(out.trim().split('\r\n')).toHaveLength(4); // header and three calls
    expect(err).toContain('exported 3 calls');
    expect(err).toContain('skipped 3 log entries');
  });

  test('a stream of bad entries only: no calls, and the count', async () => {
    const s = new FakeStream();
    s.add(Date.now() - 1000, withRecord('{not json'));
    stream = s;
    await run('--since', '2h');
    expect(out).toContain('no screened calls');
    expect(err).toMatch(/skipped 1 log entry that is not a call record \(\d+-0: the record is not JSON\)/);
  });
});

// the normaliser is the one the records' numbers come from
test('the fixtures are what they say (a withheld caller, an unparseable one)', () => {
  expect(records.map((r) => r.decision.caller.kind)).toEqual([
    'e164',
    'e164',
    'e164',
    'withheld',
    'unparseable',
    'e164',
    'e164',
  ]);
  expect(normalisePhoneNumber('anonymous', 'US').kind).toBe('withheld');
});
