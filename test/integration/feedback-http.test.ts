/**
 * POST /api/v1/feedback over real HTTP, on the server the daemon starts (startHttpEndpoint), with a
 * private redis-server: authentication, input checks, content types, and what reaches the log.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import pino from 'pino';
import { startHttpEndpoint } from '../../src/daemon/start-http';
import type { HttpServer } from '../../src/http-api/http-server';
import { loadConfig } from '../../src/config/load-config';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const TOKEN = 'feedback-token-7f3a9c2e51d8';
const WRONG = 'feedback-token-7f3a9c2e51d9';
const PORT = 18460;
const server = new PrivateRedis(16461);
let redis: Redis;
let http: HttpServer | undefined;
let dir: string;
let logText: string;

function configDir(port: number, extra = ''): string {
  const d = mkdtempSync(path.join(tmpdir(), 'callscreen-http-'));
  writeFileSync(
    path.join(d, 'callscreen.yaml'),
    `numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "http:"\nlog:\n  level: debug\nfeedback:\n  promoteAfter: 2\nhttp:\n  enabled: true\n  port: ${port}\n  auth:\n    tokenEnv: CS_FEEDBACK_TOKEN\n${extra}`,
  );
  writeFileSync(path.join(d, 'rules.yaml'), 'allow: []\n');
  return d;
}

function memoryLogger(): pino.Logger {
  logText = '';
  return pino({ level: 'debug' }, { write: (chunk: string) => void (logText += chunk) });
}

beforeAll(async () => {
  await server.start();
  redis = server.client();
  dir = configDir(PORT);
  http = await startHttpEndpoint(loadConfig(path.join(dir, 'callscreen.yaml')), redis, memoryLogger(), {
    CS_FEEDBACK_TOKEN: TOKEN,
  });
  expect(http).toBeDefined();
});
afterAll(async () => {
  await http?.close();
  redis?.disconnect();
  await server.kill();
});

const url = `http://127.0.0.1:${PORT}/api/v1/feedback`;
const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-callscreen-request': '1',
      authorization: `Bearer ${TOKEN}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /api/v1/feedback', () => {
  test('401 without credentials, with a WWW-Authenticate challenge; nothing stored', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: '+12125550147', verdict: 'spam' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="callscreen"');
    expect(await redis.exists('http:feedback')).toBe(0);
  });

  test('401 with a wrong token (same length, one character off) and with another scheme', async () => {
    expect((await post({ number: '+12125550147', verdict: 'spam' }, { authorization: `Bearer ${WRONG}` })).status).toBe(
      401,
    );
    expect(
      (
        await post(
          { number: '+12125550147', verdict: 'spam' },
          { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
        )
      ).status,
    ).toBe(401);
    expect(await redis.exists('http:feedback')).toBe(0);
  });

  test('200 with the right token: the counts, stored and audited', async () => {
    const res = await post({ number: '(212) 555-0147', verdict: 'spam', note: 'robot', agent: 'alice' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      number: '+12125550147',
      verdict: 'spam',
      spam: 1,
      ok: 0,
      last: 'spam',
      promoted: false,
    });
    const [[, fields]] = (await redis.xrange('http:feedback', '-', '+')) as [[string, string[]]];
    expect(fields.slice(0, 8)).toEqual([
      'number',
      '+12125550147',
      'verdict',
      'spam',
      'note',
      'robot',
      'agent',
      'alice',
    ]);
    expect(fields[9]).toBe('127.0.0.1');
  });

  test('ok reports up to promoteAfter promote the number to the managed allow list; spam demotes it', async () => {
    const number = '+1 415 555 0123';
    expect(await (await post({ number, verdict: 'ok', agent: 'bob' })).json()).toMatchObject({
      ok: 1,
      promoted: false,
    });
    expect(await (await post({ number, verdict: 'ok', agent: 'bob' })).json()).toMatchObject({
      ok: 2,
      last: 'ok',
      promoted: true,
    });
    expect(readFileSync(path.join(dir, 'rules.managed.yaml'), 'utf8')).toMatch(
      /number: "\+14155550123"\n {4}label: "agents: not spam x2, last \d{4}-\d\d-\d\d by bob"/,
    );
    expect(await (await post({ number, verdict: 'spam' })).json()).toMatchObject({
      spam: 1,
      ok: 2,
      last: 'spam',
      promoted: false,
    });
    expect(readFileSync(path.join(dir, 'rules.managed.yaml'), 'utf8')).not.toContain('+14155550123');
  });

  test.each([
    [{ number: 'call me maybe', verdict: 'spam' }, /number "call me maybe" contains characters other than digits/],
    [{ number: '+1 212 555', verdict: 'spam' }, /has a length no number in its country has/],
    [{ number: 12125550147, verdict: 'spam' }, /number must be a string/],
    [{ number: '+12125550147', verdict: 'maybe' }, /verdict must be "spam" or "ok"/],
    [{ number: '+12125550147', verdict: 'ok', score: 3 }, /unknown field "score"/],
    [{ number: '+12125550147', verdict: 'ok', note: 'x'.repeat(501) }, /note must be text of at most 500 characters/],
    [[1, 2], /the body must be a JSON object/],
    ['{"number": ', /JSON/],
  ])('400 with a clear reason: %j', async (body, reason) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(reason);
  });

  test('415 for text/plain and form bodies (CSRF: simple cross-site requests are refused)', async () => {
    const body = JSON.stringify({ number: '+12125550147', verdict: 'spam' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await post(body, { 'content-type': type });
      expect([type, res.status]).toEqual([type, 415]);
    }
  });

  test('403 csrf without the X-Callscreen-Request header, or with it but from a foreign Origin; nothing stored', async () => {
    const body = { number: '+12125550999', verdict: 'spam' };
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    expect([res.status, await res.json()]).toEqual([403, expect.objectContaining({ error: 'csrf' })]);
    expect((await post(body, { 'x-callscreen-request': 'yes' })).status).toBe(403);
    for (const origin of ['http://evil.example', `http://127.0.0.1:${PORT + 9}`, 'null']) {
      const foreign = await post(body, { origin });
      expect([origin, foreign.status]).toEqual([origin, 403]);
    }
    expect((await redis.xrange('http:feedback', '-', '+')).flat(2)).not.toContain('+12125550999');
    expect((await post(body, { origin: `http://127.0.0.1:${PORT}` })).status).toBe(200);
  });

  test('unknown routes need credentials too (401), then 404', async () => {
    expect((await fetch(`http://127.0.0.1:${PORT}/nope`)).status).toBe(401);
    expect(
      (await fetch(`http://127.0.0.1:${PORT}/nope`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(404);
  });

  test('neither the right nor a wrong token ever reaches the log, even at debug level', async () => {
    await post({ number: '+12125550147', verdict: 'ok' });
    await post({ number: '+12125550147', verdict: 'ok' }, { authorization: `Bearer ${WRONG}` });
    await post('{"broken', {});
    expect(logText).toContain('http request');
    expect(logText).not.toContain(TOKEN);
    expect(logText).not.toContain(WRONG);
    expect(logText).not.toContain('authorization');
  });

  test('close() is idempotent', async () => {
    const d = configDir(PORT + 1);
    const s = await startHttpEndpoint(loadConfig(path.join(d, 'callscreen.yaml')), redis, pino({ level: 'silent' }), {
      CS_FEEDBACK_TOKEN: TOKEN,
    });
    await Promise.all([s?.close(), s?.close()]);
    await s?.close();
    await expect(fetch(`http://127.0.0.1:${PORT + 1}/api/v1/feedback`)).rejects.toThrow();
  });
});

describe('the endpoint failing to start never stops the caller', () => {
  test('a port in use: logged as an error, no server', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(PORT + 2, '127.0.0.1', r));
    try {
      const d = configDir(PORT + 2);
      const logger = memoryLogger();
      const s = await startHttpEndpoint(loadConfig(path.join(d, 'callscreen.yaml')), redis, logger, {
        CS_FEEDBACK_TOKEN: TOKEN,
      });
      expect(s).toBeUndefined();
      expect(logText).toMatch(/"level":50.*EADDRINUSE.*HTTP endpoint not started/);
    } finally {
      blocker.close();
    }
  });

  test('no usable credentials: logged as an error naming the variable, no server', async () => {
    const d = configDir(PORT + 3);
    const logger = memoryLogger();
    expect(await startHttpEndpoint(loadConfig(path.join(d, 'callscreen.yaml')), redis, logger, {})).toBeUndefined();
    expect(logText).toMatch(/CS_FEEDBACK_TOKEN, which is not set or empty/);
  });
});
