/**
 * A vanished reputation list is loud (issue 12), on a private redis-server without persistence (no
 * Asterisk): a feed is imported, the daemon's source table (with the alarm the daemon wires) sees it,
 * Redis is killed and started again empty; the error line, the gauge, the /readyz warning and
 * `callscreen reputation sources`' loud line follow, and all clear once the feed is imported again.
 */
// fastify's inject loads the cookie package, which jest (CommonJS) cannot load as it ships; these
// requests carry no cookies (as in test/unit/http-cache-headers.test.ts)
jest.mock('cookie', () => ({ stringifySetCookie: () => '' }));

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type Redis from 'ioredis';
import { listSources, writeFeedGeneration } from '../../src/adapters/redis/reputation-import';
import { numberField } from '../../src/adapters/redis/reputation-layout';
import { ReputationSourceTable } from '../../src/adapters/redis/reputation-source-table';
import { renderSources, vanishedSources } from '../../src/cli/import-command';
import { vanishedListAlarm } from '../../src/daemon/vanished-list-alarm';
import { dayOf, encodeFeedEntry, type PackedEntries } from '../../src/domain/reputation-entry';
import { registerHealthRoutes } from '../../src/http-api/health-routes';
import { CallscreenMetrics } from '../../src/http-api/metrics';
import { captureLogger } from '../support/fakes';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const PREFIX = 'vanished:';
const NUMBERS = ['+18336317911', '+12125550147', '+13125550199'];

function feed(): PackedEntries {
  const day = dayOf(Date.now());
  const map = new Map<number, string>(
    NUMBERS.map((e164) => [
      Number(numberField(e164)),
      encodeFeedEntry({ score: 90, reports: 3, category: 0, firstDay: day - 3, lastDay: day }),
    ]),
  );
  return { size: map.size, get: (key) => map.get(key), forEach: (fn) => map.forEach((value, key) => fn(key, value)) };
}

async function until<T>(read: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const redis = new PrivateRedis(16494);
let client: Redis;
let dir: string;
let app: FastifyInstance;
let table: ReputationSourceTable | undefined;

beforeAll(async () => {
  await redis.start();
  client = redis.client();
  client.on('error', () => undefined);
  dir = mkdtempSync(path.join(tmpdir(), 'cs-vanished-'));
});
afterAll(async () => {
  table?.close();
  await app?.close();
  client?.disconnect();
  await redis.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('Redis restarted without persistence: an error line, the gauge, a /readyz warning and the CLI say the list vanished; a re-import clears them', async () => {
  const configFile = path.join(dir, 'callscreen.yaml');
  const { logger, at } = captureLogger();
  const metrics = new CallscreenMetrics({ defaultMetrics: false });
  const alarm = vanishedListAlarm({ file: configFile }, logger, metrics);
  app = Fastify();
  registerHealthRoutes(app, {
    metrics,
    readiness: () => ({ ari: 'connected', redis: client.status, warnings: alarm.warnings() }),
  });
  const gauge = async () =>
    (await metrics.registry.getSingleMetric('callscreen_reputation_source_vanished')!.get()).values.find(
      (v) => v.labels.source === 'robocall',
    )?.value;
  const readyz = async () => {
    const res = await app.inject({ url: '/readyz' });
    return { status: res.statusCode, body: res.json<{ ready: boolean; warnings?: string[] }>() };
  };

  await writeFeedGeneration(client, PREFIX, {
    source: 'robocall',
    origin: 'robocall.csv',
    entries: feed(),
    categories: [],
  });
  table = new ReputationSourceTable(client, PREFIX, logger, { watch: alarm.watch });
  table.start(100);
  await until(
    () => table!.sources(),
    (s) => s.some((r) => r.name === 'robocall'),
  );
  expect((await readyz()).body).toEqual({ ready: true, ari: 'connected', redis: 'ready' });

  await redis.kill();
  await redis.start(); // empty: no RDB, no AOF

  const error = await until(
    () => at('error'),
    (lines) => lines.length > 0,
  );
  expect(error).toHaveLength(1);
  expect(error[0]).toMatchObject({ source: 'robocall', kind: 'feed', entries: 3, reason: 'table-gone' });
  expect(error[0]!.msg).toMatch(/^reputation list vanished: robocall \(feed, had 3 numbers\)/);
  expect(await gauge()).toBe(1);
  const ready = await until(readyz, (r) => r.body.ready);
  expect(ready.status).toBe(200);
  expect(ready.body.warnings).toEqual([
    'reputation list vanished: robocall (feed, had 3 numbers): the source table is gone (Redis lost its data)',
  ]);
  // what `callscreen reputation sources` prints, from the daemon's state file and the table as it is now
  const { sources } = await listSources(client, PREFIX);
  const listing = renderSources(sources, vanishedSources(configFile, sources));
  expect(listing.split('\n')[0]).toMatch(/^REPUTATION LIST VANISHED: robocall \(feed, had 3 numbers\)/);

  // a few more reads: still one error line (once per incident, not every second)
  const reads = at('info').length;
  await new Promise((r) => setTimeout(r, 500));
  expect(at('error')).toHaveLength(1);
  expect(at('info').length).toBe(reads);

  await writeFeedGeneration(client, PREFIX, {
    source: 'robocall',
    origin: 'robocall.csv',
    entries: feed(),
    categories: [],
  });
  await until(
    () => alarm.warnings(),
    (w) => w.length === 0,
  );
  expect(await gauge()).toBe(0);
  expect((await readyz()).body).toEqual({ ready: true, ari: 'connected', redis: 'ready' });
  expect(at('info').map((l) => l.msg)).toContain('reputation source robocall is back');
  const after = await listSources(client, PREFIX);
  expect(renderSources(after.sources, vanishedSources(configFile, after.sources))).not.toMatch(/VANISHED/);
});
