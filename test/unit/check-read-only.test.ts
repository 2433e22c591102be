/**
 * `callscreen check` writes nothing to Redis: checkCall runs on a Redis client that records every
 * command and answers like an empty database. Only reads may go out (the history script goes out in
 * its check mode, which writes nothing; test/integration/check-read-only.test.ts runs it on a real
 * empty Redis and counts the keys).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkCall } from '../../src/cli/check-command';
import { loadConfig } from '../../src/config/load-config';
import { CALLER_HISTORY_COMMAND } from '../../src/adapters/redis/caller-history-script';

/** every command the code under test sent, name and arguments */
const sent: { name: string; args: unknown[] }[] = [];

/** commands that only read (or manage the connection): anything else is a write */
const READ_ONLY = new Set(['on', 'off', 'once', 'connect', 'quit', 'disconnect', 'defineCommand', 'hgetall', 'hget']);

/** An ioredis client as far as check uses it, answering like an empty database. */
function emptyDatabaseClient(): unknown {
  const answers: Record<string, (...args: unknown[]) => unknown> = {
    connect: async () => undefined,
    quit: async () => 'OK',
    hgetall: async () => ({}),
    hget: async () => null,
    hsetnx: async () => 1,
    // the history script: an empty database has no history (nil scores, no calls in any window)
    [CALLER_HISTORY_COMMAND]: async () => {
      throw new Error('no script in this fake: the decision goes on without history');
    },
  };
  const client: Record<string | symbol, unknown> = {};
  return new Proxy(client, {
    get(target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined;
      if (name === 'status') return 'ready';
      if (name === 'isCluster') return false;
      return (...args: unknown[]) => {
        sent.push({ name, args });
        return answers[name]?.(...args) ?? target;
      };
    },
  });
}

jest.mock('../../src/adapters/redis/redis-connection', () => ({
  ...jest.requireActual('../../src/adapters/redis/redis-connection'),
  createRedisClient: () => emptyDatabaseClient(),
}));

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-check-'));
  writeFileSync(path.join(dir, 'callscreen.yaml'), 'numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "check:"\n');
  writeFileSync(path.join(dir, 'rules.yaml'), 'allow: []\ndeny: []\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  sent.length = 0;
});

describe('callscreen check on an empty database', () => {
  test('sends no write: the missing feedback source record is assumed, not created', async () => {
    const result = await checkCall(loadConfig(path.join(dir, 'callscreen.yaml'), {}), { number: '+12125550147' });
    expect(result.evaluation.decision.caller).toMatchObject({ kind: 'e164', e164: '+12125550147' });
    expect(sent.map((c) => c.name)).toContain('hgetall'); // the source table was read
    const writes = sent.filter((c) => !READ_ONLY.has(c.name) && c.name !== CALLER_HISTORY_COMMAND);
    expect(writes).toEqual([]);
  });

  test('the history script goes out in its check mode (record nothing)', async () => {
    await checkCall(loadConfig(path.join(dir, 'callscreen.yaml'), {}), { number: '+12125550147' });
    const script = sent.find((c) => c.name === CALLER_HISTORY_COMMAND);
    expect(script).toBeDefined(); // the default signals need the caller's history
    const args = script?.args[0] as string[];
    const keyCount = Number(args[0]);
    const mode = args[keyCount + 4] as string; // numberOfKeys, KEYS..., then field, at, member, mode
    expect(mode[0]).toBe('0');
  });
});

describe('callscreen check takes every identity fact a call can carry', () => {
  const check = (options: Omit<Parameters<typeof checkCall>[1], 'number'> & { number: string }) =>
    checkCall(loadConfig(path.join(dir, 'callscreen.yaml'), {}), options);

  test('--pai is the number screened; NUMBER is then the From header (anonymous names no number)', async () => {
    const asserted = await check({ number: 'anonymous', pai: '+1 212 555 0147' });
    expect(asserted.evaluation.decision.caller).toMatchObject({ kind: 'e164', e164: '+12125550147' });
    expect(asserted.evaluation.decision.reasons.map((r) => r.code)).not.toContain('caller.identity-mismatch');
    const other = await check({ number: '+1 212 555 0000', pai: '+1 212 555 0147' });
    expect(other.evaluation.decision.reasons.map((r) => r.code)).toContain('caller.identity-mismatch');
  });

  test('--pai and --from together are refused, naming the option', async () => {
    await expect(check({ number: '+12125550147', pai: '+12125550148', from: '+12125550149' })).rejects.toThrow(
      /--pai.*not both/,
    );
  });

  test('--privacy is read as a Privacy header; anything else is refused', async () => {
    expect((await check({ number: '+12125550147', privacy: 'id;critical' })).privacy).toBe('id');
    expect((await check({ number: '+12125550147', privacy: 'none' })).privacy).toBe('none');
    await expect(check({ number: '+12125550147', privacy: 'secret' })).rejects.toThrow(/--privacy/);
  });

  test('--name reaches the decision as the caller name', async () => {
    const result = await check({ number: '+12125550147', name: 'Jane Doe' });
    expect(result.name).toBe('Jane Doe');
  });
});
