/**
 * The review console's rules view with contacts sources in force: the admin file lists only rules.yaml's
 * rules and shows no contacts source's problem as its own (the sources are not listed as files there yet;
 * the last reload error names it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';

// fastify's inject loads the cookie package, which jest (CommonJS) cannot load as it ships; these
// requests carry no cookies (as in http-cache-headers.test.ts)
jest.mock('cookie', () => ({ stringifySetCookie: () => '' }));

import { contactsFolderPath } from '../../src/config/contacts-folder';
import { loadConfig } from '../../src/config/load-config';
import { RulesReloader } from '../../src/config/rules-reloader';
import type { CallLogReader } from '../../src/ports/call-log';
import { registerConsoleRoutes } from '../../src/http-api/console-routes';
import { HttpServer } from '../../src/http-api/http-server';
import { configSchema } from '../../src/config/schema';
import type { ManagedAllowList } from '../../src/reputation/managed-allow-list';

const TOKEN = 'contacts-console-token-5d1f7b';
let dir: string;
let server: HttpServer;
let reloader: RulesReloader;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-contacts-console-'));
  writeFileSync(path.join(dir, 'callscreen.yaml'), 'numbers:\n  defaultRegion: US\n');
  writeFileSync(path.join(dir, 'rules.yaml'), 'allow:\n  - "+12125550147"\ndeny: []\n');
  mkdirSync(path.join(dir, 'contacts'));
  writeFileSync(
    path.join(dir, 'contacts', 'crm.yaml'),
    'allow:\n  - number: "+41446681800"\n    label: "contact: ACME Corp"\n',
  );
  const loaded = loadConfig(path.join(dir, 'callscreen.yaml'), {});
  reloader = new RulesReloader({
    file: loaded.rulesFile,
    contactsFolder: contactsFolderPath(loaded),
    defaultRegion: 'US',
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 50,
  });
  reloader.load();
  reloader.start();
  const settings = configSchema.parse({ http: { enabled: true, auth: { tokens: [TOKEN] } } }).http;
  server = HttpServer.create(settings, { logger: pino({ level: 'silent' }), env: {} });
  registerConsoleRoutes(server.app, {
    loaded,
    list: {} as ManagedAllowList,
    rules: reloader,
    logger: pino({ level: 'silent' }),
    log: {} as CallLogReader,
    assets: { index: { type: 'text/html', body: Buffer.from('') }, assets: new Map(), dir: '' },
  });
  await server.app.ready();
});

afterAll(async () => {
  reloader.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("GET /api/v1/rules: the admin file holds rules.yaml's rules only, not the contacts source's", async () => {
  expect(reloader.current().rules).toHaveLength(2);
  const response = await server.app.inject({
    method: 'GET',
    url: '/api/v1/rules',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.statusCode).toBe(200);
  const body = response.json<{ files: Array<{ kind: string; rules: Array<{ pattern: string }>; error: unknown }> }>();
  const admin = body.files.find((f) => f.kind === 'admin');
  expect(admin?.rules.map((r) => r.pattern)).toEqual(['+12125550147']);
  expect(admin?.error).toBeNull();
});

test("a broken contacts source is not shown as the admin file's problem", async () => {
  writeFileSync(path.join(dir, 'contacts', 'crm.yaml'), 'allow:\n  - number: "12"\n');
  for (let waited = 0; reloader.lastError === undefined; waited += 20) {
    if (waited > 3000) throw new Error('the broken source was not rejected');
    await new Promise((r) => setTimeout(r, 20));
  }
  const response = await server.app.inject({
    method: 'GET',
    url: '/api/v1/rules',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = response.json<{ files: Array<{ kind: string; error: unknown }>; lastReloadError: string | null }>();
  expect(body.files.find((f) => f.kind === 'admin')?.error).toBeNull();
  expect(body.lastReloadError).toMatch(/crm\.yaml:2:13 /);
});
