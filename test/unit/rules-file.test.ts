import path from 'node:path';
import { compileRulesText, loadRulesFile } from '../../src/config/rules-file';
import { describeRule } from '../../src/domain/rule-set';
import { ConfigError } from '../../src/errors/config-error';

const compile = (text: string, region: 'US' | 'DE' = 'US') => compileRulesText(text, 'rules.yaml', region);
const problemsOf = (text: string) => {
  try {
    compile(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => ({ line: p.line, column: p.column, reason: p.reason }));
  }
  throw new Error('expected a ConfigError');
};
const NOW = new Date('2026-06-15T12:00:00Z');

describe('the shipped example', () => {
  const set = loadRulesFile(path.join(__dirname, '../../config/rules.yaml'), 'US', 'rules.yaml');

  test('loads, with every kind of rule in it', () => {
    expect(new Set(set.rules.map((r) => r.match.kind))).toEqual(
      new Set(['exact', 'range', 'wildcard', 'regex', 'name-wildcard', 'name-regex']),
    );
    expect(set.rules.some((r) => r.expires) && set.rules.some((r) => r.dids)).toBe(true);
  });

  test.each([
    ['+12125550147', '+12125550100', 'allow'], // Acme front desk
    ['+41446681800', '+12125550100', 'allow'], // Zurich office
    ['+12015550123', '+12125550100', 'deny'], // harassing caller
    ['+19005550100', '+12125550100', 'deny'], // premium rate
    ['+13125550111', '+12125550100', undefined], // the demo's clean number
    ['+12125550342', '+12125550100', 'allow'], // case worker on the crisis hotline
    ['+12125550342', '+12125550200', undefined], // ... but not on the sales line
    ['+18095550100', '+12125550200', 'deny'], // one-ring area code on the sales line
    ['+18095550100', '+12125550100', undefined], // ... not on the hotline
  ])('%s calling %s: %s', (caller, did, list) => {
    expect(set.match(caller, { did: { e164: did, raw: did }, now: NOW })?.list).toBe(list);
  });
});

describe('compileRulesText', () => {
  test('each rule remembers its line and column, the label and the text as written', () => {
    const set = compile(
      'allow:\n  - "+49 30 1234567"\ndeny:\n  - number: "+1 833 631 7911"\n    label: robo\n  - regex: \'^\\+1900\\d{7}$\'\n',
    );
    expect(set.rules.map((r) => [r.list, r.source.line, r.source.column, r.label, r.written])).toEqual([
      ['allow', 2, 5, undefined, '+49 30 1234567'],
      ['deny', 4, 5, 'robo', '+1 833 631 7911'],
      ['deny', 6, 5, undefined, '^\\+1900\\d{7}$'],
    ]);
    expect(describeRule(set.rules[1]!)).toBe('deny +1 833 631 7911 (robo) at rules.yaml:4');
  });

  test('range in flow style, and as a "FROM .. TO" string', () => {
    const set = compile(
      'deny:\n  - range: { from: "+1 212 555 0100", to: "+1 212 555 0199" }\n  - range: "+1 212 555 0300 .. +1 212 555 0399"\n  - "+1 212 555 0500 .. +1 212 555 0599"\n',
    );
    expect(set.rules.map((r) => r.match)).toEqual([
      { kind: 'range', from: '+12125550100', to: '+12125550199' },
      { kind: 'range', from: '+12125550300', to: '+12125550399' },
      { kind: 'range', from: '+12125550500', to: '+12125550599' },
    ]);
  });

  test.each([
    ['an unquoted YAML date', 'expires: 2026-12-31', '2026-12-31T00:00:00.000Z'],
    ['a quoted date', 'expires: "2026-12-31"', '2026-12-31T00:00:00.000Z'],
    ['an unquoted YAML timestamp', 'expires: 2026-12-31T18:00:00Z', '2026-12-31T18:00:00.000Z'],
    ['a YAML timestamp with a space and an offset', 'expires: 2026-12-31 18:00:00 +02:00', '2026-12-31T16:00:00.000Z'],
  ])('expires as %s', (_name, line, iso) => {
    expect(compile(`deny:\n  - number: "+1 900*"\n    ${line}\n`).rules[0]?.expires).toBe(iso);
  });

  test('DIDs: numbers normalised, extensions kept as written', () => {
    const set = compile('allow:\n  - number: "+1 212 555 0147"\n    dids: ["+1 (212) 555-0100", "s", "100"]\n');
    expect(set.rules[0]?.dids).toEqual(['+12125550100', 's', '100']);
  });

  test('empty lists are fine', () => {
    expect(compile('allow:\ndeny: []\n').rules).toHaveLength(0);
    expect(() => compile('')).toThrow(/no allow or deny list/); // an empty file is refused: rules-empty-file.test.ts
  });
});

