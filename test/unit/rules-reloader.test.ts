import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RulesReloader } from '../../src/config/rules-reloader';
import type { RuleSet } from '../../src/domain/rule-set';
import { ConfigError } from '../../src/errors/config-error';
import { twoLooksAt } from '../support/reloader-looks';

jest.setTimeout(15_000);

/** An edit must take effect within this long, without a restart. */
const TAKES_EFFECT_MS = 2000;

const V1 = 'allow:\n  - "+1 212 555 0147"\ndeny:\n  - "+1 900*"\n';
const V2 = 'allow:\n  - "+1 212 555 0147"\n  - "+41 44 668 18 00"\ndeny:\n  - "+1 900*"\n';
const V3 = 'deny:\n  - "+1 201 555 0123"\n';
const BAD = 'allow:\n  - "+1 212 555 0147"\n  - "call me maybe"\ndeny:\n  - regex: "(a|aa)*"\n';

interface LogLine {
  level: number;
  msg: string;
  rulesFile?: string;
  rules?: number;
  allow?: number;
  deny?: number;
  problems?: string[];
}

let dir: string;
let reloader: RulesReloader | undefined;
let lines: LogLine[];

function memoryLogger(): pino.Logger {
  lines = [];
  return pino(
    { level: 'info', base: null },
    { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) },
  );
}

function startReloader(file: string, text?: string): RulesReloader {
  if (text !== undefined) writeFileSync(file, text);
  reloader = new RulesReloader({ file, displayName: 'rules.yaml', defaultRegion: 'US', logger: memoryLogger() });
  reloader.load();
  reloader.start();
  return reloader;
}

async function waitFor(what: string, condition: () => boolean, withinMs = TAKES_EFFECT_MS): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

const ruleCount = (set: RuleSet) => set.rules.length;
const logged = (msg: string) => lines.filter((l) => l.msg === msg);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-reload-'));
});

afterEach(() => {
  reloader?.close();
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('RulesReloader: edits take effect without a restart', () => {
  test('an edit in place (same file, rewritten)', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    expect(ruleCount(r.current())).toBe(2);
    writeFileSync(file, V2);
    await waitFor('the edit in force', () => ruleCount(r.current()) === 3);
    expect(logged('rules reloaded')).toEqual([
      expect.objectContaining({ level: 30, rulesFile: 'rules.yaml', rules: 3, allow: 2, deny: 1 }),
    ]);
  });

  test('a rename over the file (vim, sed -i)', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const tmp = path.join(dir, '.rules.yaml.swp');
    writeFileSync(tmp, V3);
    renameSync(tmp, file);
    await waitFor('the renamed file in force', () => r.current().rules[0]?.written === '+1 201 555 0123');
  });

  test('a Kubernetes-style symlink swap one directory away', async () => {
    // rules.yaml -> ..data/rules.yaml, ..data -> ..v1; an update points ..data at ..v2 by renaming a new symlink over it
    mkdirSync(path.join(dir, '..v1'));
    mkdirSync(path.join(dir, '..v2'));
    writeFileSync(path.join(dir, '..v1', 'rules.yaml'), V1);
    writeFileSync(path.join(dir, '..v2', 'rules.yaml'), V2);
    symlinkSync('..v1', path.join(dir, '..data'));
    symlinkSync(path.join('..data', 'rules.yaml'), path.join(dir, 'rules.yaml'));
    const r = startReloader(path.join(dir, 'rules.yaml'));
    expect(ruleCount(r.current())).toBe(2);
    symlinkSync('..v2', path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await waitFor('the swapped-in rules in force', () => ruleCount(r.current()) === 3);
  });

  test('a change the directory watch cannot see (a symlink swapped in another directory) is found by the poll', async () => {
    // conf/rules.yaml -> ../data/current/rules.yaml; "current" is swapped inside data/, which nobody watches
    for (const d of ['conf', 'data', 'data/v1', 'data/v2']) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'data/v1/rules.yaml'), V1);
    writeFileSync(path.join(dir, 'data/v2/rules.yaml'), V2);
    symlinkSync('v1', path.join(dir, 'data/current'));
    symlinkSync('../data/current/rules.yaml', path.join(dir, 'conf/rules.yaml'));
    const r = startReloader(path.join(dir, 'conf/rules.yaml'));
    symlinkSync('v2', path.join(dir, 'data/next'));
    renameSync(path.join(dir, 'data/next'), path.join(dir, 'data/current'));
    await waitFor('the swapped-in rules in force', () => ruleCount(r.current()) === 3);
  });

  test('the reloaded event carries the new rules', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const reloaded = new Promise<RuleSet>((resolve) => r.on('reloaded', resolve));
    writeFileSync(file, V3);
    const set = await reloaded;
    expect(set).toBe(r.current());
    expect(ruleCount(set)).toBe(1);
  });

  test('touching the file without changing it does not reload', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const before = r.current();
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    writeFileSync(file, V1);
    await twoLooksAt(file);
    expect(r.current()).toBe(before);
    expect(logged('rules reloaded')).toHaveLength(0);
  });
});

