/**
 * The review console's API and page over real HTTP, on the server the daemon starts
 * (startHttpEndpoint), with a private redis-server holding real ScreenedCallRecords appended through
 * RedisCallLog: authentication on every route, the calls list and its filters, the rules and their
 * sources (and nothing else from the disk), the summary, "always allow", CSRF and the security headers.
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type Redis from 'ioredis';
import pino from 'pino';
import type { CountryCode } from 'libphonenumber-js';
import { startHttpEndpoint } from '../../src/daemon/start-http';
import type { HttpServer } from '../../src/http-api/http-server';
import { RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { loadConfig } from '../../src/config/load-config';
import { RulesReloader } from '../../src/config/rules-reloader';
import type { Reason, Verdict } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import type { CaptchaOutcome, ScreenedCallRecord } from '../../src/ports/call-log';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const PORT = 18485;
const PORT_B = 18486;
const USER = 'reviewer';
const PASSWORD = 'console-api-pass-4b7d2e';
const TOKEN = 'console-api-token-9e1c4a7f3b';
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
const XSS_NAME = '<script>alert(1)</script>';
const RULES =
  'allow:\n  - number: "+1 212 555 0100"\n    label: Head office\ndeny:\n  - number: "+1 900*"\n    label: Premium-rate lines\n';
const env = { CS_CONSOLE_PASS: PASSWORD, CS_CONSOLE_TOKEN: TOKEN };

const redisServer = new PrivateRedis(16485);
let redis: Redis;
let http: HttpServer | undefined;
let dir: string;

const base = `http://127.0.0.1:${PORT}`;
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

function configDir(port: number, prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), 'callscreen-console-'));
  writeFileSync(
    path.join(d, 'callscreen.yaml'),
    `numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "${prefix}"\nhttp:\n  enabled: true\n  port: ${port}\n  auth:\n    tokenEnv: CS_CONSOLE_TOKEN\n    basic:\n      user: ${USER}\n      passwordEnv: CS_CONSOLE_PASS\n`,
  );
  writeFileSync(path.join(d, 'rules.yaml'), RULES);
  return d;
}

interface RecordSpec {
  caller: string;
  did?: string;
  verdict: Verdict;
  score?: number;
  reasons?: Reason[];
  callerName?: string;
  captcha?: CaptchaOutcome;
  at?: string;
  shadowVerdict?: Verdict;
}

let seq = 0;
function record(spec: RecordSpec): ScreenedCallRecord {
  const region: CountryCode = 'US';
  const at = spec.at ?? new Date().toISOString();
  seq += 1;
  return {
    callId: `1700000000.${seq}`,
    at,
    channel: `PJSIP/trunk-${String(seq).padStart(8, '0')}`,
    ...(spec.callerName !== undefined ? { callerName: spec.callerName } : {}),
    decision: {
      verdict: spec.verdict,
      score: spec.score ?? 0,
      reasons: spec.reasons ?? [{ code: 'score', text: `score ${spec.score ?? 0}` }],
      degraded: false,
      policies: [],
      ...(spec.shadowVerdict ? { shadowVerdict: spec.shadowVerdict } : {}),
      caller: normalisePhoneNumber(spec.caller, region),
      did: normalisePhoneNumber(spec.did ?? '+12125550100', region),
      at,
    },
    routedTo: spec.verdict === 'allow' || spec.verdict === 'challenge' ? 'agents' : spec.verdict,
    decisionMs: 3.2,
    ...(spec.captcha ? { captcha: { outcome: spec.captcha, attempts: 1, ms: 9000 } } : {}),
    host: 'pbx-test',
  };
}

const get = (p: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${p}`, { headers: { authorization: basic, ...headers } });
const postJson = (p: string, body: unknown, headers: Record<string, string> = {}, at = base) =>
  fetch(`${at}${p}`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/json', 'x-callscreen-request': '1', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

interface CallJson {
  id: string;
  callId: string;
  caller: { raw: string; e164: string | null };
  callerName: string | null;
  verdict: Verdict;
  reasons: { code: string; text: string; points: number | null }[];
}
const callsOf = async (query: string): Promise<{ calls: CallJson[]; more: boolean }> => {
  const res = await get(`/api/v1/calls${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { calls: CallJson[]; more: boolean };
};

// the calls of the main server, oldest first
const SPAM = '+18336317944';
const CLEAN = '+13125550172';
const HOSTILE = '+13125550173';
const seeded: ScreenedCallRecord[] = [
  record({ caller: CLEAN, verdict: 'allow', callerName: 'ACME Corp' }),
  record({
    caller: SPAM,
    verdict: 'voicemail',
    score: 60,
    reasons: [
      { code: 'reputation.listed', text: 'on the reputation list (robocalls, score 80)', points: 60, value: 80 },
      { code: 'score', text: 'score 60 reached the voicemail threshold 50' },
    ],
  }),
  record({ caller: HOSTILE, verdict: 'allow', callerName: XSS_NAME }),
  record({ caller: 'anonymous', verdict: 'challenge', score: 30, captcha: 'passed' }),
  record({ caller: SPAM, verdict: 'reject', did: '+12125550199', score: 90 }),
];
const ids: string[] = [];

beforeAll(async () => {
  await redisServer.start();
  redis = redisServer.client();
  dir = configDir(PORT, 'rc:');
  const log = new RedisCallLog(redis, 'rc:', 'calls', 1000);
  for (const r of seeded) {
    await log.append(r);
    ids.push((await log.lastId()) as string);
  }
  http = await startHttpEndpoint(loadConfig(path.join(dir, 'callscreen.yaml')), redis, pino({ level: 'silent' }), env);
  expect(http).toBeDefined();
});
afterAll(async () => {
  await http?.close();
  redis?.disconnect();
  await redisServer.kill();
});

const ROUTES: Array<[method: 'GET' | 'POST', path: string]> = [
  ['GET', '/'],
  ['GET', '/assets/console.js'],
  ['GET', '/assets/console.css'],
  ['GET', '/api/v1/calls'],
  ['GET', '/api/v1/calls/1-0'],
  ['POST', '/api/v1/allow'],
  ['POST', '/api/v1/feedback'],
  ['GET', '/api/v1/rules'],
  ['GET', '/api/v1/rules/source?name=rules.yaml'],
  ['GET', '/api/v1/summary'],
  ['GET', '/what-if'],
  ['GET', '/accuracy'],
  ['GET', '/assets/pages.js'],
  ['GET', '/api/v1/replay/candidates'],
  ['POST', '/api/v1/replay'],
];

describe('authentication', () => {
  test.each(ROUTES)('%s %s answers 401 without credentials and with a wrong password', async (method, p) => {
    const wrong = `Basic ${Buffer.from(`${USER}:${PASSWORD}x`).toString('base64')}`;
    for (const headers of [{}, { authorization: wrong }] as Array<Record<string, string>>) {
      const init: RequestInit = {
        method,
        headers: {
          ...headers,
          ...(method === 'POST' ? { 'content-type': 'application/json', 'x-callscreen-request': '1' } : {}),
        },
      };
      if (method === 'POST') init.body = JSON.stringify({ number: '+12125550147', verdict: 'spam' });
      const res = await fetch(`${base}${p}`, init);
      expect([p, res.status]).toEqual([p, 401]);
      expect(res.headers.get('www-authenticate')).toContain('Basic realm="callscreen"');
    }
    expect(existsSync(path.join(dir, 'rules.managed.yaml'))).toBe(false);
  });

  test('a bearer token works on the API as well as Basic', async () => {
    expect((await fetch(`${base}/api/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('GET /api/v1/calls', () => {
  test('every call, newest first, in the contract shape; the hostile caller name comes back verbatim as data', async () => {
    const { calls, more } = await callsOf('');
    expect(more).toBe(false);
    expect(calls.map((c) => c.id)).toEqual([...ids].reverse());
    const spam = calls.find((c) => c.id === ids[1]);
    expect(spam).toEqual({
      id: ids[1],
      callId: seeded[1]?.callId,
      at: seeded[1]?.at,
      caller: { raw: SPAM, e164: SPAM },
      callerName: null,
      did: '+12125550100',
      verdict: 'voicemail',
      shadowVerdict: null,
      score: 60,
      degraded: false,
      reasons: [
        { code: 'reputation.listed', text: 'on the reputation list (robocalls, score 80)', points: 60 },
        { code: 'score', text: 'score 60 reached the voicemail threshold 50', points: null },
      ],
      captcha: null,
      routedTo: 'voicemail',
      decisionMs: 3.2,
      host: 'pbx-test',
    });
    expect(calls.find((c) => c.id === ids[2])?.callerName).toBe(XSS_NAME);
    expect(calls.find((c) => c.id === ids[0])?.callerName).toBe('ACME Corp');
    expect(calls.find((c) => c.id === ids[3])).toMatchObject({
      caller: { raw: 'anonymous', e164: null },
      captcha: { outcome: 'passed', attempts: 1 },
    });
  });

  test('filters: verdicts, caller number (any spelling), DID, and the limit with `more`', async () => {
    expect((await callsOf('?verdict=voicemail,reject')).calls.map((c) => c.id)).toEqual([ids[4], ids[1]]);
    expect((await callsOf(`?number=${encodeURIComponent('(833) 631-7944')}`)).calls.map((c) => c.id)).toEqual([
      ids[4],
      ids[1],
    ]);
    expect((await callsOf('?number=withheld')).calls.map((c) => c.id)).toEqual([ids[3]]);
    expect((await callsOf(`?did=${encodeURIComponent('+1 212 555 0199')}`)).calls.map((c) => c.id)).toEqual([ids[4]]);
    expect((await callsOf('?verdict=allow&limit=1')).calls.map((c) => c.id)).toEqual([ids[2]]);
    expect((await callsOf('?verdict=allow&limit=1')).more).toBe(true);
    expect((await callsOf('?verdict=allow&limit=2')).more).toBe(false);
  });

  test('the time range: since and until', async () => {
    expect((await callsOf('?since=2h')).calls).toHaveLength(seeded.length);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await callsOf(`?since=${encodeURIComponent(future)}`)).calls).toEqual([]);
    expect((await callsOf('?since=3h&until=2h')).calls).toEqual([]);
  });

  test.each([
    ['?since=yesterday', /since: "yesterday" is neither a duration/],
    ['?verdict=spam', /verdict: "spam" is not a verdict/],
    ['?number=call-me', /number: "call-me" is not a phone number/],
    ['?limit=0', /limit: "0" is not a whole number/],
    ['?limit=5000', /limit: at most 1000/],
    ['?since=1h&until=2h', /until: .* is before since/],
  ])('400 naming the parameter: %s', async (query, reason) => {
    const res = await get(`/api/v1/calls${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(reason);
  });

  test('GET /api/v1/calls/:id: one call; 404 for an unknown or malformed id', async () => {
    const res = await get(`/api/v1/calls/${ids[2]}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: ids[2], callerName: XSS_NAME, caller: { e164: HOSTILE } });
    expect((await get('/api/v1/calls/1-0')).status).toBe(404);
    expect((await get('/api/v1/calls/..%2F..%2Fetc')).status).toBe(404);
    expect((await get('/api/v1/calls/+')).status).toBe(404);
  });
});

describe('the page', () => {
  test('GET / is the HTML page with the CSP; its script and style are served from /assets', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/assets/console.js"></script>');
    expect(html).toContain('data-testid="calls"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/i); // nothing inline the CSP would block
    const js = await get('/assets/console.js');
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    const css = await get('/assets/console.css');
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect((await get('/assets/../package.json')).status).toBe(404);
    expect((await get('/assets/index.html')).status).toBe(404);
  });

  test('the page script never turns data into HTML (no innerHTML, outerHTML, insertAdjacentHTML, document.write)', async () => {
    for (const name of ['console.js', 'pages.js']) {
      const js = await (await get(`/assets/${name}`)).text();
      expect(js).toContain('textContent');
      expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    }
  });

  test.each(['/what-if', '/accuracy'])(
    'GET %s is an HTML page with the CSP and nothing inline, linked from /',
    async (p) => {
      const res = await get(p);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
      expect(res.headers.get('content-security-policy')).toBe(CSP);
      const html = await res.text();
      expect(html).toContain('<script type="module" src="/assets/pages.js"></script>');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/i);
      expect(await (await get('/')).text()).toContain(`href="${p}"`);
      const js = await get('/assets/pages.js');
      expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    },
  );
});

describe('security headers', () => {
  test.each([
    ['GET /', () => get('/')],
    ['GET /api/v1/calls', () => get('/api/v1/calls')],
    ['a 401', () => fetch(`${base}/api/v1/calls`)],
    ['a 404', () => get('/nope')],
    ['a POST', () => postJson('/api/v1/allow', { number: '12' })],
  ])('%s: CSP, nosniff, no referrer, frame denial', async (_name, request) => {
    const res = await request();
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  test('/api answers are never cached', async () => {
    for (const p of ['/api/v1/calls', '/api/v1/rules', '/api/v1/summary', '/api/v1/calls/1-0'])
      expect([p, (await get(p)).headers.get('cache-control')]).toEqual([p, 'no-store']);
    expect((await fetch(`${base}/api/v1/calls`)).headers.get('cache-control')).toBe('no-store');
  });

  test('no CORS: a preflight gets no Access-Control-Allow-* headers', async () => {
    const res = await fetch(`${base}/api/v1/allow`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-callscreen-request',
      },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect([...res.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('rules', () => {
  test('GET /api/v1/rules: both files with their rules (list, pattern, label, line) and no error', async () => {
    const res = await get('/api/v1/rules');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      files: [
        {
          name: 'rules.yaml',
          kind: 'admin',
          rules: [
            { list: 'allow', pattern: '+1 212 555 0100', label: 'Head office', line: 2 },
            { list: 'deny', pattern: '+1 900*', label: 'Premium-rate lines', line: 5 },
          ],
          error: null,
        },
        { name: 'rules.managed.yaml', kind: 'managed', rules: [], error: null },
      ],
      lastReloadError: null,
    });
  });

  test('GET /api/v1/rules/source serves rules.yaml as text', async () => {
    const res = await get('/api/v1/rules/source?name=rules.yaml');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(RULES);
  });

  test('GET /api/v1/rules/source refuses every other path: relative, absolute, encoded, a symlink out of the folder, the config itself', async () => {
    symlinkSync('/etc/passwd', path.join(dir, 'evil.yaml'));
    symlinkSync('/etc', path.join(dir, 'etc'));
    for (const name of [
      '../callscreen.yaml',
      '/etc/passwd',
      '..%2f..%2fetc%2fpasswd',
      '..%252f..%252fetc%252fpasswd',
      'evil.yaml',
      'etc/passwd',
      'callscreen.yaml',
      '..',
      '.',
      'rules.yaml%00.txt',
      '%2e%2e%2fcallscreen.yaml',
      '',
    ]) {
      const res = await get(`/api/v1/rules/source?name=${name}`);
      expect([name, res.status === 400 || res.status === 404]).toEqual([name, true]);
      const text = await res.text();
      expect(text).not.toContain('root:');
      expect(text).not.toContain('keyPrefix');
    }
    expect((await get('/api/v1/rules/source')).status).toBe(400);
  });

  test("a rejected edit shows as lastReloadError and on its file, from the daemon's running reloader", async () => {
    const d = configDir(PORT_B, 'rcb:');
    const loaded = loadConfig(path.join(d, 'callscreen.yaml'));
    const reloader = new RulesReloader({
      file: loaded.rulesFile,
      displayName: 'rules.yaml',
      managedFile: path.join(d, 'rules.managed.yaml'),
      managedDisplayName: 'rules.managed.yaml',
      defaultRegion: 'US',
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 50,
    });
    reloader.load();
    reloader.start();
    const server = await startHttpEndpoint(loaded, redis, pino({ level: 'silent' }), env, { rules: reloader });
    try {
      const rejected = once(reloader, 'rejected');
      writeFileSync(path.join(d, 'rules.yaml'), `${RULES}  - number: "not a number"\n`);
      await rejected;
      const body = (await (
        await fetch(`http://127.0.0.1:${PORT_B}/api/v1/rules`, { headers: { authorization: basic } })
      ).json()) as {
        files: Array<{ name: string; rules: unknown[]; error: { file: string; line: number; reason: string } | null }>;
        lastReloadError: string | null;
      };
      expect(body.lastReloadError).toMatch(/^rules\.yaml:7:/);
      expect(body.files[0]?.error).toMatchObject({ file: 'rules.yaml', line: 7 });
      expect(body.files[0]?.rules).toHaveLength(2); // the last good rules, still in force
      expect(body.files[1]?.error).toBeNull();
    } finally {
      reloader.close();
      await server?.close();
    }
  });
});

describe('POST /api/v1/allow', () => {
  test('adds the number to the managed allow list file, labelled with the agent; a second time it was already there', async () => {
    const res = await postJson('/api/v1/allow', { number: '(312) 555-0188', note: 'our courier' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ number: '+13125550188', added: true, file: 'rules.managed.yaml' });
    const text = readFileSync(path.join(dir, 'rules.managed.yaml'), 'utf8');
    expect(text).toMatch(
      /number: "\+13125550188"\n {4}label: "agents: always allow \(our courier\), \d{4}-\d\d-\d\d by reviewer"/,
    );
    expect(
      await (await postJson('/api/v1/allow', { number: '+13125550188', note: 'our courier' })).json(),
    ).toMatchObject({ added: false });
    expect((await get('/api/v1/rules/source?name=rules.managed.yaml')).status).toBe(200);
  });

  test.each([
    [{ number: 'call me' }, /number "call me" contains characters/],
    [{ number: 13125550188 }, /number must be a string/],
    [{ number: '+13125550188', verdict: 'ok' }, /unknown field "verdict"/],
    [{ number: '+13125550188', note: 'x'.repeat(201) }, /note must be text of at most 200/],
    [['+13125550188'], /the body must be a JSON object/],
  ])('400 with a reason: %j', async (body, reason) => {
    const res = await postJson('/api/v1/allow', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(reason);
  });

  test('415 for a body that is not JSON', async () => {
    expect(
      (
        await postJson('/api/v1/allow', 'number=%2B13125550177', {
          'content-type': 'application/x-www-form-urlencoded',
        })
      ).status,
    ).toBe(415);
  });
});

describe('CSRF', () => {
  const number = '+13125550155';
  const onList = () => readFileSync(path.join(dir, 'rules.managed.yaml'), 'utf8').includes(number);

  test('403 csrf without X-Callscreen-Request: 1, and with it from a foreign Origin; nothing written', async () => {
    await postJson('/api/v1/allow', { number: '+13125550156' }); // the file exists from here on
    const noHeader = await fetch(`${base}/api/v1/allow`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ number }),
    });
    expect([noHeader.status, await noHeader.json()]).toEqual([403, expect.objectContaining({ error: 'csrf' })]);
    for (const origin of [
      'http://evil.example',
      `http://127.0.0.1:${PORT + 1}`,
      `http://localhost:${PORT}`,
      'null',
      'not a url',
    ]) {
      const res = await postJson('/api/v1/allow', { number }, { origin });
      expect([origin, res.status]).toEqual([origin, 403]);
    }
    const feedback = await fetch(`${base}/api/v1/feedback`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ number, verdict: 'ok' }),
    });
    expect(feedback.status).toBe(403);
    expect(onList()).toBe(false);
  });

  test("the same request from the page's own origin (or without an Origin) goes through", async () => {
    expect((await postJson('/api/v1/allow', { number }, { origin: base })).status).toBe(200);
    expect(onList()).toBe(true);
  });
});

describe('GET /api/v1/summary', () => {
  test('calls per hour and verdict, the top spam numbers, the CAPTCHA pass rate over a known set of calls', async () => {
    const d = configDir(PORT_B, 'rcs:');
    const log = new RedisCallLog(redis, 'rcs:', 'calls', 1000);
    const hour = 3_600_000;
    const now = Date.now();
    const hoursAgo = (h: number) => new Date(now - h * hour).toISOString();
    const listed: Reason = { code: 'reputation.listed', text: 'listed', points: 60 };
    const specs: RecordSpec[] = [
      { caller: '+18005550001', verdict: 'reject', at: hoursAgo(3) },
      { caller: '+18005550001', verdict: 'voicemail', at: hoursAgo(3) },
      { caller: '+18005550001', verdict: 'reject', at: hoursAgo(0) },
      { caller: '+18005550002', verdict: 'voicemail', at: hoursAgo(0) },
      { caller: '+18005550003', verdict: 'allow', shadowVerdict: 'reject', at: hoursAgo(0) }, // shadow mode: spam let through
      { caller: '+18005550004', verdict: 'allow', reasons: [listed], at: hoursAgo(1) }, // listed, allowed by a rule
      { caller: 'anonymous', verdict: 'reject', at: hoursAgo(1) }, // withheld: not a number to list
      { caller: '+13125550001', verdict: 'challenge', captcha: 'passed', at: hoursAgo(1) },
      { caller: '+13125550002', verdict: 'challenge', captcha: 'passed', at: hoursAgo(0) },
      { caller: '+13125550003', verdict: 'challenge', captcha: 'failed', at: hoursAgo(0) },
      { caller: '+13125550004', verdict: 'challenge', captcha: 'hangup', at: hoursAgo(0) },
      { caller: '+13125550005', verdict: 'allow', at: hoursAgo(0) },
    ];
    for (const s of specs) await log.append(record(s));
    const server = await startHttpEndpoint(
      loadConfig(path.join(d, 'callscreen.yaml')),
      redis,
      pino({ level: 'silent' }),
      env,
    );
    try {
      const res = await fetch(`http://127.0.0.1:${PORT_B}/api/v1/summary?hours=6`, {
        headers: { authorization: basic },
      });
      expect(res.status).toBe(200);
      const s = (await res.json()) as {
        byHour: Array<{ hour: string; allow: number; challenge: number; voicemail: number; reject: number }>;
        topSpam: Array<{ number: string; calls: number }>;
        captcha: { passed: number; failed: number; other: number; passRate: number | null };
        calls: number;
        capped: boolean;
      };
      expect(s.byHour).toHaveLength(6);
      const currentHour = Math.floor(now / hour) * hour;
      expect(s.byHour.map((h) => Date.parse(h.hour))).toEqual([5, 4, 3, 2, 1, 0].map((h) => currentHour - h * hour));
      expect(s.byHour.map(({ allow, challenge, voicemail, reject }) => [allow, challenge, voicemail, reject])).toEqual([
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 1, 1],
        [0, 0, 0, 0],
        [1, 1, 0, 1],
        [2, 3, 1, 1],
      ]);
      expect(s.topSpam).toEqual([
        { number: '+18005550001', calls: 3 },
        { number: '+18005550002', calls: 1 },
        { number: '+18005550003', calls: 1 },
        { number: '+18005550004', calls: 1 },
      ]);
      expect(s.captcha).toEqual({ passed: 2, failed: 1, other: 1, passRate: 0.5 });
      expect([s.calls, s.capped]).toEqual([specs.length, false]);

      const none = (await (
        await fetch(`http://127.0.0.1:${PORT_B}/api/v1/summary`, { headers: { authorization: basic } })
      ).json()) as { byHour: unknown[] };
      expect(none.byHour).toHaveLength(24);
      for (const bad of ['0', '169', '1.5', 'x'])
        expect([
          bad,
          (await fetch(`http://127.0.0.1:${PORT_B}/api/v1/summary?hours=${bad}`, { headers: { authorization: basic } }))
            .status,
        ]).toEqual([bad, 400]);
    } finally {
      await server?.close();
    }
  });

  test("the main server's calls over the last hour; an empty log: zeros and passRate null", async () => {
    const s = (await (await get('/api/v1/summary?hours=1')).json()) as {
      captcha: unknown;
      calls: number;
      topSpam: unknown;
    };
    expect(s.calls).toBe(seeded.length);
    expect(s.captcha).toEqual({ passed: 1, failed: 0, other: 0, passRate: 1 });
    expect(s.topSpam).toEqual([{ number: SPAM, calls: 2 }]);
    const d = configDir(PORT_B, 'rc-empty:');
    const server = await startHttpEndpoint(
      loadConfig(path.join(d, 'callscreen.yaml')),
      redis,
      pino({ level: 'silent' }),
      env,
    );
    try {
      const empty = (await (
        await fetch(`http://127.0.0.1:${PORT_B}/api/v1/summary?hours=2`, { headers: { authorization: basic } })
      ).json()) as Record<string, unknown>;
      expect(empty).toMatchObject({
        topSpam: [],
        captcha: { passed: 0, failed: 0, other: 0, passRate: null },
        calls: 0,
        capped: false,
      });
      expect(empty.byHour).toEqual([
        expect.objectContaining({ allow: 0, challenge: 0, voicemail: 0, reject: 0 }),
        expect.objectContaining({ allow: 0, challenge: 0, voicemail: 0, reject: 0 }),
      ]);
    } finally {
      await server?.close();
    }
  });
});
