import { mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ConfigReloader, RESTART_SECTIONS } from '../../src/config/config-reloader';
import { loadConfig, loadConfigText, type LoadedConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/errors/config-error';
import { twoLooksAt } from '../support/reloader-looks';

jest.setTimeout(15_000);

/** An edit must take effect within this long, without a restart. */
const TAKES_EFFECT_MS = 2000;

const BASE = `numbers:
  defaultRegion: US
redis:
  url: redis://127.0.0.1:6379
screening:
  deadlineMs: 200
  timeZone: UTC
`;
const ROLLOUT = `policies:
  - name: rollout
    dids: ["+1 646 555 0123"]
    shadow: true
`;
const AFTER_HOURS = `  - name: after-hours
    when: [{ from: "18:00", to: "08:00" }]
    verdicts: { challenge: voicemail }
`;
/** line 12: a typo in a key */
const BAD = `${BASE}${ROLLOUT}    shadoww: true
`;

interface LogLine {
  level: number;
  msg: string;
  config?: string;
  policies?: number;
  sections?: string[];
  problems?: string[];
}

let dir: string;
let file: string;
let reloader: ConfigReloader | undefined;
let lines: LogLine[];

function memoryLogger(): pino.Logger {
  lines = [];
  return pino(
    { level: 'info', base: null },
    { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) },
  );
}

function startReloader(text: string, env: NodeJS.ProcessEnv = {}): ConfigReloader {
  writeFileSync(file, text);
  const loaded = loadConfig(file, env);
  reloader = new ConfigReloader({ loaded, env, displayName: 'callscreen.yaml', logger: memoryLogger() });
  reloader.start();
  return reloader;
}

