/**
 * The What if page's API (src/http-api/replay-routes.ts) on a fastify app of its own, with the log in
 * memory: the candidates are the *.yaml files beside the running configuration (not the files in force),
 * a name with a path in it is refused before anything is read, a candidate with a problem is a 400 with
 * its file:line, one replay runs at a time (409), and the range is capped.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { registerReplayRoutes, MAX_RANGE_DAYS } from '../../src/http-api/replay-routes';
import type { ReplayResult } from '../../src/replay/replay-log';
import type { CallLogReader, LoggedCall, ScreenedCallRecord } from '../../src/ports/call-log';
import { decidedRecord } from '../support/replayable-calls';

const CONFIG = 'numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\n';
const RULES = 'allow:\n  - number: "+1 212 555 0147"\n    label: ACME Corp\ndeny: []\n';
const STRICT_RULES = 'allow: []\ndeny:\n  - "+1 212 555 0147"\n  - "+1 415 555 0101"\n';
const CUSTOMER = '+12125550147';

let dir: string;
let loaded: LoadedConfig;
let records: ScreenedCallRecord[];

/** a log in memory; while `hold` is set, reading waits for it (a replay that takes its time) */
class MemoryLog implements CallLogReader {
  hold: Promise<void> | undefined;
  async *entries(): AsyncGenerator<LoggedCall> {
    if (this.hold) await this.hold;
    for (const [i, record] of records.entries()) yield { id: `${Date.parse(record.at)}-${i}`, record };
  }
  entriesNewestFirst(): AsyncGenerator<LoggedCall> {
    return this.entries();
  }
  readAfter(afterId: string): Promise<{ calls: LoggedCall[]; lastId: string }> {
    return Promise.resolve({ calls: [], lastId: afterId });
  }
  lastId(): Promise<string> {
    return Promise.resolve('0-0');
  }
}

let log: MemoryLog;
let app: FastifyInstance;
let base: string;

/** a request over real HTTP (fastify's inject needs an ES module jest does not load) */
async function request(method: string, url: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${url}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const data: unknown = await res.json();
  return { statusCode: res.status, json: <T = unknown>() => data as T };
}
interface Answer {
  statusCode: number;
  json<T = unknown>(): T;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-replay-routes-'));
  writeFileSync(path.join(dir, 'callscreen.yaml'), CONFIG);
  writeFileSync(path.join(dir, 'rules.yaml'), RULES);
  writeFileSync(path.join(dir, 'strict-rules.yaml'), STRICT_RULES);
  writeFileSync(path.join(dir, 'broken.yaml'), `${CONFIG}screening:\n  nosuchsetting: 1\n`);
  writeFileSync(path.join(dir, 'broken-rules.yaml'), 'allow:\n  - number: "not a number"\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a candidate');
  loaded = loadConfig(path.join(dir, 'callscreen.yaml'), {});
  records = [
    await decidedRecord(loaded, RULES, { callerNumber: CUSTOMER, did: '+12125550100' }),
    await decidedRecord(loaded, RULES, { callerNumber: '+14155550101', did: '+12125550100' }),
    await decidedRecord(loaded, RULES, { callerNumber: '+14155550102', did: '+12125550100' }),
  ];
});

beforeEach(async () => {
  log = new MemoryLog();
  app = Fastify();
  registerReplayRoutes(app, { loaded, log, env: {} });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  base = address;
});

afterEach(() => app.close());

const replay = (body: unknown): Promise<Answer> => request('POST', '/api/v1/replay', body);

test('the candidates are the .yaml files beside the running configuration, the files in force being "running"', async () => {
  const res = await request('GET', '/api/v1/replay/candidates');
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({
    candidates: ['running', 'broken-rules.yaml', 'broken.yaml', 'strict-rules.yaml'],
    running: { config: 'callscreen.yaml', rules: 'rules.yaml' },
    maxRangeDays: MAX_RANGE_DAYS,
  });
});

