/**
 * Installed like a Node program: `npm pack` of this checkout (built by the integration setup) installed with
 * `npm install -g` into a prefix of its own gives a working `callscreen` command, with the example
 * configuration, the dialplan and the systemd unit in the package and no test code; a checkout without a
 * build says what to run instead of a stack trace. The dependencies come from npm's cache (`npm ci` filled it).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/testbed';

jest.setTimeout(180_000);

const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-package-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack, then npm install -g of the tarball: a working callscreen with its configuration, dialplan and unit', async () => {
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: repoRoot });
  const [pack] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!pack) throw new Error(`npm pack printed no package: ${packed.stdout}`);
  const { filename, files } = pack;
  const shipped = files.map((f) => f.path);
  expect(shipped).toEqual(
    expect.arrayContaining([
      'bin/callscreen.js',
      'dist/main.js',
      'config/callscreen.yaml',
      'dialplan/callscreen.conf',
      'packaging/callscreen.service',
    ]),
  );
  // no test code, no test bed, no benchmarks in what users install
  expect(shipped.filter((p) => /^(test|tools|bench|scripts|src)\//.test(p) || p.startsWith('dist/tools'))).toEqual([]);

  const prefix = path.join(dir, 'global');
  await run(
    'npm',
    ['install', '-g', '--prefix', prefix, path.join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund'],
    {
      cwd: dir,
    },
  );
  const callscreen = path.join(prefix, 'bin', 'callscreen');
  const help = await run(callscreen, ['--help']);
  expect(help.stdout).toMatch(/Usage: callscreen/);
  const installed = path.join(prefix, 'lib', 'node_modules', 'callscreen');
  const validated = await run(callscreen, ['rules', 'validate', path.join(installed, 'config', 'rules.yaml')]);
  expect(validated.stdout).toMatch(/rules\.yaml: ok, \d+ allow and \d+ deny rules/);
});

test('a checkout without a build: the command says what to run, exit 2, no stack trace', async () => {
  const checkout = path.join(dir, 'checkout');
  cpSync(path.join(repoRoot, 'bin'), path.join(checkout, 'bin'), { recursive: true });
  expect(existsSync(path.join(checkout, 'dist'))).toBe(false);
  const result = await run(process.execPath, [path.join(checkout, 'bin', 'callscreen.js'), '--help']).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(result).toMatchObject({ code: 2 });
  expect((result as { stderr: string }).stderr).toMatch(/not built yet .*\n.*npm run build/);
  expect((result as { stderr: string }).stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/);
  expect(readdirSync(checkout)).toEqual(['bin']);
});
