// The import-boundary rules (.dependency-cruiser.cjs) fire: dependency-cruiser's CLI cruises the fixture tree in
// test/fixtures/boundaries with the same config npm test uses, and must report each planted violation under its
// rule name and nothing from the clean files.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');
const fixtureRoot = path.join(repoRoot, 'test/fixtures/boundaries');
const config = path.join(repoRoot, '.dependency-cruiser.cjs');
const depcruiseCli = path.join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** The part of dependency-cruiser's JSON report the test reads. */
interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}

/** Every planted violation, as `rule: from -> to` (node: builtins are reported by their bare name). */
const planted = [
  'domain-is-pure: src/domain/leaky.ts -> src/adapters/a/client.ts',
  'domain-is-pure: src/domain/leaky.ts -> fs',
  'domain-is-pure: src/domain/leaky.ts -> src/ports/store.ts', // a type-only import
  'ports-are-interfaces: src/ports/leaky-port.ts -> events',
  'ports-are-interfaces: src/ports/leaky-port.ts -> src/adapters/a/client.ts', // a type-only import
  'errors-are-low: src/errors/leaky-error.ts -> src/config/settings.ts',
  'adapters-stay-apart: src/adapters/a/client.ts -> src/adapters/b/store.ts',
  'adapters-stay-apart: src/adapters/b/store.ts -> src/config/settings.ts',
  'features-use-ports: src/calls/screener.ts -> src/adapters/a/client.ts',
  'daemon-below-cli: src/daemon/daemon.ts -> src/cli/version.ts',
  'main-is-the-top: src/cli/status.ts -> src/main.ts',
  'src-never-imports-test-or-tools: src/calls/harness-user.ts -> tools/harness.ts',
  'src-never-imports-test-or-tools: src/calls/harness-user.ts -> test/support/fake-store.ts',
  'no-circular: src/calls/cycle-a.ts -> src/calls/cycle-b.ts',
];

/** Fixture files by the first line's marker: `// Planted: ...` or `// Clean...`. */
function fixtureFilesMarked(marker: 'Planted' | 'Clean'): string[] {
  return readdirSync(fixtureRoot, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.startsWith('test/'))
    .filter((file) => readFileSync(path.join(fixtureRoot, file), 'utf8').startsWith(`// ${marker}`))
    .sort();
}

describe('import boundaries (dependency-cruiser on test/fixtures/boundaries)', () => {
  let violations: Violation[] = [];
  let errReport: { status: number | null; stdout: string } = { status: null, stdout: '' };

  const cruiseFixture = (outputType: 'json' | 'err') => {
    const run = spawnSync(
      process.execPath,
      [depcruiseCli, 'src', 'tools', '--config', config, '--output-type', outputType],
      { cwd: fixtureRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
    );
    if (run.error) throw run.error;
    return run;
  };

  beforeAll(() => {
    const json = cruiseFixture('json');
    try {
      violations = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary.violations;
    } catch {
      throw new Error(`dependency-cruiser printed no JSON report:\n${json.stdout}\n${json.stderr}`);
    }
    // The reporter npm test uses (npm run lint:boundaries): its exit status fails the lint step.
    errReport = cruiseFixture('err');
  }, 120_000);

  // For a cycle the report's `to` is the next module in it.
  const reported = (): string[] => violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();

  it.each(planted)('reports %s', (violation) => {
    expect(reported()).toContain(violation);
  });

  it('reports nothing else, each as an error', () => {
    expect(reported()).toEqual([...planted].sort());
    expect(violations.every((v) => v.rule.severity === 'error')).toBe(true);
  });

  it('fails the run and prints one line per violation: rule, from, to', () => {
    expect(errReport.status).not.toBe(0);
    const lines = errReport.stdout.split('\n').map((line) => line.trim());
    for (const violation of planted.filter((v) => !v.startsWith('no-circular'))) {
      expect(lines).toContain(`error ${violation.replace(' -> ', ' → ')}`);
    }
  });

  it('reports every file marked planted and none marked clean', () => {
    const offenders = new Set(violations.flatMap((v) => [v.from, ...(v.cycle ?? []).map((step) => step.name)]));
    const clean = fixtureFilesMarked('Clean');
    expect(clean).toEqual(expect.arrayContaining(['src/calls/clean.ts', 'src/domain/phone.ts', 'src/ports/store.ts']));
    expect(clean.filter((file) => offenders.has(file))).toEqual([]);
    expect(fixtureFilesMarked('Planted').filter((file) => !offenders.has(file))).toEqual([]);
  });
});