describe('problems: every one reported together, at its line and column', () => {
  test('several problems in one file', () => {
    const text = [
      'allow:', //                                              1
      '  - "+1 212 555 0147"', //                               2
      '  - "call me maybe"', //                                 3
      '  - number: "+1 900*"', //                               4
      '    labl: typo', //                                      5
      'deny:', //                                               6
      '  - regex: "(\\\\d+)+"', //                              7
      '  - range: { from: "+1 212 555 0199", to: "+1 212 555 0100" }', // 8
      '  - number: "+1 212 555 0100"', //                       9
      '    expires: 2026-13-01', //                             10
      '    dids: ["s", "+1 212"]', //                           11
      '  - 12125550100', //                                     12
      '  - "+49 30*"', //                                       13
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      { line: 3, column: 5, reason: expect.stringMatching(/call me maybe/) },
      { line: 5, column: 5, reason: expect.stringMatching(/unknown key "labl"/) },
      { line: 7, column: 12, reason: expect.stringMatching(/repeats a group/) },
      { line: 8, column: 12, reason: expect.stringMatching(/runs backwards/) },
      { line: 10, column: 14, reason: expect.stringMatching(/expires "2026-13-01" is not a real date/) },
      { line: 11, column: 17, reason: expect.stringMatching(/DID "\+1 212"/) },
      { line: 12, column: 5, reason: expect.stringMatching(/in quotes/) },
      { line: 13, column: 5, reason: expect.stringMatching(/whole countries/) },
    ]);
  });

  test('a bad range end is located at that end', () => {
    expect(problemsOf('deny:\n  - range:\n      from: "+1 212 555 0100"\n      to: "+1 212 555 01"\n')).toEqual([
      { line: 4, column: 11, reason: expect.stringMatching(/range end/) },
    ]);
  });

  test('a range missing its end, and one with a misspelt key', () => {
    expect(
      problemsOf(
        'deny:\n  - range: { from: "+1 212 555 0100" }\n  - range: { from: "+1 212 555 0100", too: "+1 212 555 0199" }\n',
      ),
    ).toEqual([
      { line: 2, column: 12, reason: 'range.to is missing' },
      { line: 3, column: 12, reason: 'range.to is missing' },
      { line: 3, column: 39, reason: 'unknown key "too" in range (expected from and to)' },
    ]);
  });

  test('a range string that is not "FROM .. TO"', () => {
    expect(problemsOf('deny:\n  - range: "+1 212 555 0100 - +1 212 555 0199"\n')).toEqual([
      { line: 2, column: 12, reason: expect.stringMatching(/FROM \.\. TO/) },
    ]);
  });

  test('exactly one of number, range, regex, name or nameRegex', () => {
    expect(problemsOf('deny:\n  - label: nothing to match\n  - number: "+1 900*"\n    regex: "^\\\\+1900"\n')).toEqual([
      { line: 2, column: 5, reason: expect.stringMatching(/needs one of number, range, regex, name or nameRegex/) },
      { line: 4, column: 5, reason: expect.stringMatching(/not "number" and "regex"/) },
    ]);
  });

  test('an entry that is neither a string nor a mapping', () => {
    expect(problemsOf('deny:\n  - [1, 2]\n  -\n')).toEqual([
      { line: 2, column: 5, reason: expect.stringMatching(/a number in quotes or a mapping/) },
      { line: 3, column: 4, reason: expect.stringMatching(/a number in quotes or a mapping/) },
    ]);
  });

  test('a wrong type for expires, label and dids', () => {
    const problems = problemsOf(
      'deny:\n  - number: "+1 900*"\n    expires: 2026\n    label: [a]\n    dids: "+1 212 555 0100"\n',
    );
    expect(problems.map((p) => [p.line, p.reason])).toEqual([
      [3, expect.stringMatching(/^expires must be a date/)],
      [4, expect.stringMatching(/^label must be text/)],
      [5, expect.stringMatching(/^dids must be a list/)],
    ]);
  });

  test('an unknown top-level key is an error at its line', () => {
    expect(problemsOf('allow: []\ndenny: []\n')).toEqual([
      { line: 2, column: 1, reason: expect.stringMatching(/unknown key "denny"/) },
    ]);
  });

  test('YAML syntax errors are located', () => {
    const [p] = problemsOf('allow:\n  - "+12125550147"\n deny: [\n');
    expect(p?.line).toBeGreaterThanOrEqual(2);
  });

  test('nothing is loaded when anything is wrong', () => {
    expect(() => compile('allow:\n  - "+1 212 555 0147"\ndeny:\n  - "nope"\n')).toThrow(ConfigError);
  });

  test('a missing file says so', () => {
    expect(() => loadRulesFile('/nonexistent/rules.yaml', 'US')).toThrow(/file not found/);
  });
});
