/**
 * AstDB blacklist sync against the test bed's real Asterisk (AMI) and Redis, and the dialplan fallback
 * that reads the family while the daemon is down. Every test file run uses its own AstDB family and
 * Redis key prefix (cstest-...), and the fallback test sets the global CALLSCREEN_BLACKLIST_FAMILY only
 * for as long as it runs, restoring the value it found.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { AsteriskManagerAmi } from '../../src/adapters/ami/asterisk-manager-ami';
import { AmiServices } from '../../src/daemon/ami-services';
import { AsteriskHealthWatcher } from '../../src/daemon/asterisk-health-watcher';
import { AstDbBlacklistSync, type AstDbBlacklistSyncOptions } from '../../src/blacklist/astdb-blacklist-sync';
import { RedisReputationCandidates } from '../../src/adapters/redis/redis-reputation-candidates';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { compileRulesText } from '../../src/config/rules-file';
import { RulesReloader } from '../../src/config/rules-reloader';
import { configSchema } from '../../src/config/schema';
import type { Rule } from '../../src/domain/rule-set';
import { AmiActionError } from '../../src/errors/ami-action-error';
import { AmiDisconnectedError } from '../../src/errors/ami-disconnected-error';
import { createLogger } from '../../src/adapters/logging/pino-logger';
import type { Logger } from '../../src/ports/logger';
import type { AmiConnectionState, AmiPort } from '../../src/ports/ami';
import { CallHarness } from '../../tools/testbed/call-harness';
import { TcpFaultProxy } from '../contract/tcp-fault-proxy';
import { testbedAmiEnv, startDaemon, DEFAULT_TEST_CONFIG, type DaemonProcess } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

const tag = randomBytes(4).toString('hex');
const FAMILY = `cstest-blacklist-${tag}`;
const PREFIX = `cstest-astdb-${tag}:`;

type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

/** A pino logger whose lines land in an array. */
function captureLogger(): { logger: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  const logger = createLogger('debug', { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogRecord) });
  return { logger, lines };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await probe();
    } catch {
      value = undefined;
    }
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${what} not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function waitForConnected(ami: AmiPort, timeoutMs = 90_000): Promise<void> {
  if (ami.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ami.off('state', onState);
      reject(new Error(`AMI stayed ${ami.state}`));
    }, timeoutMs);
    const onState = (change: { state: AmiConnectionState }): void => {
      if (change.state !== 'connected') return;
      clearTimeout(timer);
      ami.off('state', onState);
      resolve();
    };
    ami.on('state', onState);
  });
}

let ami: AsteriskManagerAmi;
let redis: Redis;

/** One AstDB entry of our family, or undefined. */
async function dbGet(key: string, family = FAMILY): Promise<string | undefined> {
  try {
    const { events } = await ami.listAction({ action: 'DBGet', family, key });
    return events.find((e) => e.event === 'DBGetResponse')?.val ?? '';
  } catch (error) {
    if (error instanceof AmiActionError && /not found/i.test(error.responseMessage)) return undefined;
    throw error;
  }
}

/** The whole family: key -> value. */
async function family(name = FAMILY): Promise<Map<string, string>> {
  const { events } = await ami.listAction({ action: 'DBGetTree', family: name });
  const entries = new Map<string, string>();
  for (const e of events)
    if (e.event === 'DBGetTreeResponse' && e.key?.startsWith(`/${name}/`))
      entries.set(e.key.slice(name.length + 2), e.val ?? '');
  return entries;
}

const putByHand = (key: string, value: string, name = FAMILY) =>
  ami.action({ action: 'DBPut', family: name, key, val: value });

async function putReputation(
  entries: Record<string, { score: number; reports?: number; category?: string }>,
  prefix = PREFIX,
): Promise<void> {
  await new RedisReputationStore(redis, prefix).put(
    'test',
    Object.entries(entries).map(([e164, entry]) => ({ e164, reports: 1, ...entry })),
  );
}

/** the whole reputation list (every source) gone */
const clearReputation = () => deleteKeysWithPrefix(redis, `${PREFIX}rep:`);

const rulesOf = (yaml: string): readonly Rule[] => compileRulesText(yaml, 'rules.yaml', 'US').rules;

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  ami = new AsteriskManagerAmi({
    host: testbed.amiHost,
    port: testbed.amiPort,
    username: testbed.amiUser,
    password: testbed.amiPassword,
    connectTimeoutMs: 90_000,
    reconnectMaxDelayMs: 1000,
  });
  ami.on('error', () => undefined); // other suites restart Asterisk now and then
  await ami.start();
}, 120_000);

