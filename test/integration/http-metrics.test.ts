/**
 * /healthz, /readyz and /metrics: first the routes on an in-process server (credentials, readiness per
 * state, requests counted), then on the real daemon on a private redis-server, with a call placed on
 * the test bed (run under `flock /tmp/callscreen-testbed.lock`: the daemon registers the Stasis app),
 * Redis stopped and started again, and a bad rules edit.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { HttpServer } from '../../src/http-api/http-server';
import { registerHealthRoutes, type ReadinessState } from '../../src/http-api/health-routes';
import { CallscreenMetrics } from '../../src/http-api/metrics';
import { configSchema } from '../../src/config/schema';
import { CallHarness } from '../../tools/testbed/call-harness';
import { startDaemon, testConfigHeader, type DaemonProcess } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(60_000);

const TOKEN = 'metrics-test-token-4c1d9e77a0';

const get = (base: string, route: string, authorized = false): Promise<Response> =>
  fetch(`${base}${route}`, { headers: authorized ? { authorization: `Bearer ${TOKEN}` } : {} });

/** the value of one series line of the text format, undefined when absent */
function series(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** polls until fn's answer satisfies ok (a state change the daemon makes on its own), or fails after timeoutMs */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the routes (in-process server)', () => {
  const PORT = 18481;
  const base = `http://127.0.0.1:${PORT}`;
  let state: ReadinessState;
  let server: HttpServer;

  beforeAll(async () => {
    const http = configSchema.parse({ http: { enabled: true, port: PORT, auth: { tokenEnv: 'CS_TOKEN' } } }).http;
    server = HttpServer.create(http, { logger: pino({ level: 'silent' }), env: { CS_TOKEN: TOKEN } });
    registerHealthRoutes(server.app, {
      metrics: new CallscreenMetrics({ defaultMetrics: false }),
      readiness: () => state,
    });
    await server.listen();
  });
  beforeEach(() => {
    state = { ari: 'connected', redis: 'ready' };
  });
  afterAll(() => server?.close());

  test('/healthz answers 200 { status: ok } without credentials', async () => {
    const res = await get(base, '/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('/readyz: 200 when the Stasis app is registered and Redis is ready', async () => {
    const res = await get(base, '/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, ari: 'connected', redis: 'ready' });
  });

  test.each([
    [{ ari: 'connected', redis: 'reconnecting' }],
    [{ ari: 'reconnecting', redis: 'ready' }],
    [{ ari: 'connecting', redis: 'connecting' }],
  ])('/readyz: 503 naming the part that is not ready: %j', async (s) => {
    state = s;
    const res = await get(base, '/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, ...s });
  });

  test('/metrics: 401 without credentials, the text format with the bearer token', async () => {
    expect((await get(base, '/metrics')).status).toBe(401);
    const res = await get(base, '/metrics', true);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('# TYPE callscreen_calls_total counter');
  });

  test('requests are counted by route pattern and status; unknown paths as "unmatched"', async () => {
    const before = await (await get(base, '/metrics', true)).text();
    await get(base, '/healthz');
    await get(base, '/no/such/path', true);
    await get(base, '/no/such/other', true);
    const text = await (await get(base, '/metrics', true)).text();
    expect(series(text, 'callscreen_http_requests_total', '{route="/healthz",status="200"}')).toBe(
      (series(before, 'callscreen_http_requests_total', '{route="/healthz",status="200"}') ?? 0) + 1,
    );
    expect(series(text, 'callscreen_http_requests_total', '{route="unmatched",status="404"}')).toBe(2);
    expect(series(text, 'callscreen_http_requests_total', '{route="/metrics",status="401"}')).toBe(1);
  });
});

describe('the daemon', () => {
  const PORT = 18480;
  const base = `http://127.0.0.1:${PORT}`;
  const redis = new PrivateRedis(16480);
  let harness: CallHarness;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    await redis.start();
    harness = await CallHarness.open();
    const config = `${testConfigHeader(`metrics-${randomUUID().slice(0, 8)}:`)}log:\n  level: debug\nhttp:\n  enabled: true\n  port: ${PORT}\n  auth:\n    tokenEnv: CS_METRICS_TOKEN\n`;
    daemon = await startDaemon({ config, env: { CS_METRICS_TOKEN: TOKEN, CALLSCREEN_REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await daemon?.stop();
    await harness?.close();
    await redis.kill();
  });

  test('/healthz 200 without credentials; /metrics 401 without, 200 with the token; the gauges say Redis and ARI are up', async () => {
    expect((await get(base, '/healthz')).status).toBe(200);
    expect((await get(base, '/metrics')).status).toBe(401);
    const res = await get(base, '/metrics', true);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(series(text, 'callscreen_redis_up')).toBe(1);
    expect(series(text, 'callscreen_ari_connected')).toBe(1);
    expect(text).toContain('callscreen_process_cpu_seconds_total');
  });

  test('a screened call is counted by verdict and DID, with its decision time and Redis round trip', async () => {
    const did = '+12125550148';
    const call = await harness.placeCall({ caller: '+13125550199', did });
    expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
    await daemon!.screenedLine((l) => (l.caller as { raw?: string } | undefined)?.raw === '+13125550199');
    const text = await (await get(base, '/metrics', true)).text();
    expect(series(text, 'callscreen_calls_total', `{verdict="allow",did="${did}"}`)).toBe(1);
    expect(series(text, 'callscreen_decision_duration_seconds_count')).toBe(1);
    expect(series(text, 'callscreen_history_duration_seconds_count')).toBe(1);
    expect(series(text, 'callscreen_route_failures_total')).toBe(0);
  });

  test('/readyz: 200, then 503 naming redis while Redis is down, then 200 once it is back', async () => {
    const ready = await get(base, '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, ari: 'connected', redis: 'ready' });

    await redis.kill();
    const down = await until(
      async () => {
        const r = await get(base, '/readyz');
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      },
      (r) => r.status !== 200,
    );
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ ready: false, ari: 'connected' });
    expect(down.body.redis).not.toBe('ready');
    expect(series(await (await get(base, '/metrics', true)).text(), 'callscreen_redis_up')).toBe(0);

    await redis.start();
    const back = await until(
      async () => (await get(base, '/readyz')).status,
      (s) => s === 200,
    );
    expect(back).toBe(200);
    expect(series(await (await get(base, '/metrics', true)).text(), 'callscreen_redis_up')).toBe(1);
  });

  test('a rules edit that is refused counts one rules reload error', async () => {
    const before = daemon!.lines.length;
    writeFileSync(path.join(daemon!.configDir, 'rules.yaml'), 'allow:\n  - "not a number"\n');
    await daemon!.waitForLog(
      (l) => l.msg === 'rules edit rejected; keeping the last good rules' && daemon!.lines.indexOf(l) >= before,
    );
    const text = await (await get(base, '/metrics', true)).text();
    expect(series(text, 'callscreen_rules_reload_errors_total')).toBe(1);
    expect(series(text, 'callscreen_config_reload_errors_total')).toBe(0);
  });
});