describe('RulesReloader: a bad edit keeps the last good rules', () => {
  test('an invalid edit is rejected once, with line and column; fixing it clears lastError', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const good = r.current();
    const rejected = jest.fn();
    r.on('rejected', rejected);

    writeFileSync(file, BAD);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    expect(r.current()).toBe(good);
    expect(r.lastError).toBeInstanceOf(ConfigError);
    expect(r.lastError?.problems).toEqual([
      expect.objectContaining({
        file: 'rules.yaml',
        line: 3,
        column: 5,
        reason: expect.stringMatching(/call me maybe/),
      }),
      expect.objectContaining({
        file: 'rules.yaml',
        line: 5,
        column: 12,
        reason: expect.stringMatching(/repeats a group/),
      }),
    ]);

    // polls go on, and the same bad content is touched again: still one log line, one event
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    await twoLooksAt(file);
    const warnings = logged('rules edit rejected; keeping the last good rules');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      rulesFile: 'rules.yaml',
      problems: [expect.stringMatching(/^rules\.yaml:3:5 /), expect.stringMatching(/^rules\.yaml:5:12 /)],
    });
    expect(rejected).toHaveBeenCalledTimes(1);

    writeFileSync(file, V2);
    await waitFor('the fixed file in force', () => ruleCount(r.current()) === 3);
    expect(r.lastError).toBeUndefined();
  });

  test('a second, different bad edit is logged again', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    writeFileSync(file, BAD);
    await waitFor('first rejection', () => logged('rules edit rejected; keeping the last good rules').length === 1);
    writeFileSync(file, 'allow: [\n');
    await waitFor('second rejection', () => logged('rules edit rejected; keeping the last good rules').length === 2);
    expect(r.lastError?.problems[0]?.line).toBeGreaterThan(0);
  });

  test('going back to the rules in force clears lastError without a reload', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const good = r.current();
    writeFileSync(file, BAD);
    await waitFor('the edit rejected', () => r.lastError !== undefined);
    writeFileSync(file, V1);
    await waitFor('lastError cleared', () => r.lastError === undefined);
    expect(r.current()).toBe(good);
    expect(logged('rules reloaded')).toHaveLength(0);
  });

  test('a deleted file keeps the last good rules, and is logged', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const good = r.current();
    unlinkSync(file);
    await waitFor('the deletion noticed', () => r.lastError !== undefined);
    expect(r.current()).toBe(good);
    expect(r.lastError?.problems[0]?.reason).toMatch(/file not found/);
    expect(logged('rules edit rejected; keeping the last good rules')).toEqual([
      expect.objectContaining({ problems: [expect.stringMatching(/^rules\.yaml: file not found/)] }),
    ]);

    writeFileSync(file, V2);
    await waitFor('the new file in force', () => ruleCount(r.current()) === 3);
    expect(r.lastError).toBeUndefined();
  });
});

describe('RulesReloader: lifecycle', () => {
  test('the first load throws ConfigError on bad rules', () => {
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, BAD);
    const r = new RulesReloader({ file, defaultRegion: 'US', logger: memoryLogger() });
    expect(() => r.load()).toThrow(ConfigError);
    expect(() => r.current()).toThrow(/before a successful load/);
  });

  test('a missing file on the first load throws ConfigError', () => {
    const r = new RulesReloader({
      file: path.join(dir, 'nope.yaml'),
      displayName: 'nope.yaml',
      defaultRegion: 'US',
      logger: memoryLogger(),
    });
    expect(() => r.load()).toThrow(/nope\.yaml: file not found/);
  });

  test("watching holds nothing open: its timers are unref'd and its watcher not persistent", () => {
    const file = path.join(dir, 'rules.yaml');
    const before = process.getActiveResourcesInfo().sort();
    startReloader(file, V1);
    expect(process.getActiveResourcesInfo().sort()).toEqual(before);
  });

  test('close() is idempotent, and nothing is reloaded after it', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    r.close();
    r.close();
    // a twin on the same file, still open: once it has reloaded the edit, the closed one would have too
    const twin = new RulesReloader({ file, defaultRegion: 'US', logger: pino({ level: 'silent' }) });
    twin.load();
    twin.start();
    try {
      writeFileSync(file, V2);
      await waitFor('the twin reloaded', () => ruleCount(twin.current()) === 3);
      await twoLooksAt(file);
    } finally {
      twin.close();
    }
    expect(ruleCount(r.current())).toBe(2);
    r.start(); // after close: does nothing
    expect(lines).toHaveLength(0);
  });
});
