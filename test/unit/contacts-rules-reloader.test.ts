/**
 * The contacts sources in the rules in force, with real files in a temporary folder: a source that appears
 * while running is in force within about a second, a broken one is rejected with file:line:col and its last
 * good entries stay (the other files untouched), a removed one leaves; admin rules win ties.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadAllRuleFiles } from '../../src/config/contacts-folder';
import { RulesReloader } from '../../src/config/rules-reloader';

jest.setTimeout(20_000);

const ctx = { did: { raw: '' }, now: new Date('2026-11-23T12:00:00Z') };
const ACME = 'allow:\n  - number: "+41446681800"\n    label: "contact: ACME Corp"\n';

interface Line {
  msg: string;
  rulesFile?: string;
  problems?: string[];
}

let dir: string;
let rulesFile: string;
let managedFile: string;
let folder: string;
let reloader: RulesReloader | undefined;
let lines: Line[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-contacts-rules-'));
  rulesFile = path.join(dir, 'rules.yaml');
  managedFile = path.join(dir, 'rules.managed.yaml');
  folder = path.join(dir, 'contacts');
  writeFileSync(rulesFile, 'allow: []\ndeny:\n  - number: "+1 900*"\n    label: premium\n');
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
    managedFile,
    contactsFolder: folder,
    contactsDisplayFolder: 'contacts',
    defaultRegion: 'US',
    logger,
    pollIntervalMs: 100,
  });
  reloader.load();
  reloader.start();
  return reloader;
}

async function waitFor(what: string, condition: () => boolean, withinMs = 2000): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

/** written as the importer writes: a temporary file renamed over the source */
function writeSource(name: string, text: string): void {
  mkdirSync(folder, { recursive: true });
  const temp = path.join(folder, `.${name}.yaml.1.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, path.join(folder, `${name}.yaml`));
}

const labelOf = (r: RulesReloader, e164: string): string | undefined => {
  const rule = r.current().match(e164, ctx);
  return rule ? `${rule.list} ${rule.label ?? ''} ${rule.source.file}:${rule.source.line}` : undefined;
};

test('a source at the start is in force with its label and file', () => {
  writeSource('crm', ACME);
  const r = start();
  expect(labelOf(r, '+41446681800')).toBe('allow contact: ACME Corp contacts/crm.yaml:2');
  expect(r.contactsRules().rules).toHaveLength(1);
});

test('a source that appears after the start (the folder too) is in force within about a second', async () => {
  const r = start();
  expect(labelOf(r, '+41446681800')).toBeUndefined();
  let reloaded = 0;
  r.on('reloaded', () => reloaded++);
  writeSource('crm', ACME);
  const took = await waitFor('the new source in force', () => labelOf(r, '+41446681800') !== undefined);
  expect(took).toBeLessThan(2000);
  expect(reloaded).toBeGreaterThanOrEqual(1);
  expect(lines.map((l) => l.msg)).toEqual(
    expect.arrayContaining(['contacts source found; loading it', 'contacts source reloaded']),
  );
  // the importer's temporary files are never read as sources
  writeFileSync(path.join(folder, '.other.yaml.2.tmp'), 'not: [yaml');
  writeFileSync(path.join(folder, 'README.txt'), 'notes');
  await new Promise((r2) => setTimeout(r2, 400));
  expect(r.lastError).toBeUndefined();
});

test('a broken source is rejected with file:line:col; its last good entries stay, the other files are untouched', async () => {
  writeSource('crm', ACME);
  writeSource('shop', 'allow:\n  - number: "+12125550147"\n    label: "contact: Shop"\n');
  const r = start();
  let rejected = 0;
  r.on('rejected', () => rejected++);
  writeSource('crm', 'allow:\n  - number: "+41446681800"\n  - number: "not a number"\n');
  await waitFor('the broken source rejected', () => rejected === 1);
  expect(r.lastError?.problems.map((p) => `${p.file}:${p.line}:${p.column}`)).toEqual(['contacts/crm.yaml:3:13']);
  expect(r.contactsError).toBe(r.lastError);
  expect(
    lines.find((l) => l.msg === 'contacts source edit rejected; keeping its last good entries')?.problems?.[0],
  ).toMatch(/^contacts\/crm\.yaml:3:13 /);
  expect(labelOf(r, '+41446681800')).toBe('allow contact: ACME Corp contacts/crm.yaml:2');
  // another source's change still takes effect
  writeSource('shop', 'allow:\n  - number: "+12125550100"\n    label: "contact: Shop"\n');
  await waitFor('the other source reloaded', () => labelOf(r, '+12125550100') !== undefined);
  expect(labelOf(r, '+12125550147')).toBeUndefined();
  expect(labelOf(r, '+41446681800')).toBe('allow contact: ACME Corp contacts/crm.yaml:2');
});

test('a new source that is broken is rejected and brings no entries', async () => {
  const r = start();
  let rejected = 0;
  r.on('rejected', () => rejected++);
  writeSource('bad', 'allow: []\ndeny:\n  - "+12125550147"\n');
  await waitFor('the new broken source rejected', () => rejected === 1);
  expect(r.lastError?.problems[0]?.reason).toMatch(/allow entries only/);
  expect(labelOf(r, '+12125550147')).toBeUndefined();
});

test('a removed source takes its entries out of force (logged), the others stay', async () => {
  writeSource('crm', ACME);
  writeSource('shop', 'allow:\n  - "+12125550147"\n');
  const r = start();
  expect(r.current().rules).toHaveLength(3);
  unlinkSync(path.join(folder, 'crm.yaml'));
  await waitFor('the removed source out of force', () => labelOf(r, '+41446681800') === undefined);
  expect(labelOf(r, '+12125550147')).toMatch(/^allow/);
  expect(r.lastError).toBeUndefined();
  expect(lines.find((l) => l.msg === 'contacts source removed; its entries are no longer in force')?.rulesFile).toBe(
    'contacts/crm.yaml',
  );
});

test('admin rules come first: a deny in rules.yaml wins over a contact; check merges the same files', () => {
  writeSource('crm', 'allow:\n  - number: "+19005550100"\n    label: "contact: Premium"\n');
  const r = start();
  expect(r.current().match('+19005550100', ctx)?.list).toBe('allow'); // an exact allow beats a wildcard deny
  const set = loadAllRuleFiles({ rulesFile, managedFile, contactsFolder: folder }, 'US');
  expect(set.rules.map((rule) => rule.source.file)).toEqual([rulesFile, path.join(folder, 'crm.yaml')]);
  expect(set.match('+19005550100', ctx)?.label).toBe('contact: Premium');
});
