/**
 * A rules file is bounded (issue 12, item 2): rules.maxFileBytes (checked before reading, and while reading a
 * stream whose size stat cannot tell) and rules.maxRules (after the parse, before any entry is compiled), both
 * named in the problem; for `rules validate`, the daemon's first load and a reload alike.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfigText } from '../../src/config/load-config';
import {
  DEFAULT_RULES_LIMITS,
  loadRulesFile,
  readRulesText,
  validateRuleFiles,
  type RulesFileLimits,
} from '../../src/config/rules-file';
import { RulesCompiler } from '../../src/config/rules-off-thread';
import { RulesReloader } from '../../src/config/rules-reloader';
import { ConfigError } from '../../src/errors/config-error';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'callscreen-rules-limits-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const MB = 1024 * 1024;

function rulesOf(count: number): string {
  const lines = ['deny:'];
  for (let i = 0; i < count; i++) lines.push(`  - "+1 212 555 ${String(1000 + i).slice(-4)}"`);
  return `${lines.join('\n')}\n`;
}

function write(name: string, text: string): string {
  const file = path.join(folder, name);
  writeFileSync(file, text);
  return file;
}

function problemOf(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('loaded, but should have been refused');
}

const limits = (over: Partial<RulesFileLimits>): RulesFileLimits => ({ ...DEFAULT_RULES_LIMITS, ...over });

describe('rules.maxFileBytes', () => {
  test('a file over it is refused, naming the file, its size and the setting', () => {
    const file = write('big.yaml', rulesOf(100)); // 2,206 bytes
    const message = problemOf(() => loadRulesFile(file, 'US', 'big.yaml', limits({ maxFileBytes: 1000 })));
    expect(message).toBe(
      'big.yaml: the file is 2,206 bytes, over rules.maxFileBytes (1,000 bytes); raise rules.maxFileBytes in the configuration if the file is meant to be this big',
    );
  });

  test('in MB when it is that big', () => {
    const file = write('bigger.yaml', `deny: []\n${'#'.repeat(3 * MB)}\n`);
    expect(problemOf(() => loadRulesFile(file, 'US', 'bigger.yaml', limits({ maxFileBytes: 2 * MB })))).toMatch(
      /^bigger\.yaml: the file is 3 MB, over rules\.maxFileBytes \(2 MB\)/,
    );
  });

  test('a file at the limit loads', () => {
    const text = rulesOf(10);
    const file = write('exact.yaml', text);
    expect(
      loadRulesFile(file, 'US', 'exact.yaml', limits({ maxFileBytes: Buffer.byteLength(text) })).rules,
    ).toHaveLength(10);
  });

  test('a rules file pointed at an endless stream stops at the limit, without growing the process', () => {
    const file = path.join(folder, 'zero.yaml');
    symlinkSync('/dev/zero', file);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const message = problemOf(() => readRulesText(file, 'zero.yaml', limits({ maxFileBytes: 16 * MB })));
    expect(message).toMatch(
      /^zero\.yaml: the file has more than 16 MB \(reading stopped there\), over rules\.maxFileBytes \(16 MB\)/,
    );
    // at most about twice the limit was ever held (a growing buffer and its copy)
    expect(process.memoryUsage().rss - before).toBeLessThan(80 * MB);
  });

  test('a named pipe with a writer that never stops stops at the limit too', async () => {
    const fifo = path.join(folder, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `yes '  - "+1 212 555 0100"' > '${fifo}'`], { stdio: 'ignore' });
    try {
      const message = problemOf(() => readRulesText(fifo, 'pipe.yaml', limits({ maxFileBytes: 4 * MB })));
      expect(message).toMatch(
        /^pipe\.yaml: the file has more than 4 MB \(reading stopped there\), over rules\.maxFileBytes/,
      );
    } finally {
      writer.kill();
    }
  });
});

describe('rules.maxRules', () => {
  test('a file with more rules is refused before they are compiled, naming the count and the setting', () => {
    const file = write('many.yaml', `allow: ["+1 212 555 0199"]\n${rulesOf(4)}`);
    expect(problemOf(() => loadRulesFile(file, 'US', 'many.yaml', limits({ maxRules: 4 })))).toBe(
      'many.yaml: has 5 rules, over rules.maxRules (4); raise rules.maxRules in the configuration if it is meant to have this many',
    );
    expect(loadRulesFile(file, 'US', 'many.yaml', limits({ maxRules: 5 })).rules).toHaveLength(5);
  });

  test('`rules validate` applies both limits to the managed allow list too', () => {
    const rules = write('validate-rules.yaml', rulesOf(2));
    const managed = write(
      'validate-managed.yaml',
      'allow: ["+1 212 555 0101", "+1 212 555 0102", "+1 212 555 0103"]\n',
    );
    const message = problemOf(() => validateRuleFiles(rules, managed, 'US', limits({ maxRules: 2 })));
    expect(message).toBe(
      `${managed}: has 3 rules, over rules.maxRules (2); raise rules.maxRules in the configuration if it is meant to have this many`,
    );
  });
});

test('the configuration sets both, with the defaults the loaders use', () => {
  const { rules } = loadConfigText('', 'callscreen.yaml', {}).config;
  expect({ maxFileBytes: rules.maxFileBytes, maxRules: rules.maxRules }).toEqual(DEFAULT_RULES_LIMITS);
  const set = loadConfigText('rules:\n  maxFileBytes: 1000\n  maxRules: 10\n', 'callscreen.yaml', {}).config.rules;
  expect(set).toMatchObject({ maxFileBytes: 1000, maxRules: 10 });
});

describe('a running reloader', () => {
  test('a reload over a limit is rejected naming the setting, and the rules in force stay', async () => {
    const file = write('reload.yaml', rulesOf(2));
    const reloader = new RulesReloader({
      file,
      displayName: 'reload.yaml',
      defaultRegion: 'US',
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 20,
      limits: limits({ maxRules: 3 }),
    });
    const inForce = reloader.load();
    reloader.start();
    try {
      const rejected = new Promise<ConfigError>((resolve) => reloader.once('rejected', resolve));
      renameSync(write('reload.next.yaml', rulesOf(4)), file);
      expect((await rejected).message).toBe(
        'reload.yaml: has 4 rules, over rules.maxRules (3); raise rules.maxRules in the configuration if it is meant to have this many',
      );
      expect(reloader.current()).toBe(inForce);

      const reloaded = new Promise((resolve) => reloader.once('reloaded', resolve));
      renameSync(write('reload.next.yaml', rulesOf(3)), file);
      await reloaded;
      expect(reloader.current().rules).toHaveLength(3);
    } finally {
      reloader.close();
    }
  }, 60_000);

  test('the first load is bounded as well', () => {
    const file = write('first.yaml', rulesOf(5));
    const reloader = new RulesReloader({
      file,
      displayName: 'first.yaml',
      defaultRegion: 'US',
      logger: pino({ level: 'silent' }),
      limits: limits({ maxFileBytes: 100 }),
    });
    expect(problemOf(() => reloader.load())).toMatch(
      /^first\.yaml: the file is 116 bytes, over rules\.maxFileBytes \(100 bytes\)/,
    );
  });
});

describe('the reload compiler', () => {
  const request = (file: string, known: string[] = []) => ({
    file,
    displayName: 'compiled.yaml',
    kind: 'rules' as const,
    defaultRegion: 'US' as const,
    limits: DEFAULT_RULES_LIMITS,
    known,
  });
  const hashOf = (result: object): string => (result as { hash?: string }).hash ?? 'none';
  const rulesOfResult = (result: object): unknown => (result as { value?: { rules: unknown } }).value?.rules;

  test('compiles in place, and says so once, when no worker thread can start', async () => {
    const file = write('fallback.yaml', rulesOf(3));
    const reasons: string[] = [];
    const compiler = new RulesCompiler({ onNoWorker: (r) => reasons.push(r), workerDirectory: folder });
    const first = await compiler.readAndCompile(request(file));
    expect(rulesOfResult(first)).toHaveLength(3);
    expect(hashOf(await compiler.readAndCompile(request(file)))).toBe(hashOf(first));
    expect(reasons).toEqual([`no rules-worker.js in ${folder}`]);
  });

  test('in a worker: the same rules as compiled in place, and a known text is not compiled again', async () => {
    const file = write(
      'worker.yaml',
      'allow:\n  - range: "+1 212 555 0100 .. +1 212 555 0199"\n    dids: ["s", "+1 212 555 0100"]\n' +
        `  - regex: '^\\+1900\\d{7}$'\n    label: premium\n  - number: "+1 900*"\n    expires: 2030-01-01\n${rulesOf(3)}`,
    );
    const compiler = new RulesCompiler({
      onNoWorker: (r) => {
        throw new Error(`no worker: ${r}`);
      },
    });
    const result = await compiler.readAndCompile(request(file));
    expect(rulesOfResult(result)).toEqual(loadRulesFile(file, 'US', 'compiled.yaml').rules);
    expect(await compiler.readAndCompile(request(file, [hashOf(result)]))).toEqual({ hash: hashOf(result) });
  }, 60_000);
});