afterAll(async () => {
  for (const name of [FAMILY, `${FAMILY}-max`, `${FAMILY}-svc`, `${FAMILY}-daemon`, `${FAMILY}-dial`]) {
    await ami.action({ action: 'DBDelTree', family: name }).catch(() => undefined);
  }
  await ami?.close();
  await deleteKeysWithPrefix(redis, 'cstest-astdb-' + tag);
  redis.disconnect();
});

beforeEach(() => waitForConnected(ami), 100_000);

// ---------------------------------------------------------------------------------------------------

describe('AstDbBlacklistSync against the real Asterisk and Redis', () => {
  let rules: readonly Rule[];
  let sync: AstDbBlacklistSync;
  let log: ReturnType<typeof captureLogger>;

  const makeSync = (over: Partial<AstDbBlacklistSyncOptions> = {}): AstDbBlacklistSync =>
    new AstDbBlacklistSync({
      ami,
      reputation: new RedisReputationCandidates(redis, PREFIX),
      rules: () => rules,
      family: FAMILY,
      maxEntries: 100,
      minReputationScore: 0.9,
      intervalMs: 3_600_000,
      defaultRegion: 'US',
      logger: log.logger,
      ...over,
    });

  beforeAll(async () => {
    log = captureLogger();
    await putReputation({ '+12015550301': { score: 0.97, category: 'robocall' }, '+12015550302': { score: 0.5 } });
    rules = rulesOf(`
deny:
  - number: "+1 201 555 0101"
    label: Known scammer
  - "+1 201 555 0102"
  - "+1 900*"
  - range: "+1 347 555 0100 .. +1 347 555 0149"
`);
    sync = makeSync();
  });

  afterAll(async () => {
    await sync?.close();
  });

  test('deny numbers and high-scoring reputation numbers appear in AstDB, in E.164 and national form', async () => {
    const result = await sync.syncNow('test');
    expect(result).toMatchObject({ ok: true, reread: true, desired: 6, put: 6, deleted: 0, failed: 0 });
    expect(result.skipped).toMatchObject({ wildcard: 1, range: 1 });
    expect(await dbGet('+12015550101')).toBe('callscreen: deny Known scammer');
    expect(await dbGet('2015550101')).toBe('callscreen: deny Known scammer');
    expect(await dbGet('+12015550102')).toBe('callscreen: deny +1 201 555 0102');
    expect(await dbGet('2015550301')).toBe('callscreen: reputation 0.97 robocall');
    expect(await dbGet('+12015550302')).toBeUndefined(); // score 0.5 < 0.9
    expect(log.lines.find((l) => l.msg === 'blacklist synced to AstDB')).toMatchObject({
      family: FAMILY,
      entries: 6,
      written: 6,
      skippedDenyRules: { range: 1, wildcard: 1, regex: 0 },
    });
  });

  test('a second run writes nothing', async () => {
    expect(await sync.syncNow('again')).toMatchObject({ ok: true, reread: false, put: 0, deleted: 0 });
  });

  test('removing a deny rule removes its entries; entries added by hand are kept, even on a key callscreen wants', async () => {
    await putByHand('3055550000', 'Ex-partner');
    await putByHand('+12015550199', 'Added by the office manager');
    rules = rulesOf(`
deny:
  - number: "+1 201 555 0101"
    label: Known scammer
  - "+1 201 555 0199"
`);
    const result = await sync.syncNow('rules reloaded');
    // not re-read: the two writes that change something are checked with DBGet first
    expect(result).toMatchObject({ ok: true, reread: false, deleted: 2 });
    expect(result.skipped?.heldByOthers).toBe(1);
    expect(await dbGet('+12015550102')).toBeUndefined();
    expect(await dbGet('2015550102')).toBeUndefined();
    expect(await dbGet('+12015550199')).toBe('Added by the office manager');
    expect(await dbGet('2015550199')).toBe('callscreen: deny +1 201 555 0199');
    expect(await dbGet('3055550000')).toBe('Ex-partner');

    // no rules and no reputation: every callscreen entry goes, the hand-made ones stay
    rules = [];
    await clearReputation();
    await sync.syncNow('emptied', { reread: true });
    expect(Object.fromEntries(await family())).toEqual({
      '3055550000': 'Ex-partner',
      '+12015550199': 'Added by the office manager',
    });
  });

  test('an entry of ours deleted behind its back comes back once the family is read again', async () => {
    rules = rulesOf('deny: ["+1 201 555 0401"]');
    await sync.syncNow('setup');
    await ami.action({ action: 'DBDel', family: FAMILY, key: '2015550401' });
    expect(await sync.syncNow('interval')).toMatchObject({ reread: false, put: 0 }); // the picture in memory says it is there
    expect(await sync.syncNow('Reload', { reread: true })).toMatchObject({ reread: true, put: 1 });
    expect(await dbGet('2015550401')).toBe('callscreen: deny +1 201 555 0401');
  });

  test('maxEntries is respected: deny numbers first, then reputation by score; how many were left out is logged', async () => {
    const maxLog = captureLogger();
    await putReputation({
      '+12015550501': { score: 0.99 },
      '+12015550502': { score: 0.95 },
      '+12015550503': { score: 0.92 },
    });
    rules = rulesOf('deny: ["+1 201 555 0500"]');
    const limited = makeSync({ family: `${FAMILY}-max`, maxEntries: 5, logger: maxLog.logger });
    try {
      const result = await limited.syncNow('test');
      expect(result).toMatchObject({ ok: true, desired: 4, put: 4 });
      expect(result.skipped).toMatchObject({ overLimitNumbers: 2, overLimitEntries: 4 });
      expect([...(await family(`${FAMILY}-max`)).keys()].sort()).toEqual([
        '+12015550500',
        '+12015550501',
        '2015550500',
        '2015550501',
      ]);
      expect(
        maxLog.lines.find((l) => l.msg === 'blacklist sync: maxEntries reached; lower-priority numbers left out'),
      ).toMatchObject({ maxEntries: 5, leftOutNumbers: 2 });
    } finally {
      await limited.close();
      await clearReputation();
    }
  });

  test('an Asterisk Reload event re-reads the family and re-runs the sync; the health watcher checks the Stasis app', async () => {
    const reloadLog = captureLogger();
    rules = rulesOf('deny: ["+1 201 555 0451"]');
    const watched = makeSync({ logger: reloadLog.logger, debounceMs: 50 });
    const health = new AsteriskHealthWatcher({
      ami,
      ari: { listApplications: async () => ['some-other-app'] },
      app: 'callscreen',
      logger: reloadLog.logger,
      graceMs: 0,
      retryMs: 100,
      timeoutMs: 300,
    });
    try {
      expect(await watched.syncNow('setup')).toMatchObject({ ok: true });
      watched.start();
      health.start();
      // pbx_config is the dialplan: reloading it changes nothing for other suites
      await ami.action({ action: 'Command', command: 'module reload pbx_config.so' });
      const rerun = await waitFor(
        'a sync triggered by the Reload event',
        () =>
          reloadLog.lines.find(
            (l) => typeof l.trigger === 'string' && l.trigger.includes('Reload') && l.reread === true,
          ),
        10_000,
      );
      expect(rerun.msg).toMatch(/blacklist (synced to AstDB|in AstDB up to date)/);
      const warned = await waitFor(
        'the health warning',
        () => reloadLog.lines.find((l) => l.msg === 'stasis app not registered after asterisk reload'),
        10_000,
      );
      expect(warned).toMatchObject({
        level: 'warn',
        app: 'callscreen',
        trigger: 'Reload pbx_config.so',
        registered: ['some-other-app'],
      });
    } finally {
      await health.close();
      await watched.close();
    }
  });

  test('AMI not reachable: the run logs, changes nothing and does not throw', async () => {
    const deadLog = captureLogger();
    const closedPort = await freePort();
    const deadAmi = new AsteriskManagerAmi({
      host: '127.0.0.1',
      port: closedPort,
      username: 'x',
      password: 'y',
      connectTimeoutMs: 300,
    });
    const dead = makeSync({ ami: deadAmi, logger: deadLog.logger });
    try {
      await expect(deadAmi.start()).rejects.toThrow();
      dead.start();
      const result = await dead.syncNow('test');
      expect(result).toMatchObject({ ok: false, put: 0 });
      expect(result.error).toMatch(/AMI not connected/);
      expect(
        deadLog.lines.some(
          (l) => l.msg === 'blacklist sync waiting for AMI; AstDB left as it is' && l.level === 'warn',
        ),
      ).toBe(true);
    } finally {
      await dead.close();
      await deadAmi.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('AmiServices: the daemon side (AMI in the background, rules reloads, reconnects)', () => {
  const SVC_FAMILY = `${FAMILY}-svc`;
  const config = (port: number) =>
    configSchema.parse({
      ami: {
        enabled: true,
        host: testbed.amiHost,
        port,
        username: testbed.amiUser,
        password: testbed.amiPassword,
        blacklistSync: { enabled: true, family: SVC_FAMILY },
      },
      redis: { keyPrefix: `${PREFIX}svc:` },
    });

  function rulesFile(yaml: string): { file: string; write(text: string): void } {
    const dir = mkdtempSync(path.join(tmpdir(), 'callscreen-astdb-'));
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, yaml);
    return { file, write: (text) => writeFileSync(file, text) };
  }

  test('AMI at a wrong port: start does not throw or wait, it logs and keeps trying; close ends it', async () => {
    const { logger, lines } = captureLogger();
    const rf = rulesFile('deny: ["+1 201 555 0601"]');
    const rules = new RulesReloader({ file: rf.file, defaultRegion: 'US', logger });
    rules.load();
    const services = AmiServices.start({
      config: config(await freePort()),
      ari: { listApplications: async () => [] },
      redis,
      rules,
      halfLifeDays: () => 30,
      logger,
    });
    // it did not wait: start returned before the first connection attempt failed (observed, not timed)
    expect(lines.find((l) => l.msg === 'AMI not reachable; retrying (screening is not affected)')).toBeUndefined();
    try {
      await waitFor(
        'a retry log line',
        () => lines.find((l) => l.msg === 'AMI not reachable; retrying (screening is not affected)'),
        20_000,
      );
    } finally {
      await services.close();
      await services.close(); // idempotent
      rules.close();
    }
    expect(await dbGet('+12015550601', SVC_FAMILY)).toBeUndefined();
  });

  test('through a proxy: synced once connected, again after a rules reload, and re-read after the connection is cut', async () => {
    const { logger, lines } = captureLogger();
    const proxy = await TcpFaultProxy.start(`http://${testbed.amiHost}:${testbed.amiPort}`);
    const rf = rulesFile('deny: ["+1 201 555 0701", "+1 201 555 0702"]');
    const rules = new RulesReloader({ file: rf.file, defaultRegion: 'US', logger, pollIntervalMs: 100 });
    rules.load();
    rules.start();
    const registered: string[] = ['callscreen'];
    const services = AmiServices.start({
      config: config(proxy.port),
      ari: { listApplications: async () => registered },
      redis,
      rules,
      halfLifeDays: () => 30,
      logger,
    });
    try {
      await waitFor('the first sync', () => dbGet('2015550702', SVC_FAMILY), 20_000);
      expect(await dbGet('+12015550701', SVC_FAMILY)).toBe('callscreen: deny +1 201 555 0701');

      // a rules edit: the reloader's 'reloaded' runs the sync
      rf.write('deny: ["+1 201 555 0701"]\n');
      await waitFor(
        'the removed rule gone',
        async () => ((await dbGet('2015550702', SVC_FAMILY)) === undefined ? true : undefined),
        10_000,
      );
      expect(await dbGet('2015550701', SVC_FAMILY)).toBe('callscreen: deny +1 201 555 0701');

      // cut the connection; meanwhile an entry of ours disappears. The reconnect re-reads the family and puts it back.
      const before = lines.length;
      proxy.reset();
      await ami.action({ action: 'DBDel', family: SVC_FAMILY, key: '+12015550701' });
      await waitFor('the AMI reconnect', () => lines.slice(before).find((l) => l.msg === 'AMI connected'), 20_000);
      await waitFor('the entry restored', () => dbGet('+12015550701', SVC_FAMILY), 10_000);
      expect(
        lines.slice(before).some((l) => l.msg === 'AMI connection lost; reconnecting (screening is not affected)'),
      ).toBe(true);
      // the reconnect also ran the health check (FullyBooted on login): the app is registered
      await waitFor(
        'the health line',
        () => lines.slice(before).find((l) => l.msg === 'asterisk reloaded; stasis app registered'),
        10_000,
      );
    } finally {
      await services.close();
      rules.close();
      await proxy.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('the daemon with ami.blacklistSync enabled', () => {
  let daemon: DaemonProcess | undefined;

  afterAll(async () => {
    await daemon?.stop();
  });

  test('syncs at start and logs the Stasis app check after AMI connects', async () => {
    const fam = `${FAMILY}-daemon`;
    daemon = await startDaemon({
      config: `${DEFAULT_TEST_CONFIG}redis:\n  keyPrefix: "${PREFIX}daemon:"\nami:\n  enabled: true\n  blacklistSync:\n    enabled: true\n    family: ${fam}\n`,
      rules: 'allow: []\ndeny: ["+1 201 555 0801"]\n',
      env: testbedAmiEnv(),
    });
    const synced = await daemon.waitForLog((l) => l.msg === 'blacklist synced to AstDB', 20_000);
    expect(synced).toMatchObject({ family: fam, entries: 2, written: 2 });
    expect(await dbGet('2015550801', fam)).toBe('callscreen: deny +1 201 555 0801');
    await daemon.waitForLog((l) => l.msg === 'asterisk reloaded; stasis app registered', 20_000);
    expect(await daemon.stop()).toBe(0);
    daemon = undefined;
  });
});

// ---------------------------------------------------------------------------------------------------

describe('dialplan fallback with CALLSCREEN_BLACKLIST_FAMILY (daemon not running)', () => {
  const DIAL_FAMILY = `${FAMILY}-dial`;
  let harness: CallHarness;

  beforeAll(async () => {
    harness = await CallHarness.open();
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
  });

  afterEach(async () => {
    await harness.hangupAll(harness.ownsChannel).catch((error: unknown) => {
      if (!(error instanceof AmiDisconnectedError)) throw error;
    });
  });

  /** Sets the global for the body and restores what it was (Asterisk restarts reset it anyway). */
  async function withGlobal(value: string, body: () => Promise<void>): Promise<void> {
    const before =
      (await harness.ami.action({ action: 'Getvar', variable: 'CALLSCREEN_BLACKLIST_FAMILY' })).value ?? '';
    await harness.ami.action({ action: 'Setvar', variable: 'CALLSCREEN_BLACKLIST_FAMILY', value });
    try {
      await body();
    } finally {
      await harness.ami
        .action({ action: 'Setvar', variable: 'CALLSCREEN_BLACKLIST_FAMILY', value: before })
        .catch(() => undefined);
    }
  }

  test('a synced number reaches voicemail, in E.164 and national form; a clean number reaches the agents', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      await harness.waitUntilStasisAppAbsent('callscreen', 100_000);
      // the sync writes the family, as the daemon would before it went down
      const { logger } = captureLogger();
      const sync = new AstDbBlacklistSync({
        ami: harness.ami,
        reputation: { candidates: async () => [] },
        rules: () => rulesOf('deny: ["+1 201 555 0901"]'),
        family: DIAL_FAMILY,
        maxEntries: 10,
        minReputationScore: 0.9,
        intervalMs: 3_600_000,
        defaultRegion: 'US',
        logger,
      });
      expect(await sync.syncNow('test', { reread: true })).toMatchObject({ ok: true, desired: 2 });
      await sync.close();

      await withGlobal(DIAL_FAMILY, async () => {
        for (const caller of ['+12015550901', '2015550901']) {
          const call = await harness.placeCall({ caller, did: '+4930555090' });
          expect(await harness.waitForDestination(call, 10_000)).toBe('voicemail');
          const fallback = await harness.waitForEvent(
            (e) => e.userevent === 'CallscreenFallback' && e.uniqueid === call.screenedUniqueId,
            1000,
          );
          expect(fallback).toMatchObject({ stasisstatus: 'FAILED', callerid: caller, blacklisted: 'yes' });
        }
        const clean = await harness.placeCall({ caller: '+12015550999', did: '+4930555090' });
        expect(await harness.waitForDestination(clean, 10_000)).toBe('agents');
        const fallback = await harness.waitForEvent(
          (e) => e.userevent === 'CallscreenFallback' && e.uniqueid === clean.screenedUniqueId,
          1000,
        );
        expect(fallback).toMatchObject({ blacklisted: 'no' });
        const empty = await harness.placeCall({ caller: '', did: '+4930555090' });
        expect(await harness.waitForDestination(empty, 10_000)).toBe('agents');
      });
    }));

  test('the global empty (the default): no check, a listed number still reaches the agents', () =>
    harness.rerunIfAsteriskInterrupted(async () => {
      await harness.waitUntilStasisAppAbsent('callscreen', 100_000);
      await putByHand('+12015550902', 'callscreen: deny test', DIAL_FAMILY);
      await withGlobal('', async () => {
        const call = await harness.placeCall({ caller: '+12015550902', did: '+4930555091' });
        expect(await harness.waitForDestination(call, 10_000)).toBe('agents');
        const fallback = await harness.waitForEvent(
          (e) => e.userevent === 'CallscreenFallback' && e.uniqueid === call.screenedUniqueId,
          1000,
        );
        expect(fallback).toMatchObject({ blacklisted: 'off' });
      });
    }));
});

/** A loopback port nothing listens on (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