async function waitFor(what: string, condition: () => boolean, withinMs = TAKES_EFFECT_MS): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs)
      throw new Error(`not within ${withinMs} ms: ${what}; log: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

const logged = (msg: string) => lines.filter((l) => l.msg === msg);
const policyNames = (loaded: LoadedConfig) => loaded.screening.policies.map((p) => p.config.name);
const RELOADED = 'screening settings reloaded';
const REJECTED = 'configuration edit rejected; keeping the last good settings';
const RESTART = 'configuration changed that needs a restart; keeping the running values';

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-config-reload-'));
  file = path.join(dir, 'callscreen.yaml');
});

afterEach(() => {
  reloader?.close();
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('ConfigReloader: screening settings take effect without a restart', () => {
  test('a policy added to callscreen.yaml is in force within 2 s', async () => {
    const r = startReloader(BASE);
    expect(policyNames(r.current())).toEqual([]);
    writeFileSync(file, `${BASE}${ROLLOUT}`);
    await waitFor('the policy in force', () => policyNames(r.current()).length === 1);
    const policy = r.current().screening.policies[0];
    expect(policy?.config).toMatchObject({ name: 'rollout', shadow: true });
    expect([...(policy?.dids ?? [])]).toEqual(['+16465550123']);
    expect(logged(RELOADED)).toEqual([expect.objectContaining({ level: 30, config: 'callscreen.yaml', policies: 1 })]);
    expect(logged(RESTART)).toHaveLength(0);
  });

  test('a second policy, saved by renaming over the file, and a changed screening default', async () => {
    const r = startReloader(`${BASE}${ROLLOUT}`);
    writeFileSync(`${file}.tmp`, `${BASE.replace('deadlineMs: 200', 'deadlineMs: 350')}${ROLLOUT}${AFTER_HOURS}`);
    renameSync(`${file}.tmp`, file);
    await waitFor('both policies in force', () => policyNames(r.current()).length === 2);
    expect(policyNames(r.current())).toEqual(['rollout', 'after-hours']);
    expect(r.current().screening.policies[1]?.timeZone).toBe('UTC');
    expect(r.current().config.screening.deadlineMs).toBe(350);
    expect(r.current().screening.base.deadlineMs).toBe(350);
  });

  test('the configuration in force is frozen, and the reloaded event carries it', async () => {
    const r = startReloader(BASE);
    const reloaded = new Promise<LoadedConfig>((resolve) => r.on('reloaded', resolve));
    writeFileSync(file, `${BASE}${ROLLOUT}`);
    const loaded = await reloaded;
    expect(loaded).toBe(r.current());
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.config.policies[0])).toBe(true);
    expect(Object.isFrozen(loaded.screening)).toBe(true);
  });

  test('the file it started with is not reloaded; touching it does not reload either', async () => {
    const r = startReloader(`${BASE}${ROLLOUT}`);
    const initial = r.current();
    await twoLooksAt(file); // the first look reads the file once and finds the content in force
    expect(r.current()).toBe(initial);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    await twoLooksAt(file); // and a look after the touch
    expect(r.current()).toBe(initial);
    expect(lines).toEqual([]);
  });

  test("each look at the file ends with 'checked', after the 'reloaded' it caused", async () => {
    const r = startReloader(BASE);
    const events: string[] = [];
    r.on('reloaded', () => events.push('reloaded'));
    r.on('checked', (looked) => events.push(`checked ${path.basename(looked)}`));
    writeFileSync(file, `${BASE}${ROLLOUT}`);
    await waitFor('the policy in force', () => events.includes('reloaded'));
    await waitFor('the look that reloaded it finished', () => events.length > events.indexOf('reloaded') + 1);
    expect(events.slice(events.indexOf('reloaded'))).toEqual(['reloaded', 'checked callscreen.yaml']);
    await waitFor('the next poll', () => events.length > events.indexOf('reloaded') + 2);
    expect(events.slice(events.indexOf('reloaded') + 1).every((e) => e === 'checked callscreen.yaml')).toBe(true);
  });

  test('a configuration made without the text hash takes the file as it is at start as the one in force', async () => {
    writeFileSync(file, BASE);
    const { textHash: _dropped, ...loaded } = loadConfig(file, {});
    reloader = new ConfigReloader({ loaded, env: {}, displayName: 'callscreen.yaml', logger: memoryLogger() });
    reloader.start();
    await twoLooksAt(file);
    expect(reloader.current()).toBe(loaded);
    expect(lines).toEqual([]);
    writeFileSync(file, `${BASE}${ROLLOUT}`);
    const r = reloader;
    await waitFor('the policy in force', () => policyNames(r.current()).length === 1);
  });
});

describe('ConfigReloader: a bad edit keeps the last good settings', () => {
  test('rejected once with file:line:col, lastError set; a good edit clears it', async () => {
    const r = startReloader(`${BASE}${ROLLOUT}`);
    const good = r.current();
    const rejected = jest.fn();
    r.on('rejected', rejected);

    writeFileSync(file, BAD);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(r.current()).toBe(good);
    expect(r.lastError).toBeInstanceOf(ConfigError);
    expect(r.lastError?.problems).toEqual([
      expect.objectContaining({
        file: 'callscreen.yaml',
        line: 12,
        column: 5,
        reason: expect.stringMatching(/unknown key "shadoww"/),
      }),
    ]);

    // the poll goes on and the same bad content is touched again: still one log line, one event
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    await twoLooksAt(file);
    const warnings = logged(REJECTED);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      config: 'callscreen.yaml',
      problems: [expect.stringMatching(/^callscreen\.yaml:12:5 unknown key "shadoww"/)],
    });
    expect(rejected).toHaveBeenCalledTimes(1);

    writeFileSync(file, `${BASE}${ROLLOUT}${AFTER_HOURS}`);
    await waitFor('the fixed file in force', () => policyNames(r.current()).length === 2);
    expect(r.lastError).toBeUndefined();
  });

  test('a policy problem found when compiling (a DID that is not one) is located too', async () => {
    const r = startReloader(BASE);
    writeFileSync(file, `${BASE}${ROLLOUT.replace('"+1 646 555 0123"', '"+1 646 555 0123", "sales-line"')}`);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(logged(REJECTED)).toEqual([
      expect.objectContaining({
        problems: [
          expect.stringMatching(/^callscreen\.yaml:10:31 policies\.0\.dids\.1: "sales-line" is neither a DID group/),
        ],
      }),
    ]);
    expect(policyNames(r.current())).toEqual([]);
  });

  test('YAML that does not parse, then back to the settings in force: lastError cleared without a reload', async () => {
    const r = startReloader(BASE);
    const good = r.current();
    writeFileSync(file, `${BASE}policies: [\n`);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(r.lastError?.problems[0]?.line).toBeGreaterThan(0);
    writeFileSync(file, BASE);
    await waitFor('lastError cleared', () => r.lastError === undefined);
    expect(r.current()).toBe(good);
    expect(logged(RELOADED)).toHaveLength(0);
  });

  test('a deleted file keeps the settings in force, and is logged', async () => {
    const r = startReloader(BASE);
    const good = r.current();
    unlinkSync(file);
    await waitFor('the deletion noticed', () => r.lastError !== undefined);
    expect(r.current()).toBe(good);
    expect(logged(REJECTED)).toEqual([
      expect.objectContaining({ problems: [expect.stringMatching(/^callscreen\.yaml: file not found/)] }),
    ]);
  });
});

describe('ConfigReloader: sections that need a restart', () => {
  test('every section but screening, didGroups, policies, captcha and tags', () => {
    expect([...RESTART_SECTIONS].sort()).toEqual(
      [
        'ami',
        'ari',
        'callLog',
        'feedback',
        'feeds',
        'http',
        'knownCustomers',
        'log',
        'notifications',
        'lookups',
        'numbers',
        'redis',
        'routing',
        'rules',
      ].sort(),
    );
  });

  test('a new redis.url is not applied and the warning names redis; the screening change in the same edit is', async () => {
    const r = startReloader(BASE);
    writeFileSync(file, `${BASE.replace('redis://127.0.0.1:6379', 'redis://cache.internal:6380')}${ROLLOUT}`);
    await waitFor('the policy in force', () => policyNames(r.current()).length === 1);
    expect(r.current().config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(logged(RESTART)).toEqual([
      expect.objectContaining({ level: 40, config: 'callscreen.yaml', sections: ['redis'] }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/cache\.internal/);

    // a later policy edit while the change still waits for a restart: not warned again
    writeFileSync(
      file,
      `${BASE.replace('redis://127.0.0.1:6379', 'redis://cache.internal:6380')}${ROLLOUT}${AFTER_HOURS}`,
    );
    await waitFor('the second policy in force', () => policyNames(r.current()).length === 2);
    expect(logged(RESTART)).toHaveLength(1);
    expect(r.current().config.redis.url).toBe('redis://127.0.0.1:6379');

    // another change that needs a restart: warned, naming everything still waiting
    writeFileSync(
      file,
      `${BASE.replace('redis://127.0.0.1:6379', 'redis://cache.internal:6380')}routing:\n  agents: { context: other-agents }\n${ROLLOUT}`,
    );
    await waitFor('the second warning', () => logged(RESTART).length === 2);
    expect(logged(RESTART)[1]).toMatchObject({ sections: ['redis', 'routing'] });
    expect(r.current().config.routing.agents.context).toBe('callscreen-agents');
    expect(policyNames(r.current())).toEqual(['rollout']);
  });

  test('a new numbers.defaultRegion is not applied: the policies are compiled with the running region', async () => {
    const r = startReloader(BASE);
    writeFileSync(
      file,
      `${BASE.replace('defaultRegion: US', 'defaultRegion: GB')}policies:\n  - name: local\n    dids: ["(646) 555-0123"]\n`,
    );
    await waitFor('the policy in force', () => policyNames(r.current()).length === 1);
    expect(r.current().config.numbers.defaultRegion).toBe('US');
    expect(r.current().screening.defaultRegion).toBe('US');
    expect([...(r.current().screening.policies[0]?.dids ?? [])]).toEqual(['+16465550123']);
    expect(logged(RESTART)).toEqual([expect.objectContaining({ sections: ['numbers'] })]);
  });

  test('an invalid value in a section that needs a restart still rejects the edit', async () => {
    const r = startReloader(BASE);
    writeFileSync(file, `${BASE.replace('redis://127.0.0.1:6379', 'http://cache:6379')}${ROLLOUT}`);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(r.lastError?.problems).toEqual([
      expect.objectContaining({ line: 4, reason: expect.stringMatching(/redis\.url: must start with redis:\/\//) }),
    ]);
    expect(policyNames(r.current())).toEqual([]);
    expect(logged(RESTART)).toHaveLength(0);
  });

  test('environment overrides still apply after a reload', async () => {
    const env = { CALLSCREEN_REDIS_URL: 'redis://from-env:6379', CALLSCREEN_ARI_PASSWORD: 's3cret' };
    const r = startReloader(BASE, env);
    expect(r.current().config.redis.url).toBe('redis://from-env:6379');
    // the file's redis.url changes too: the override wins, as at start, so nothing waits for a restart
    writeFileSync(file, `${BASE.replace('redis://127.0.0.1:6379', 'redis://elsewhere:6379')}${ROLLOUT}`);
    await waitFor('the policy in force', () => policyNames(r.current()).length === 1);
    expect(r.current().config.redis.url).toBe('redis://from-env:6379');
    expect(r.current().config.ari.password).toBe('s3cret');
    expect(logged(RESTART)).toHaveLength(0);
  });
});

describe('ConfigReloader: lifecycle', () => {
  test("watching holds nothing open: its timers are unref'd and its watcher not persistent", () => {
    writeFileSync(file, BASE);
    const loaded = loadConfig(file, {});
    const before = process.getActiveResourcesInfo().sort();
    reloader = new ConfigReloader({ loaded, env: {}, logger: memoryLogger() });
    reloader.start();
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
  });

  test('close() is idempotent, and nothing is reloaded after it', async () => {
    const r = startReloader(BASE);
    const looks = jest.fn();
    r.on('checked', looks);
    r.close();
    r.close();
    // a twin on the same file, still open: once it has reloaded the edit, the closed one would have too
    const twin = new ConfigReloader({ loaded: loadConfig(file, {}), env: {}, logger: pino({ level: 'silent' }) });
    twin.start();
    try {
      writeFileSync(file, `${BASE}${ROLLOUT}`);
      await waitFor('the twin reloaded', () => policyNames(twin.current()).length === 1);
      await twoLooksAt(file);
    } finally {
      twin.close();
    }
    expect(policyNames(r.current())).toEqual([]);
    expect(looks).not.toHaveBeenCalled();
    r.start(); // after close: does nothing
    expect(lines).toHaveLength(0);
  });

  test('problems name the file by its path unless given a display name', async () => {
    writeFileSync(file, BASE);
    reloader = new ConfigReloader({ loaded: loadConfig(file, {}), env: {}, logger: memoryLogger() });
    reloader.start();
    writeFileSync(file, `${BASE}policies: 3\n`);
    const r = reloader;
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(r.lastError?.problems[0]?.file).toBe(file);
  });
});

describe('loadConfigText', () => {
  test('gives what loadConfig gives for the same text', () => {
    writeFileSync(file, `${BASE}${ROLLOUT}`);
    const fromFile = loadConfig(file, { CALLSCREEN_REDIS_URL: 'redis://x:1' });
    const fromText = loadConfigText(`${BASE}${ROLLOUT}`, file, { CALLSCREEN_REDIS_URL: 'redis://x:1' });
    expect(fromText).toEqual(fromFile);
  });

  test('keep: the named sections come from the running configuration', () => {
    const running = loadConfigText(BASE, 'callscreen.yaml', {});
    const edited = loadConfigText(
      `${BASE.replace('defaultRegion: US', 'defaultRegion: CH')}${ROLLOUT}`,
      'callscreen.yaml',
      {},
      { keep: { config: running.config, sections: ['numbers'] } },
    );
    expect(edited.config.numbers).toBe(running.config.numbers);
    expect(edited.screening.defaultRegion).toBe('US');
    expect(edited.config.policies).toHaveLength(1);
  });
});
