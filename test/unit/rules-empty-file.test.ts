import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { compileManagedRulesText, compileRulesText } from '../../src/config/rules-file';
import { RulesReloader } from '../../src/config/rules-reloader';
import { ConfigError } from '../../src/errors/config-error';

jest.setTimeout(15_000);

const V1 = 'allow:\n  - "+1 212 555 0147"\ndeny:\n  - "+1 900*"\n';
const NO_RULES = 'allow: []\ndeny: []\n';
const REJECTED = 'rules edit rejected; keeping the last good rules';

interface LogLine {
  level: number;
  msg: string;
  rulesFile?: string;
  problems?: string[];
}

let dir: string;
let reloader: RulesReloader | undefined;
let lines: LogLine[];

function startReloader(file: string, text: string): RulesReloader {
  writeFileSync(file, text);
  lines = [];
  const logger = pino(
    { level: 'info', base: null },
    { write: (chunk: string) => void lines.push(JSON.parse(chunk) as LogLine) },
  );
  reloader = new RulesReloader({ file, displayName: 'rules.yaml', defaultRegion: 'US', logger, pollIntervalMs: 50 });
  reloader.load();
  reloader.start();
  return reloader;
}

async function waitFor(what: string, condition: () => boolean, withinMs = 2000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.file}:${p.line} ${p.reason}`);
    throw e;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'callscreen-empty-rules-'));
});

afterEach(() => {
  reloader?.close();
  reloader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('a rules file without an allow or a deny list is refused', () => {
  test.each([
    ['empty', ''],
    ['blank lines only', '\n\n  \n'],
    ['comments only', '# allow:\n#   - "+1 212 555 0147"\n'],
    ['an empty mapping', '{}\n'],
  ])('%s', (_name, text) => {
    expect(problemsOf(() => compileRulesText(text, 'rules.yaml', 'US'))).toEqual([
      expect.stringMatching(/^rules\.yaml:0 no allow or deny list.*allow: \[\].*deny: \[\]/),
    ]);
  });

  test('"allow: []" and "deny: []" say it: no rules', () => {
    expect(compileRulesText(NO_RULES, 'rules.yaml', 'US').rules).toHaveLength(0);
    expect(compileRulesText('deny: []\n', 'rules.yaml', 'US').rules).toHaveLength(0);
  });

  test('the managed allow list, which callscreen writes itself, may still be empty', () => {
    expect(compileManagedRulesText('', 'rules.managed.yaml', 'US').rules).toHaveLength(0);
  });

  test('at the start: the daemon does not start on an empty rules file', () => {
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, '');
    const r = new RulesReloader({
      file,
      displayName: 'rules.yaml',
      defaultRegion: 'US',
      logger: pino({ level: 'silent' }),
    });
    expect(() => r.load()).toThrow(/rules\.yaml: no allow or deny list/);
  });
});

describe('RulesReloader: emptying the rules file keeps the rules in force', () => {
  test('an emptied file is a rejected edit: the last good rules stay, one warning, the rejected event', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    const good = r.current();
    const rejected = jest.fn();
    r.on('rejected', rejected);

    writeFileSync(file, '');
    await waitFor('the emptied file rejected', () => r.lastError !== undefined);
    expect(r.current()).toBe(good);
    expect(r.current().rules).toHaveLength(2);
    expect(rejected).toHaveBeenCalledTimes(1);
    expect(lines.filter((l) => l.msg === REJECTED)).toEqual([
      expect.objectContaining({
        level: 40,
        rulesFile: 'rules.yaml',
        problems: [expect.stringMatching(/^rules\.yaml: no allow or deny list/)],
      }),
    ]);
    expect(lines.filter((l) => l.msg === 'rules reloaded')).toHaveLength(0);
  });

  test('"allow: []" and "deny: []" empty the rules on purpose', async () => {
    const file = path.join(dir, 'rules.yaml');
    const r = startReloader(file, V1);
    writeFileSync(file, NO_RULES);
    await waitFor('no rules in force', () => r.current().rules.length === 0);
    expect(r.lastError).toBeUndefined();
  });
});