test('a candidate rules file: the matrix, the customer newly sent to voicemail, the changed calls', async () => {
  const same = await replay({});
  expect(same.statusCode).toBe(200);
  expect(same.json<ReplayResult>()).toMatchObject({ calls: 3, replayed: 3, changed: 0 });

  const res = await replay({ rules: 'strict-rules.yaml', since: '1h' });
  expect(res.statusCode).toBe(200);
  const r = res.json<ReplayResult & { config: string; rules: string }>();
  expect(r).toMatchObject({ config: 'running', rules: 'strict-rules.yaml', calls: 3, changed: 2 });
  expect(r.matrix.allow).toEqual({ allow: 1, challenge: 0, voicemail: 2, reject: 0 });
  expect(r.effect.customersNewlyVoicemail).toBe(1);
  expect(r.changedCalls.map((c) => [c.caller, c.before, c.after, c.likelyCustomer])).toEqual([
    [CUSTOMER, 'allow', 'voicemail', true],
    ['+14155550101', 'allow', 'voicemail', false],
  ]);
  expect(r.changedCalls[0]?.oldReasons.join(' ')).toMatch(/rule\.allow/);
  // the candidate's rules named as the folder has them, not by their path on the server
  expect(r.changedCalls[0]?.newReasons.join(' ')).toMatch(/rule\.deny: .* strict-rules\.yaml:3/);
  expect(JSON.stringify(r)).not.toContain(dir);
});

test.each([
  ['config', '../callscreen.yaml'],
  ['config', '/etc/passwd'],
  ['rules', 'sub/rules.yaml'],
  ['rules', 'a\\b.yaml'],
  ['config', '..'],
])('%s %j is refused as a path before anything is read', async (field, name) => {
  const res = await replay({ [field]: name });
  expect(res.statusCode).toBe(400);
  expect(res.json<{ message: string }>().message).toMatch(new RegExp(`^${field}: .*not a file name.*no / or \\.\\.`));
});

test('only the listed candidates are read: another file of the folder, or one that is not there, is a 400', async () => {
  for (const name of ['notes.txt', 'missing.yaml']) {
    const res = await replay({ config: name });
    expect(res.statusCode).toBe(400);
  }
  expect((await replay({ config: 'missing.yaml' })).json<{ message: string }>().message).toMatch(
    /no candidate file missing\.yaml/,
  );
});

test('a candidate with a problem is a 400 naming its file and line, without the server path', async () => {
  const config = await replay({ config: 'broken.yaml' });
  expect(config.statusCode).toBe(400);
  expect(config.json<{ message: string }>().message).toMatch(/^broken\.yaml:\d+:\d+ /);
  const rules = await replay({ rules: 'broken-rules.yaml' });
  expect(rules.statusCode).toBe(400);
  expect(rules.json<{ message: string }>().message).toMatch(/^broken-rules\.yaml:2:\d+ /);
  expect(rules.json<{ message: string }>().message).not.toContain(dir);
});

test('one replay at a time: a second one while the first runs is a 409; afterwards it runs', async () => {
  let release = (): void => undefined;
  log.hold = new Promise((resolve) => (release = resolve));
  const first = replay({});
  // the first holds the replay while it reads the log
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = await replay({});
  expect(second.statusCode).toBe(409);
  expect(second.json<{ message: string }>().message).toMatch(/already running/);
  release();
  expect((await first).statusCode).toBe(200);
  log.hold = undefined;
  expect((await replay({})).statusCode).toBe(200);
});

test('the range is capped, and a bad since or field is a 400 in the route’s words', async () => {
  const long = await replay({ since: `${MAX_RANGE_DAYS + 1}d` });
  expect(long.statusCode).toBe(400);
  expect(long.json<{ message: string }>().message).toMatch(new RegExp(`at most ${MAX_RANGE_DAYS} days`));
  expect((await replay({ since: `${MAX_RANGE_DAYS}d` })).statusCode).toBe(200);
  const badSince = await replay({ since: 'yesterday-ish' });
  expect(badSince.statusCode).toBe(400);
  expect(badSince.json<{ message: string }>().message).toMatch(/^since: /);
  expect((await replay({ show: 'lots' })).statusCode).toBe(400);
  expect((await replay({ path: '/etc' })).json<{ message: string }>().message).toMatch(/unknown field "path"/);
});
