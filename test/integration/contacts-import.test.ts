/**
 * `callscreen contacts import | list | remove` as users run them (bin/callscreen.js, the built CLI), in a
 * temporary config folder, and `callscreen check` reading what they wrote: a vCard with several numbers per
 * contact imports and its numbers are allowed with the contact in the reason; a re-import replaces the
 * source; a file that yields no number is refused and the source stays; remove takes it away. No calls are
 * placed (check reads Redis, under a key prefix of its own, and writes nothing).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/daemon-process';

jest.setTimeout(60_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'contacts');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-contacts-'));
  writeFileSync(
    path.join(dir, 'callscreen.yaml'),
    'numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "contacts-import-test:"\nscreening:\n  timeZone: UTC\n',
  );
  writeFileSync(path.join(dir, 'rules.yaml'), 'allow: []\ndeny:\n  - "+1 900*"\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sourceFile = (name: string): string => path.join(dir, 'contacts', `${name}.yaml`);

interface CheckJson {
  verdict: string;
  reasons: Array<{ code: string; text: string; rule?: { label?: string } }>;
}

async function check(number: string): Promise<CheckJson> {
  const result = await runCli(dir, ['check', number, '--json', '--config', 'callscreen.yaml']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as CheckJson;
}

/** the allow rule's label in a check's reasons (a stranger with no history is allowed too, by score) */
const allowedBy = (json: CheckJson): string | undefined =>
  json.reasons.find((r) => r.code === 'rule.allow')?.rule?.label;

async function importFile(
  file: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(dir, ['contacts', 'import', file, '--source', 'crm', '--config', 'callscreen.yaml', ...args]);
}

test('a vCard with several numbers per contact imports; check allows each number with the contact in the reason', async () => {
  const result = await importFile(path.join(FIXTURES, 'address-book.vcf'));
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('3 contacts, 7 numbers read');
  expect(result.stdout).toContain('imported:   5 numbers');
  expect(result.stdout).toContain('duplicates: 1');
  expect(result.stdout).toMatch(/address-book\.vcf:23: "not a number" /);
  const text = readFileSync(sourceFile('crm'), 'utf8');
  expect(text).toContain('# imported-from: address-book.vcf\n');
  expect(text).not.toContain('+12125550199'); // the fax

  const jane = await check('+1 415 555 0123');
  expect(jane.verdict).toBe('allow');
  const rule = jane.reasons.find((r) => r.code === 'rule.allow');
  expect(rule?.rule?.label).toBe('contact: Jane Doe, ACME Corp');
  expect(rule?.text).toMatch(/^\+14155550123 allowed by .*contacts\/crm\.yaml:\d+ \(contact: Jane Doe, ACME Corp\)$/);
  // the second number of the same contact, and a number two contacts share (one entry, both named)
  expect(allowedBy(await check('+41 44 668 18 00'))).toBe('contact: Jane Doe, ACME Corp');
  const shared = await check('212-555-0147');
  expect(shared.reasons.find((r) => r.code === 'rule.allow')?.rule?.label).toBe(
    'contact: Jane Doe, ACME Corp; Jürgen Müller',
  );
  expect((await check('+1 646 555 0175')).reasons.find((r) => r.code === 'rule.allow')?.rule?.label).toBe(
    'contact: ACME Support, ACME Corp',
  );

  const list = await runCli(dir, ['contacts', 'list', '--json', '--config', 'callscreen.yaml']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([
    expect.objectContaining({ source: 'crm', numbers: 5, importedFrom: 'address-book.vcf' }),
  ]);
});

test('a re-import with another file replaces the source: the old numbers are gone', async () => {
  expect((await importFile(path.join(FIXTURES, 'address-book.vcf'))).code).toBe(0);
  const again = await importFile(path.join(FIXTURES, 'outlook-export.csv'));
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('imported:   2 numbers');
  expect(allowedBy(await check('+1 415 555 0123'))).toBeUndefined();
  const bob = await check('+1 312 555 0100');
  expect(bob.reasons.find((r) => r.code === 'rule.allow')?.rule?.label).toBe('contact: Bob Smith, Globex');
  expect(allowedBy(await check('+1 312 555 0199'))).toBeUndefined(); // the fax
});

test.each([
  ['an empty file', 'empty.vcf', ''],
  ['garbage', 'garbage.csv', 'this is not\nan address book\n'],
  ['contacts without a valid number', 'nothing.csv', 'Name,Phone\nJane,n/a\nBob,12\n'],
])('%s is refused (exit 2, one clear message) and the old source stays', async (_what, name, content) => {
  expect((await importFile(path.join(FIXTURES, 'address-book.vcf'))).code).toBe(0);
  const before = readFileSync(sourceFile('crm'), 'utf8');
  const file = path.join(dir, name);
  writeFileSync(file, content);
  const result = await importFile(file);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(new RegExp(`${name}(:1:1)?:? (no phone|the file is empty)`));
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(readFileSync(sourceFile('crm'), 'utf8')).toBe(before);
  expect(allowedBy(await check('+1 415 555 0123'))).toBe('contact: Jane Doe, ACME Corp');
});

test('a missing file and a bad source name are one-line errors; --dry-run writes nothing', async () => {
  const missing = await importFile(path.join(dir, 'nope.vcf'));
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('nope.vcf: file not found');
  const badName = await runCli(dir, [
    'contacts',
    'import',
    path.join(FIXTURES, 'address-book.vcf'),
    '--source',
    '../x',
    '--config',
    'callscreen.yaml',
  ]);
  expect(badName.code).toBe(2);
  expect(badName.stderr).toContain('--source: "../x" is not a source name');
  const dry = await importFile(path.join(FIXTURES, 'address-book.vcf'), '--dry-run', '--json');
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout)).toMatchObject({ source: 'crm', imported: 5, duplicates: 1, written: null });
  expect(existsSync(sourceFile('crm'))).toBe(false);
});

test('contacts remove deletes the source: its numbers are no longer allowed', async () => {
  expect((await importFile(path.join(FIXTURES, 'address-book.vcf'))).code).toBe(0);
  const removed = await runCli(dir, ['contacts', 'remove', 'crm', '--config', 'callscreen.yaml']);
  expect(removed.code).toBe(0);
  expect(existsSync(sourceFile('crm'))).toBe(false);
  expect(allowedBy(await check('+1 415 555 0123'))).toBeUndefined();
  const again = await runCli(dir, ['contacts', 'remove', 'crm', '--config', 'callscreen.yaml']);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain('no contacts source "crm"');
  const list = await runCli(dir, ['contacts', 'list', '--config', 'callscreen.yaml']);
  expect(list.stdout).toContain('no contacts sources');
});

test('rules validate names each contacts source, and a broken one with file:line:col', async () => {
  expect((await importFile(path.join(FIXTURES, 'address-book.vcf'))).code).toBe(0);
  const ok = await runCli(dir, ['rules', 'validate', '--config', 'callscreen.yaml']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/contacts\/crm\.yaml: ok, 5 allow rules \(contacts source crm\)/);
  writeFileSync(sourceFile('shop'), 'allow:\n  - number: "12"\n');
  const bad = await runCli(dir, ['rules', 'validate', '--config', 'callscreen.yaml']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/contacts\/shop\.yaml:2:13 /);
});
