import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RulesReloader } from '../../src/config/rules-reloader';
import { loadRuleFiles } from '../../src/config/rules-file';
import { ManagedAllowList } from '../../src/reputation/managed-allow-list';
import { describeRule } from '../../src/domain/rule-set';

jest.setTimeout(15_000);

const ADMIN =
  'allow:\n  - "+1 212 555 0147"\ndeny:\n  - "+1 900*"\n  - number: "+1 415 555 0123"\n    label: harasser\n';
const ctx = { did: { raw: '' }, now: new Date('2026-11-23T12:00:00Z') };

interface Line {
  msg: string;
  rulesFile?: string;
  problems?: string[];
}

let dir: string;
let rulesFile: string;
let managedFile: string;
let reloader: RulesReloader | undefined;
let lines: Line[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-managed-rules-'));
  rulesFile = path.join(dir, 'rules.yaml');
  managedFile = path.join(dir, 'rules.managed.yaml');
  writeFileSync(rulesFile, ADMIN);
  lines = [];
});
afterEach(() => {
  reloader?.close();
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function start(): RulesReloader {
  const logger = pino(
    { level: 'info', base: null },
    { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Line) },
  );
  reloader = new RulesReloader({
    file: rulesFile,
    displayName: 'rules.yaml',
    managedFile,
    managedDisplayName: 'rules.managed.yaml',
    defaultRegion: 'US',
    logger,
    pollIntervalMs: 50,
  });
  reloader.load();
  reloader.start();
  return reloader;
}

async function waitFor(what: string, condition: () => boolean, withinMs = 3000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const verdictOf = (r: RulesReloader, e164: string) => r.current().match(e164, ctx)?.list ?? 'none';

describe('rules in force = rules.yaml + the managed allow list', () => {
  test('a missing managed file is an empty list; once written, its entries apply without a restart', async () => {
    const r = start();
    expect(r.current().rules).toHaveLength(3);
    expect(verdictOf(r, '+14155550123')).toBe('deny');
    await new ManagedAllowList({ file: managedFile, defaultRegion: 'US' }).promote(
      '+14155550123',
      'agents: not spam x3, last 2026-11-23 by alice',
    );
    await waitFor('the promotion in force', () => verdictOf(r, '+14155550123') === 'allow');
    const rule = r.current().match('+14155550123', ctx);
    // the decision's reason names the managed rule, its label and file
    expect(describeRule(rule!)).toBe(
      'allow +14155550123 (agents: not spam x3, last 2026-11-23 by alice) at rules.managed.yaml:8',
    );
    expect(lines.map((l) => l.msg)).toContain('managed allow list reloaded');
  });

  test('a broken managed file is reported with file:line:col and its last good entries stay, the admin rules untouched', async () => {
    writeFileSync(managedFile, 'allow:\n  - number: "+1 312 555 0100"\n    label: agents\n');
    const r = start();
    expect(verdictOf(r, '+13125550100')).toBe('allow');
    let rejected = 0;
    r.on('rejected', () => rejected++);
    writeFileSync(managedFile, 'allow:\n  - number: "+1 312 555 0100"\ndeny:\n  - "+1 312 555 0199"\n');
    await waitFor('the bad edit rejected', () => rejected === 1);
    expect(r.lastError?.problems.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual(['rules.managed.yaml:4:5']);
    expect(r.managedError).toBe(r.lastError);
    expect(
      lines.find((l) => l.msg === 'managed allow list edit rejected; keeping its last good entries')?.problems?.[0],
    ).toMatch(/^rules\.managed\.yaml:4:5 the managed allow list takes allow entries only/);
    expect(verdictOf(r, '+13125550100')).toBe('allow');
    expect(verdictOf(r, '+12125550147')).toBe('allow');
    // an admin edit of rules.yaml still takes effect while the managed file is broken
    writeFileSync(rulesFile, `${ADMIN}  - "+1 646 555 0175"\n`);
    await waitFor('the admin edit in force', () => verdictOf(r, '+16465550175') === 'deny');
    expect(verdictOf(r, '+13125550100')).toBe('allow');
    // fixed: the error clears
    writeFileSync(managedFile, 'allow: []\n');
    await waitFor('the fix in force', () => verdictOf(r, '+13125550100') === 'none' && r.lastError === undefined);
  });

  test('a broken managed file at the start stops the start like a broken rules file', () => {
    writeFileSync(managedFile, 'allow:\n  - "no number"\n');
    const logger = pino({ level: 'silent' });
    const r = new RulesReloader({
      file: rulesFile,
      managedFile,
      managedDisplayName: 'rules.managed.yaml',
      defaultRegion: 'US',
      logger,
    });
    expect(() => r.load()).toThrow(/rules\.managed\.yaml:2:5/);
  });

  test('a deleted managed file keeps its last good entries (reported like a deleted rules file)', async () => {
    writeFileSync(managedFile, 'allow:\n  - "+1 312 555 0100"\n');
    const r = start();
    unlinkSync(managedFile);
    await waitFor('the deletion reported', () => r.lastError !== undefined);
    expect(verdictOf(r, '+13125550100')).toBe('allow');
  });

  test('the admin allow list and the managed list together; allow beats deny across the files', () => {
    writeFileSync(managedFile, 'allow:\n  - "+1 900 555 0100"\n');
    const set = loadRuleFiles(rulesFile, managedFile, 'US');
    expect(set.rules).toHaveLength(4);
    expect(set.match('+19005550100', ctx)?.list).toBe('allow');
    expect(set.match('+19005550101', ctx)?.list).toBe('deny');
  });
});
