/**
 * Caller-name rules (issue 14, part 3): written in rules.yaml beside the number rules, compared in one normal
 * form, deciding like number rules or adding points, explained in the reasons, and carried through the
 * reloader's worker-thread encoding unchanged.
 */
import { normaliseCallerName } from '../../src/domain/caller-name';
import type { Decision } from '../../src/domain/decision';
import { describeRule, type RuleSet } from '../../src/domain/rule-set';
import { screenCall } from '../../src/domain/screen-call';
import { compileRulesText } from '../../src/config/rules-file';
import { decodeRules, encodeRules } from '../../src/config/rules-transfer';
import { ConfigError } from '../../src/errors/config-error';
import { compileTestModel, foundHistory } from '../support/screening-fixtures';

const AT = new Date('2026-11-23T15:00:00Z');
const HOTLINE = '+12125550100';
const RULES = `
allow:
  - name: "ACME Corp*"
    label: our parent company's switchboard
  - name: "City Hospital"
    points: 20
deny:
  - number: "+1 201 555 0123"
    label: harassing caller
  - name: "SPAM RISK"
  - name: "*scam likely*"
    label: carrier's own warning
  - nameRegex: '^V\\d{9}$'
    label: numbered robocall campaigns
    points: 35
  - name: "Warranty Dept"
    dids: ["+1 212 555 0200"]
`;
const rules = compileRulesText(RULES, 'rules.yaml', 'US');
const model = compileTestModel();

function screen(name: string | undefined, caller = '+13125550111', set: RuleSet = rules): Decision {
  return screenCall(
    { callerNumber: caller, did: HOTLINE, at: AT, ...(name !== undefined ? { callerName: name } : {}) },
    { rules: set, history: foundHistory() },
    model,
  );
}
const reason = (d: Decision, code: string) => d.reasons.find((r) => r.code === code);

describe('caller names are compared in one normal form', () => {
  test.each([
    ['SPAM  RISK', 'spam risk'],
    ['  spam risk ', 'spam risk'],
    ['ＳＰＡＭ ＲＩＳＫ', 'spam risk'],
    ['Zürich Versicherung', 'zurich versicherung'],
    ['SPAM\u200b RISK', 'spam risk'],
    ['"SPAM RISK"', 'spam risk'],
    ['\\"Spam Risk\\" Alert', '"spam risk" alert'],
    ['\u202eKSIR MAPS', 'ksir maps'],
    ['', ''],
  ])('%j -> %j', (raw, normal) => {
    expect(normaliseCallerName(raw)).toBe(normal);
  });
});

describe('name rules decide a call like number rules', () => {
  test.each([
    ['SPAM RISK', 'deny', 'rule.deny'],
    ['Spam  Risk', 'deny', 'rule.deny'],
    ['Possible SCAM LIKELY', 'deny', 'rule.deny'],
    ['ACME Corporation', 'allow', 'rule.allow'],
    ['acme corp', 'allow', 'rule.allow'],
  ])('a call named %j is decided by its name rule (%s)', (name, list, code) => {
    const d = screen(name);
    expect(d.verdict).toBe(list === 'allow' ? 'allow' : model.base.denyVerdict);
    const r = reason(d, code);
    expect(r?.rule?.list).toBe(list);
    expect(r?.text).toContain(`caller name "${name}" matches name`);
    expect(r?.text).toMatch(/rules\.yaml:\d+/);
  });

  test('a withheld number is still denied by the name it sends', () => {
    const d = screen('SPAM RISK', 'anonymous');
    expect(d.reasons.map((r) => r.code)).toContain('rule.deny');
  });

  test('a number rule wins over a name rule: a denied number is not let through by the name it sends', () => {
    const d = screen('ACME Corp', '+12015550123');
    expect(reason(d, 'rule.deny')?.text).toContain('+12015550123 denied by rules.yaml');
    expect(reason(d, 'rule.allow')).toBeUndefined();
  });

  test('a name scoped to other DIDs does not apply; no name, or a name no rule knows, is screened as usual', () => {
    for (const name of ['Warranty Dept', undefined, 'Jane Doe']) {
      const d = screen(name);
      expect(d.verdict).toBe('allow');
      expect(d.reasons.some((r) => r.code.startsWith('rule.'))).toBe(false);
    }
  });
});

describe('name rules with points score instead of deciding', () => {
  test('a deny entry with points adds them, explained with the name, the rule and its line', () => {
    const d = screen('V123456789');
    const r = reason(d, 'rule.name');
    expect(r).toMatchObject({ points: 35 });
    expect(r?.text).toBe(
      'caller name "V123456789" matches name regex ^V\\d{9}$ (deny list) at rules.yaml:13 (numbered robocall campaigns)',
    );
    expect(d.score).toBe(35);
    expect(d.verdict).toBe('challenge');
  });

  test('the name regex is tested case-insensitively on the normal form', () => {
    expect(reason(screen('v123456789'), 'rule.name')?.points).toBe(35);
    expect(reason(screen('V12345678'), 'rule.name')).toBeUndefined();
  });

  test('an allow entry with points takes them off', () => {
    const d = screen('CITY HOSPITAL');
    expect(reason(d, 'rule.name')?.points).toBe(-20);
    expect(d.verdict).toBe('allow');
  });
});

describe('name rules in the rules file', () => {
  const problems = (text: string): string[] => {
    try {
      compileRulesText(text, 'rules.yaml', 'US');
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => `${p.line}:${p.column} ${p.reason}`);
      throw e;
    }
    return [];
  };

  test.each([
    ['deny:\n  - name: "*"\n', /2:\d+ name "\*" would match every name/],
    ['deny:\n  - name: "   "\n', /2:\d+ name is empty/],
    ['deny:\n  - nameRegex: "(a+)+"\n', /2:\d+ .*repeat/i],
    ['deny:\n  - number: "+1 900*"\n    points: 10\n', /3:\d+ points is for name rules/],
    ['deny:\n  - name: "SPAM"\n    points: 0\n', /3:\d+ points must be a number above 0/],
    ['deny:\n  - name: "SPAM"\n    number: "+1 900*"\n', /exactly one of number, range, regex, name or nameRegex/],
  ])('%j is refused with its line and reason', (text, expected) => {
    expect(problems(text)).toEqual([expect.stringMatching(expected)]);
  });

  test('describeRule names the kind and the points', () => {
    const described = rules.rules.map(describeRule);
    expect(described).toContain('deny name "SPAM RISK" at rules.yaml:10');
    expect(described).toContain('deny name regex ^V\\d{9}$ (numbered robocall campaigns) +35 points at rules.yaml:13');
    expect(described).toContain('allow name "City Hospital" -20 points at rules.yaml:5');
  });

  test("name rules cross the reloader's worker-thread encoding unchanged", async () => {
    const decoded = await decodeRules(encodeRules(rules.rules), 'rules.yaml');
    for (const name of ['SPAM RISK', 'v123456789', 'Acme Corp East', 'city hospital', 'Jane Doe']) {
      const before = screen(name);
      const after = screen(name, undefined, decoded);
      expect(after.reasons).toEqual(before.reasons);
      expect(after.verdict).toBe(before.verdict);
    }
  });
});
