import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileRulesText, validateRuleFiles } from '../../src/config/rules-file';
import { MAX_REPORTED_PROBLEMS } from '../../src/config/problem-list';
import { parseYamlText } from '../../src/config/yaml-document';
import { ConfigError, type ConfigProblem } from '../../src/errors/config-error';

function problemsOf(fn: () => unknown): readonly ConfigProblem[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** nine times nine times ... : a few lines that expand to 9^6 nodes ("billion laughs") */
const ALIAS_BOMB = [
  'a: &a ["+1 900 555 0100", "+1 900 555 0100", "+1 900 555 0100", "+1 900 555 0100", "+1 900 555 0100"]', // 1
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', //  2
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', //  3
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', //  4
  'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]', //  5
  'deny: [*e, *e, *e, *e, *e, *e, *e, *e, *e]', //  6
  '',
].join('\n');

describe('YAML aliases: every problem has its file, line and column', () => {
  test('an alias bomb is one problem at the alias that expands too far', () => {
    const problems = problemsOf(() => compileRulesText(ALIAS_BOMB, 'rules.yaml', 'US'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'rules.yaml', line: expect.any(Number) as number });
    expect(problems[0]?.line).toBeGreaterThan(1);
    expect(problems[0]?.reason).toMatch(/alias/i);
  });

  test('an alias without an anchor is one problem at the alias', () => {
    const text = 'allow:\n  - "+1 212 555 0147"\ndeny:\n  - *robocallers\n';
    expect(problemsOf(() => compileRulesText(text, 'rules.yaml', 'US'))).toEqual([
      { file: 'rules.yaml', line: 4, column: 5, reason: expect.stringMatching(/\*robocallers.*no anchor/) as string },
    ]);
  });

  test('an alias inside the node it names is one problem at the alias', () => {
    const problems = problemsOf(() => parseYamlText('deny: &loop\n  - *loop\n', 'rules.yaml'));
    expect(problems).toEqual([
      { file: 'rules.yaml', line: 2, column: 5, reason: expect.stringMatching(/loop/) as string },
    ]);
  });

  test('a few aliases, as people use them, are fine', () => {
    const text =
      'allow:\n  - number: "+1 212 555 0147"\n    dids: &main ["+1 212 555 0100"]\n  - number: "+1 212 555 0148"\n    dids: *main\n';
    expect(compileRulesText(text, 'rules.yaml', 'US').rules).toHaveLength(2);
  });
});

describe('many problems in one file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'callscreen-yaml-limits-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('200,000 bad rules give the first problems and a count of the rest, without a stack overflow', () => {
    const bad = 200_000;
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, `deny:\n${'  - "call me maybe"\n'.repeat(bad)}`);
    const problems = problemsOf(() => validateRuleFiles(file, undefined, 'US'));
    expect(problems).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(problems[0]).toMatchObject({ file, line: 2, column: 5 });
    expect(problems[MAX_REPORTED_PROBLEMS - 1]).toMatchObject({ line: MAX_REPORTED_PROBLEMS + 1 });
    expect(problems[MAX_REPORTED_PROBLEMS]).toEqual({
      file,
      line: 0,
      column: 0,
      reason: `and ${(bad - MAX_REPORTED_PROBLEMS).toLocaleString('en')} more problems (only the first ${MAX_REPORTED_PROBLEMS} are listed)`,
    });
  }, 120_000);

  test('a file of YAML syntax errors is capped the same way', () => {
    const text = '- [\n'.repeat(5000);
    const problems = problemsOf(() => parseYamlText(text, 'rules.yaml'));
    expect(problems.length).toBeLessThanOrEqual(MAX_REPORTED_PROBLEMS + 1);
  });
});
