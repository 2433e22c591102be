/**
 * Notifications over webhooks, against a local HTTP receiver the test starts: a rejected rules edit, Redis
 * down for longer than downAfterSeconds and back, and a spam surge on a DID (real calls over SIP on the test
 * bed) each arrive as a signed JSON POST; a receiver that fails first gets the delivery again.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { placeSipCall } from '../../tools/testbed/sip-call';
import { spawnDaemon, writeConfigDir, type DaemonProcess } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(60_000);

const SECRET = 'webhook-secret-7f3a9c';
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: { type: string; summary: string; data: Record<string, unknown>; host: string };
}

let server: Server;
let url: string;
const received: Received[] = [];
/** how many of the next requests are answered 500 */
let failNext = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        received.push({
          headers: req.headers,
          body,
          event: { type: 'failed-attempt', summary: '', data: {}, host: '' },
        });
        return;
      }
      received.push({ headers: req.headers, body, event: JSON.parse(body) as Received['event'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/callscreen`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function waitFor(type: string, timeoutMs = 15_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = received.find((r) => r.event.type === type);
    if (hit) return hit;
    if (Date.now() > deadline)
      throw new Error(`no ${type} webhook within ${timeoutMs} ms; got ${received.map((r) => r.event.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const config = (prefix: string, extra = '') => `
numbers:
  defaultRegion: US
redis:
  keyPrefix: "${prefix}"
screening:
  timeZone: UTC
log:
  level: debug
notifications:
  webhooks:
    - url: "URL"
      secretEnv: CS_WEBHOOK_SECRET
  downAfterSeconds: 1
  spamSurge: { calls: 2, windowMinutes: 5 }
  retry: { attempts: 4, firstDelayMs: 100, maxDelayMs: 400, timeoutMs: 2000 }
${extra}`;

describe('webhooks from a running daemon', () => {
  const redis = new PrivateRedis(16471);
  let daemon: DaemonProcess;
  const prefix = `cstest-${randomUUID().slice(0, 8)}:`;

  beforeAll(async () => {
    await redis.start();
    const dir = writeConfigDir(config(prefix).replace('URL', url), 'allow: []\ndeny:\n  - "+1 312 555 01XX"\n');
    daemon = spawnDaemon(dir, undefined, { CS_WEBHOOK_SECRET: SECRET, CALLSCREEN_REDIS_URL: redis.url });
    await daemon.waitForLog((l) => l.msg === 'notifications: webhooks on', 15_000);
  }, 30_000);
  afterAll(async () => {
    await daemon?.stop();
    await redis.kill().catch(() => undefined);
  });

  test('a rejected rules edit: a signed POST naming the file and line, delivered again after a 500', async () => {
    received.length = 0;
    failNext = 1;
    writeFileSync(path.join(daemon.configDir, 'rules.yaml'), 'deny:\n  - "+1 212 5"\n');
    const hook = await waitFor('rules-rejected');
    expect(hook.event.summary).toMatch(/rules file edit rejected; the last good one stays in force: .*rules\.yaml:2/);
    expect(hook.event.data.problems).toEqual([expect.stringMatching(/rules\.yaml:2:\d+ /)]);
    // the failed attempt and the delivery share one delivery id
    expect(received.map((r) => r.event.type)).toEqual(['failed-attempt', 'rules-rejected']);
    expect(received[0]?.headers['x-callscreen-delivery']).toBe(hook.headers['x-callscreen-delivery']);
    // the signature: HMAC-SHA256 over "<timestamp>.<body>" with the secret from the environment
    const timestamp = String(hook.headers['x-callscreen-timestamp']);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${hook.body}`).digest('hex')}`;
    expect(hook.headers['x-callscreen-signature']).toBe(expected);
    expect(hook.headers['x-callscreen-event']).toBe('rules-rejected');
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    // the rules file is fixed again for the tests below
    writeFileSync(path.join(daemon.configDir, 'rules.yaml'), 'allow: []\ndeny:\n  - "+1 312 555 01XX"\n');
  });

  test('a spam surge on a DID: two denied callers to it within the window', async () => {
    received.length = 0;
    const did = '+12125550460';
    await placeSipCall({ caller: '+13125550101', did, holdMs: 200 });
    await placeSipCall({ caller: '+13125550102', did, holdMs: 200 });
    const hook = await waitFor('spam-surge');
    expect(hook.event).toMatchObject({
      data: { did, calls: 2, windowMinutes: 5 },
      summary: `2 spam calls to ${did} within 5 minutes`,
    });
    // once per DID and window: a third call does not send another
    await placeSipCall({ caller: '+13125550103', did, holdMs: 200 });
    await daemon.screenedLine((l) => (l.caller as { e164?: string }).e164 === '+13125550103');
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((r) => r.event.type === 'spam-surge')).toHaveLength(1);
  });

  test('Redis down for longer than downAfterSeconds: redis-down; back: recovered', async () => {
    received.length = 0;
    await redis.kill();
    const down = await waitFor('redis-down');
    expect(down.event).toMatchObject({ data: { service: 'redis' }, summary: expect.stringMatching(/degraded/) });
    await redis.start();
    const back = await waitFor('recovered', 20_000);
    expect(back.event.data).toMatchObject({ service: 'redis' });
  });
});
