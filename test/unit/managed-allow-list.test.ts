import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, utimesSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import {
  ManagedAllowList,
  managedFilePath,
  promotionFor,
  promotionLabel,
  recordFeedback,
} from '../../src/reputation/managed-allow-list';
import { compileManagedRulesText, loadManagedRulesFile } from '../../src/config/rules-file';
import type { FeedbackEntry } from '../../src/domain/reputation-entry';
import { ConfigError } from '../../src/errors/config-error';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-managed-'));
  file = path.join(dir, 'rules.managed.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const list = () => new ManagedAllowList({ file, defaultRegion: 'US', displayName: 'rules.managed.yaml' });
const allowed = (text: string) =>
  compileManagedRulesText(text, 'rules.managed.yaml', 'US').rules.map((r) =>
    `${r.list} ${r.match.kind === 'exact' ? r.match.e164 : r.written} ${r.label ?? ''}`.trim(),
  );

describe('ManagedAllowList: promote and demote', () => {
  test('the first promotion creates the file with a header comment and one quoted allow entry', async () => {
    expect(await list().promote('+12125550147', 'agents: not spam x3, last 2026-11-23 by alice')).toBe('added');
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# rules.managed.yaml')).toBe(true);
    expect(text).toContain('number: "+12125550147"');
    expect(allowed(text)).toEqual(['allow +12125550147 agents: not spam x3, last 2026-11-23 by alice']);
  });

  test('promoting a listed number again refreshes its label; the same label changes nothing', async () => {
    const l = list();
    await l.promote('+12125550147', 'agents: not spam x3');
    expect(await l.promote('+12125550147', 'agents: not spam x4')).toBe('updated');
    expect(await l.promote('+12125550147', 'agents: not spam x4')).toBe('unchanged');
    expect(allowed(readFileSync(file, 'utf8'))).toEqual(['allow +12125550147 agents: not spam x4']);
  });

  test('demote removes the number and keeps the others', async () => {
    const l = list();
    await l.promote('+12125550147', 'agents: a');
    await l.promote('+14155550123', 'agents: b');
    expect(await l.demote('+12125550147')).toBe('removed');
    expect(await l.demote('+12125550147')).toBe('unchanged');
    expect(allowed(readFileSync(file, 'utf8'))).toEqual(['allow +14155550123 agents: b']);
    expect(await l.has('+12125550147')).toBe(false);
    expect(await l.has('+14155550123')).toBe(true);
  });

  test("an admin's edits (comments, own entries, a number written another way) survive a change", async () => {
    writeFileSync(
      file,
      '# my header\nallow:\n  # the front desk, added by hand\n  - number: "(212) 555-0147"\n    label: front desk\n  - "+1 900 555 0100 .. +1 900 555 0199"\n',
    );
    const l = list();
    expect(await l.promote('+14155550123', 'agents: new')).toBe('added');
    let text = readFileSync(file, 'utf8');
    expect(text).toContain('# my header');
    expect(text).toContain('# the front desk, added by hand');
    expect(allowed(text)).toEqual([
      'allow +12125550147 front desk',
      'allow +1 900 555 0100 .. +1 900 555 0199',
      'allow +14155550123 agents: new',
    ]);
    // the admin's national spelling is the same number: demote finds it
    expect(await l.demote('+12125550147')).toBe('removed');
    text = readFileSync(file, 'utf8');
    expect(allowed(text)).toEqual(['allow +1 900 555 0100 .. +1 900 555 0199', 'allow +14155550123 agents: new']);
  });

  test('an admin edit between two changes is kept (the file is re-read before each change)', async () => {
    const l = list();
    await l.promote('+12125550147', 'agents: a');
    writeFileSync(file, `${readFileSync(file, 'utf8')}  - number: "+14155550100"\n    label: added by the admin\n`);
    await l.promote('+13125550100', 'agents: c');
    expect(allowed(readFileSync(file, 'utf8'))).toEqual([
      'allow +12125550147 agents: a',
      'allow +14155550100 added by the admin',
      'allow +13125550100 agents: c',
    ]);
  });

  test('a file with a problem is not written over: the change fails naming file, line and column', async () => {
    const broken = 'allow:\n  - "call me maybe"\n';
    writeFileSync(file, broken);
    await expect(list().promote('+12125550147', 'agents: a')).rejects.toThrow(/rules\.managed\.yaml:2:\d+/);
    expect(readFileSync(file, 'utf8')).toBe(broken);
  });

  test('no temporary or lock file is left behind', async () => {
    await list().promote('+12125550147', 'agents: a');
    expect(readdirSync(dir)).toEqual(['rules.managed.yaml']);
  });

  test('a lock left by a crashed writer is broken once stale; a fresh one makes the change wait, then fail', async () => {
    const lock = `${file}.lock`;
    writeFileSync(lock, '999999@elsewhere\n');
    const short = new ManagedAllowList({ file, defaultRegion: 'US', lockTimeoutMs: 100 });
    await expect(short.promote('+12125550147', 'agents: a')).rejects.toThrow(
      /locked by another writer \(999999@elsewhere/,
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await short.promote('+12125550147', 'agents: a')).toBe('added');
    expect(existsSync(lock)).toBe(false);
  });

  test('concurrent promotions in one process all land', async () => {
    const l = list();
    const numbers = Array.from({ length: 12 }, (_, i) => `+1212555${String(100 + i).padStart(4, '0')}`);
    await Promise.all(numbers.map((n) => l.promote(n, 'agents: x')));
    expect(allowed(readFileSync(file, 'utf8')).length).toBe(12);
  });

  test('concurrent promotions from several processes never lose an entry', async () => {
    const script = path.join(dir, 'writer.js');
    // each child promotes 8 numbers of its own through the real module, compiled on require by swc
    writeFileSync(
      script,
      `const swc = require(process.env.SWC);
       require.extensions['.ts'] = (m, filename) => m._compile(swc.transformFileSync(filename, { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }).code, filename);
       const { ManagedAllowList } = require(process.env.MODULE);
       const l = new ManagedAllowList({ file: process.env.FILE, defaultRegion: 'US', lockTimeoutMs: 10000 });
       (async () => { for (let i = 0; i < 8; i++) await l.promote('+1312555' + process.env.BLOCK + String(i).padStart(2, '0'), 'agents: p' + process.env.BLOCK); })().catch((e) => { console.error(e); process.exitCode = 1; });`,
    );
    const env = {
      ...process.env,
      SWC: require.resolve('@swc/core'),
      MODULE: require.resolve('../../src/reputation/managed-allow-list'),
      FILE: file,
    };
    const children = ['10', '20', '30', '40'].map(
      (block) =>
        new Promise<number | null>((resolve) => {
          const child = fork(script, { env: { ...env, BLOCK: block }, stdio: 'inherit' });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
    expect(allowed(readFileSync(file, 'utf8')).length).toBe(32);
  });
});

describe('the managed file as rules', () => {
  test('missing = empty; empty or comments only = empty', () => {
    expect(loadManagedRulesFile(path.join(dir, 'nope.yaml'), 'US').rules).toEqual([]);
    expect(compileManagedRulesText('', 'm.yaml', 'US').rules).toEqual([]);
    expect(compileManagedRulesText('# nothing yet\n', 'm.yaml', 'US').rules).toEqual([]);
  });

  test('deny entries are refused with their line and column', () => {
    const text = 'allow:\n  - "+1 212 555 0147"\ndeny:\n  - "+1 900*"\n';
    try {
      compileManagedRulesText(text, 'm.yaml', 'US');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/^m\.yaml:4:5 the managed allow list takes allow entries only/);
    }
  });

  test('managedFilePath resolves rules.managedFile against the config file folder', () => {
    expect(
      managedFilePath({
        file: '/etc/callscreen/callscreen.yaml',
        config: { rules: { managedFile: 'rules.managed.yaml' } } as never,
      }),
    ).toBe('/etc/callscreen/rules.managed.yaml');
  });
});

describe('promotion', () => {
  const entry = (e: Partial<FeedbackEntry>): FeedbackEntry => ({
    spam: 0,
    ok: 0,
    last: 'ok',
    firstAt: 0,
    lastAt: 0,
    ...e,
  });

  test('promote at promoteAfter ok reports with the last one ok; demote on a spam report', () => {
    expect(promotionFor(entry({ ok: 2 }), 3)).toBe('none');
    expect(promotionFor(entry({ ok: 3 }), 3)).toBe('promote');
    expect(promotionFor(entry({ ok: 5, spam: 1, last: 'spam' }), 3)).toBe('demote');
  });

  test('the label says why and when', () => {
    expect(promotionLabel(entry({ ok: 3 }), Date.UTC(2026, 10, 23, 12), 'alice')).toBe(
      'agents: not spam x3, last 2026-11-23 by alice',
    );
    expect(promotionLabel(entry({ ok: 4, spam: 1 }), Date.UTC(2026, 10, 23), undefined)).toBe(
      'agents: not spam x4 (spam x1), last 2026-11-23',
    );
  });

  test('recordFeedback promotes, then demotes, and reports a list problem without losing the report', async () => {
    let counts = entry({});
    const store = {
      report: (r: { verdict: 'spam' | 'ok' }) => {
        counts = { ...counts, [r.verdict]: counts[r.verdict] + 1, last: r.verdict };
        return Promise.resolve(counts);
      },
    };
    const deps = { store, list: list(), promoteAfter: 2 };
    const report = (verdict: 'spam' | 'ok') =>
      recordFeedback(deps, { e164: '+12125550147', verdict, at: Date.UTC(2026, 10, 23), host: 'h', agent: 'bob' });
    expect(await report('ok')).toMatchObject({ promoted: false, change: 'unchanged' });
    expect(await report('ok')).toMatchObject({ promoted: true, change: 'added' });
    expect(await report('spam')).toMatchObject({ promoted: false, change: 'removed' });
    writeFileSync(file, 'allow:\n  - "nonsense"\n');
    const outcome = await report('ok');
    expect(outcome.entry.ok).toBe(3);
    expect(outcome.listError).toMatch(/rules\.managed\.yaml:2:\d+ .*fix the file/);
  });
});
