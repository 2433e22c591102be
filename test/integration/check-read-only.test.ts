/**
 * `callscreen check` is read-only: run through checkCall against a private, empty redis-server, the
 * database is still empty afterwards (no source table key, no caller history), whatever the call.
 * Its output says so ("nothing written") only because it holds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { checkCall, renderCheck } from '../../src/cli/check-command';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const server = new PrivateRedis(16497);
let redis: Redis;
let dir: string;
let loaded: LoadedConfig;

beforeAll(async () => {
  await server.start();
  redis = server.client();
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-check-'));
  writeFileSync(
    path.join(dir, 'callscreen.yaml'),
    `numbers:\n  defaultRegion: US\nredis:\n  url: ${server.url}\n  keyPrefix: "check:"\n`,
  );
  writeFileSync(
    path.join(dir, 'rules.yaml'),
    'allow: []\ndeny:\n  - number: "+1 900*"\n    label: Premium-rate lines\n',
  );
  loaded = loadConfig(path.join(dir, 'callscreen.yaml'), {});
});

afterAll(async () => {
  redis?.disconnect();
  await server.kill();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await redis.flushall();
});

test('a check on an empty database leaves it empty (no source table key, no history)', async () => {
  expect(await redis.dbsize()).toBe(0);
  const result = await checkCall(loaded, { number: '+12125550147', to: '+12125550100' });
  expect(result.redis.status).toBe('consulted');
  expect(renderCheck(result)).toContain('(nothing written)');
  expect(await redis.keys('*')).toEqual([]);
});

test.each([
  ['a withheld caller', { number: 'anonymous' }],
  ['a denied number', { number: '+19005550123' }],
  ['an attested call at a given time', { number: '+12125550147', attest: 'A', at: '2026-11-23T18:30:00Z' }],
  ['a caller ID that is not a number', { number: 'sip:someone@example.com' }],
])('%s: nothing written either', async (_name, options) => {
  await checkCall(loaded, options);
  expect(await redis.keys('*')).toEqual([]);
});

test('checking the same number many times records no call (the next check counts the same)', async () => {
  const first = await checkCall(loaded, { number: '+12125550147' });
  for (let i = 0; i < 5; i++) await checkCall(loaded, { number: '+12125550147' });
  const last = await checkCall(loaded, { number: '+12125550147' });
  expect(last.evaluation.decision.score).toBe(first.evaluation.decision.score);
  expect(await redis.dbsize()).toBe(0);
});
