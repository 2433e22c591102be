// The lint rule against focused tests (eslint.config.mjs: jest/no-focused-tests on test/ and bench/) fires. A focused
// test (`it.only`, `fdescribe` ...) makes jest skip every other test in its file while the run still passes, so npm
// test's lint step must fail on one. ESLint's Node API, with the project's own config, lints small sources as if they
// were files of the repository; it runs in one child process because its config file is an ES module, which jest's
// module loader cannot import.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');

/** One source to lint and the file it stands for. */
interface Sample {
  source: string;
  fileName: string;
}

/** The part of ESLint's report the test reads, per sample. */
type Messages = { ruleId: string | null; severity: number; line: number; message: string }[];

const lintSamples = `
  import { ESLint } from 'eslint';
  const samples = JSON.parse(process.argv[1]);
  const eslint = new ESLint({ cwd: process.cwd() });
  const reports = [];
  for (const { source, fileName } of samples) {
    const [result] = await eslint.lintText(source, { filePath: fileName });
    reports.push(result.messages.map(({ ruleId, severity, line, message }) => ({ ruleId, severity, line, message })));
  }
  process.stdout.write(JSON.stringify(reports));
`;

/** Lints every sample with the repository's ESLint config, as npm test's lint step does. */
function lint(samples: Sample[]): Messages[] {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', lintSamples, JSON.stringify(samples)], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.error) throw run.error;
  try {
    return JSON.parse(run.stdout) as Messages[];
  } catch {
    throw new Error(`eslint gave no report (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** a focused callee, spelled out only in the samples handed to ESLint (a grep for focused tests finds none here) */
const ONLY = 'only';
const focused = [
  [`it.${ONLY}('a', () => {});`, `it.${ONLY}`],
  [`test.${ONLY}('a', () => {});`, `test.${ONLY}`],
  [`describe.${ONLY}('a', () => {});`, `describe.${ONLY}`],
  [`it.${ONLY}.each([1])('a %s', () => {});`, `it.${ONLY}.each`],
  ["fit('a', () => {});", 'fit'],
  ["fdescribe('a', () => {});", 'fdescribe'],
] as const;

const unfocused = [
  "import { fit } from '../../src/call-log/call-log-render';",
  '',
  "describe('suite', () => {",
  "  it('fits', () => {",
  "    expect(fit('abcdef', 4)).toBe('abc…');",
  '  });',
  "  test.each([1])('n %s', () => {});",
  `  it.${'skip'}('later', () => {});`,
  '});',
  '',
].join('\n');
const otherFolders = ['test/integration/example.test.ts', 'test/contract/example.contract.ts', 'bench/example.ts'];

const samples: Sample[] = [
  ...focused.map(([line]) => ({
    source: `describe('suite', () => {\n  it('runs', () => {});\n});\n${line}\n`,
    fileName: 'test/unit/example.test.ts',
  })),
  ...otherFolders.map((fileName) => ({ source: `test.${ONLY}('a', () => {});\n`, fileName })),
  { source: unfocused, fileName: 'test/unit/example.test.ts' },
];

describe('the lint rule against focused tests', () => {
  let reports: Messages[] = [];
  beforeAll(() => {
    reports = lint(samples);
  }, 60_000);

  it.each(focused.map(([line, name], i) => [name, line, i] as const))(
    'reports %s as an error in a unit test file',
    (_name, _line, i) => {
      expect(reports[i]).toEqual([
        { ruleId: 'jest/no-focused-tests', severity: 2, line: 4, message: 'Unexpected focused test' },
      ]);
    },
  );

  it.each(otherFolders.map((fileName, i) => [fileName, focused.length + i] as const))(
    'applies to %s too',
    (_fileName, i) => {
      expect(reports[i]?.map((m) => m.ruleId)).toEqual(['jest/no-focused-tests']);
    },
  );

  it('leaves unfocused tests alone, and a function of our own that happens to be called fit', () => {
    expect(reports[samples.length - 1]).toEqual([]);
  });
});
