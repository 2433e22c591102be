import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { loadRulesFile } from '../../src/config/rules-file';
import { problemsOf } from '../support/config-problems';

const dir = mkdtempSync(path.join(tmpdir(), 'callscreen-config-'));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe('loadConfig', () => {
  test('the shipped example config loads', () => {
    const { config, rulesFile } = loadConfig(path.join(__dirname, '../../config/callscreen.yaml'), {});
    expect(config.ari.app).toBe('callscreen');
    expect(rulesFile).toMatch(/config[\\/]rules\.yaml$/);
    expect(Object.isFrozen(config.screening)).toBe(true);
  });

  test('an empty file gives every default', () => {
    expect(loadConfig(write('empty.yaml', ''), {}).config.screening.deadlineMs).toBe(200);
  });

  test('environment variables override connection settings', () => {
    const { config } = loadConfig(write('env.yaml', 'ari:\n  url: http://pbx:8088\n'), {
      CALLSCREEN_ARI_URL: 'http://10.0.0.5:8088',
      CALLSCREEN_REDIS_URL: 'redis://cache:6379',
      CALLSCREEN_AMI_PORT: '5039',
    });
    expect(config.ari.url).toBe('http://10.0.0.5:8088');
    expect(config.redis.url).toBe('redis://cache:6379');
    expect(config.ami.port).toBe(5039);
  });

  test('malformed YAML names file, line and column', () => {
    const file = write('broken.yaml', 'ari:\n  url: http://x\n   app: [oops\n');
    const [p] = problemsOf(() => loadConfig(file, {}));
    expect(p).toMatchObject({ file, line: expect.any(Number) });
    expect(p?.line).toBeGreaterThanOrEqual(2);
  });

  test('an unknown key is an error at its line', () => {
    const file = write('typo.yaml', 'screening:\n  deadlineMs: 100\n  reputationTreshold: 0.5\n');
    const [p] = problemsOf(() => loadConfig(file, {}));
    expect(p).toMatchObject({ line: 3, column: 3 });
    expect(p?.reason).toContain('reputationTreshold');
  });

  test('a wrong value is an error at its line, with the reason', () => {
    const file = write('bad-value.yaml', 'numbers:\n  defaultRegion: XX\nscreening:\n  denyVerdict: maybe\n');
    const problems = problemsOf(() => loadConfig(file, {}));
    expect(problems.map((p) => p.line).sort()).toEqual([2, 4]);
    expect(problems.find((p) => p.line === 4)?.reason).toMatch(/screening\.denyVerdict/);
  });

  test('a missing file says so', () => {
    const [p] = problemsOf(() => loadConfig(path.join(dir, 'nope.yaml'), {}));
    expect(p?.reason).toBe('file not found');
  });
});

describe('loadRulesFile', () => {
  test('the shipped example rules load', () => {
    expect(loadRulesFile(path.join(__dirname, '../../config/rules.yaml'), 'US').rules.length).toBeGreaterThan(0);
  });

  test('each rule remembers its line', () => {
    const set = loadRulesFile(
      write('rules-ok.yaml', 'allow:\n  - "+49 30 1234567"\ndeny:\n  - number: "+1 833 631 7911"\n    label: robo\n'),
      'DE',
    );
    expect(set.rules.map((r) => [r.list, r.source.line, r.label])).toEqual([
      ['allow', 2, undefined],
      ['deny', 4, 'robo'],
    ]);
  });

  test('a number that does not parse is reported with its line, and nothing is loaded', () => {
    const file = write(
      'rules-bad.yaml',
      'allow:\n  - "+49 30 1234567"\n  - "call me maybe"\ndeny:\n  - number: "+4*"\n',
    );
    const problems = problemsOf(() => loadRulesFile(file, 'DE'));
    expect(problems.map((p) => p.line)).toEqual([3, 5]);
  });

  test('a wrong shape is reported at its line', () => {
    const [p] = problemsOf(() => loadRulesFile(write('rules-shape.yaml', 'allow:\n  - numbr: "+4930123456"\n'), 'DE'));
    expect(p).toMatchObject({ line: 2 });
  });

  test('empty lists are fine', () => {
    expect(loadRulesFile(write('rules-empty.yaml', 'allow:\ndeny: []\n'), 'DE').rules).toHaveLength(0);
  });
});

describe('policies and DID groups', () => {
  test('a policy naming a DID group that does not exist is an error at its line', () => {
    const file = write(
      'policy-bad-group.yaml',
      'didGroups:\n  hotline: ["+1 212 555 0100"]\npolicies:\n  - name: x\n    dids: [hotlne]\n',
    );
    const [p] = problemsOf(() => loadConfig(file, {}));
    expect(p).toMatchObject({ line: 5 });
    expect(p?.reason).toMatch(/"hotlne" is neither a DID group \(didGroups: hotline\) nor a number/);
  });

  test('thresholds must rise', () => {
    const [p] = problemsOf(() =>
      loadConfig(write('thresholds.yaml', 'screening:\n  thresholds:\n    challenge: 70\n    voicemail: 60\n'), {}),
    );
    expect(p?.reason).toMatch(/challenge <= voicemail <= reject/);
  });

  test('a time window with a bad time and an unknown time zone are errors at their lines', () => {
    const file = write(
      'window.yaml',
      'policies:\n  - name: nights\n    timeZone: Mars/Olympus\n    when:\n      - { from: "25:00", to: "07:00" }\n',
    );
    const problems = problemsOf(() => loadConfig(file, {}));
    expect(problems.map((p) => p.line).sort()).toEqual([3, 5]);
  });

  test('policy DIDs are normalised like numbers and resolved through groups', () => {
    const file = write(
      'policy-ok.yaml',
      'didGroups:\n  sales: ["(212) 555-0200"]\npolicies:\n  - name: s\n    dids: [sales, "+1 212 555 0201", "100"]\n',
    );
    const { screening } = loadConfig(file, {});
    expect([...(screening.policies[0]?.dids ?? [])]).toEqual(['+12125550200', '+12125550201', '100']);
  });
});
