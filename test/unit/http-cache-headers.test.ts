/**
 * Cache-Control on the daemon's HTTP server, through fastify's inject (no network): every answer of
 * the API is `no-store` (it holds callers' numbers) however its path is spelled, as long as the
 * router takes it for an API route; the page and other routes get `no-cache` unless they set their own.
 */
import pino from 'pino';

// fastify's inject loads the cookie package, which jest (CommonJS) cannot load as it ships; these
// requests carry no cookies, so the one function inject takes from it is never called
jest.mock('cookie', () => ({ stringifySetCookie: () => '' }));

import { configSchema } from '../../src/config/schema';
import { HttpServer } from '../../src/http-api/http-server';

const TOKEN = 'cache-header-token-5f2a9c1e7b';
const auth = { authorization: `Bearer ${TOKEN}` };

let server: HttpServer;

beforeAll(async () => {
  const settings = configSchema.parse({ http: { enabled: true, auth: { tokens: [TOKEN] } } }).http;
  server = HttpServer.create(settings, { logger: pino({ level: 'silent' }), env: {} });
  server.app.get('/api/v1/calls', async () => ({ calls: [{ caller: '+12125550147' }], more: false }));
  server.app.get<{ Params: { id: string } }>('/api/v1/calls/:id', async (request) => ({ id: request.params.id }));
  server.app.get('/', async (_request, reply) => reply.type('text/html').send('<!doctype html>'));
  server.app.get('/healthz', { config: { public: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  );
  await server.app.ready();
});

afterAll(async () => {
  await server.close();
});

async function cacheControl(url: string): Promise<{ status: number; cacheControl: unknown }> {
  const response = await server.app.inject({ method: 'GET', url, headers: auth });
  return { status: response.statusCode, cacheControl: response.headers['cache-control'] };
}

describe('Cache-Control', () => {
  test('an API answer is no-store', async () => {
    expect(await cacheControl('/api/v1/calls?since=2h')).toEqual({ status: 200, cacheControl: 'no-store' });
    expect(await cacheControl('/api/v1/calls/1700000000000-0')).toEqual({ status: 200, cacheControl: 'no-store' });
  });

  test.each(['/%61pi/v1/calls', '/%61%70%69/v1/calls', '/api/v1/%63alls', '/%61pi/v1/calls/1700000000000-0'])(
    'an API answer reached through the percent-encoded path %s is no-store too',
    async (url) => {
      expect(await cacheControl(url)).toEqual({ status: 200, cacheControl: 'no-store' });
    },
  );

  test('an API path that matches no route is no-store as well (decided on the decoded path)', async () => {
    expect(await cacheControl('/%61pi/v1/nothing-here')).toEqual({ status: 404, cacheControl: 'no-store' });
    expect(await cacheControl('/api/v1/nothing-here')).toEqual({ status: 404, cacheControl: 'no-store' });
  });

  test('a 401 on an encoded API path is no-store', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/%61pi/v1/calls' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  test('the page is no-cache, and a route that sets its own Cache-Control keeps it', async () => {
    expect(await cacheControl('/')).toEqual({ status: 200, cacheControl: 'no-cache' });
    expect(await cacheControl('/healthz')).toEqual({ status: 200, cacheControl: 'no-store' });
  });

  test('a path that does not decode (a lone %) gets a 400 with the security headers, no-store under /api', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/%zz', headers: auth });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'bad-request' });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect((await cacheControl('/%zz')).cacheControl).toBe('no-cache');
  });

  test('a path parameter too long for the router gets a 414 with the security headers, no-store under /api', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: `/%61pi/v1/calls/${'1'.repeat(200)}`,
      headers: auth,
    });
    expect(response.statusCode).toBe(414);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  });
});
