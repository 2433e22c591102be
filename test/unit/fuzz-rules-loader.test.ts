/**
 * The rules loader under hostile input: random rule entries (numbers, ranges, regexes, labels, expiries,
 * DIDs of any type and shape, unknown keys), random edits of the shipped config/rules.yaml (its values and
 * its text) and random YAML texts. Whatever the input, compileRulesText gives a RuleSet with one rule per
 * entry, each located in the file, or a ConfigError whose every problem has a reason and a place; never
 * another exception, never a hang. rules-robustness.test.ts does the same for one entry at a time
 * (compileRule). Fixed seed: docs/development.md, "Property tests".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js';
import { parse, stringify } from 'yaml';
import { compileRulesText, DEFAULT_RULES_LIMITS } from '../../src/config/rules-file';
import type { RuleSet } from '../../src/domain/rule-set';
import {
  edited,
  editedText,
  expectLocatedProblems,
  fuzzRuns,
  hostileValues,
  keysLike,
  oddStrings,
  textEdits,
  timed,
  valueEdits,
  yamlishText,
} from '../support/hostile-yaml';

const SEED = 12_002;
const RUNS = fuzzRuns(SEED, 120);
/** one compile may take this long at most */
const MAX_LOAD_MS = 2_000;

const FILE = 'rules.yaml';
const SHIPPED = readFileSync(path.join(__dirname, '../../config/rules.yaml'), 'utf8');
const SHIPPED_VALUE = parse(SHIPPED) as unknown;
/** problems about the file as a whole (line 0): it names neither list, or it is over a limit */
const noRuleLists = (reason: string): boolean =>
  reason.startsWith('no allow or deny list') || /over rules\.max(Rules|FileBytes)/.test(reason);

const regions = fc.constantFrom<CountryCode>('US', 'DE', 'GB', 'CH', 'IT', 'AU', 'JP', 'BR');

/**
 * A RuleSet, with every rule located in the file; or a ConfigError with located problems. Anything else
 * fails the property.
 */
function compileChecked(text: string, region: CountryCode): RuleSet | undefined {
  try {
    const set = timed(MAX_LOAD_MS, () => compileRulesText(text, FILE, region));
    for (const rule of set.rules) expect(rule.source).toMatchObject({ file: FILE });
    expect(set.rules.every((r) => r.source.line >= 1 && r.source.column >= 1)).toBe(true);
    return set;
  } catch (e) {
    expectLocatedProblems(e, FILE, text, noRuleLists);
    return undefined;
  }
}

// ---- rule entries ----

/** what admins type as numbers: digits with + * ? X and separators, sometimes anything */
const numberish = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'+0123456789 -()./*?Xx'), maxLength: 24 }),
  fc.constantFrom('+1 212 555 0100', '+49 30 1234567', '030 7654321', '+1 900*', '+1 (718) 555-02XX', 's', '100'),
  fc.string({ maxLength: 20 }),
);
/** numbers that are numbers in every region tried: mostly good entries, so that whole files compile too */
const goodNumbers = fc.oneof(
  fc.integer({ min: 0, max: 9999 }).map((n) => `+1 212 555 ${String(n).padStart(4, '0')}`),
  fc.integer({ min: 1_000_000, max: 9_999_999 }).map((n) => `+49 30 ${n}`),
  fc.constantFrom('+1 900*', '+1 (718) 555-02XX', '+44 20 7946 0???', '+41 44 668 18 00'),
);
const goodRanges = fc
  .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))
  .map(
    ([a, b]) =>
      `+1 212 555 01${String(Math.min(a, b)).padStart(2, '0')} .. +1 212 555 01${String(Math.max(a, b)).padStart(2, '0')}`,
  );
const ranges = fc.oneof(
  fc.record({ from: numberish, to: numberish }),
  fc.tuple(numberish, numberish).map(([from, to]) => `${from} .. ${to}`),
  fc.record({ from: hostileValues, to: hostileValues, extra: hostileValues }, { requiredKeys: [] }),
);
const regexes = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'\\d+*?()|[]{}^$.0123456789,+-:<=!kwsb'), maxLength: 30 }),
  fc.constantFrom('^\\+1900\\d{7}$', '(\\d+)+', '(a|a)*', '\\1', '(?=x)', 'x'.repeat(300), '['),
);
const dates = fc.oneof(
  fc.constantFrom('2027-06-30', '2027-06-30T18:00:00Z', '2027-02-30', '2027-13-01', '1970-01-01', '9999-12-31', ''),
  fc.constantFrom('2027-06-30T18:00:00-05:00', 'tomorrow', '30.06.2027', '2027-06-30T25:00:00Z', '+275760-09-13'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const ENTRY_KEYS = ['number', 'range', 'regex', 'label', 'expires', 'dids'];
/** entries that compile in every region tried */
const goodEntries = fc.oneof(
  goodNumbers,
  fc.record({ number: goodNumbers, label: fc.string({ maxLength: 20 }) }, { requiredKeys: ['number'] }),
  fc.record(
    {
      range: goodRanges,
      dids: fc.array(fc.constantFrom('+1 212 555 0100', 's', '100'), { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['range'] },
  ),
  fc.record(
    {
      regex: fc.constantFrom('^\\+1900\\d{7}$', '^\\+4930'),
      expires: fc.constantFrom('2027-06-30', '2030-01-01T00:00:00Z'),
    },
    { requiredKeys: ['regex'] },
  ),
);
/** an entry: a number in quotes, or a mapping of some of the entry's keys (good or hostile values) and others */
const entries: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: numberish },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        number: fc.oneof(numberish, hostileValues),
        range: fc.oneof(ranges, hostileValues),
        regex: fc.oneof(regexes, hostileValues),
        label: fc.oneof(oddStrings, fc.string({ maxLength: 20 }), hostileValues),
        expires: fc.oneof(dates, hostileValues),
        dids: fc.oneof(fc.array(numberish, { maxLength: 3 }), hostileValues),
        other: hostileValues,
      },
      { requiredKeys: [] },
    ),
  },
  // good entries, so that whole files compile too
  {
    weight: 12,
    arbitrary: goodEntries,
  },
  { weight: 1, arbitrary: hostileValues },
);
const entryLists = (maxLength: number) =>
  fc.oneof({ weight: 6, arbitrary: fc.array(entries, { maxLength }) }, { weight: 1, arbitrary: hostileValues });

/** a rules file: allow and deny lists (either, both, neither), now and then with another top-level key */
const rulesDocuments = fc
  .tuple(
    fc.option(entryLists(6), { nil: undefined, freq: 4 }),
    fc.option(entryLists(6), { nil: undefined, freq: 4 }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileValues }),
  )
  .map(([allow, deny, other]) => ({
    ...(allow === undefined ? {} : { allow }),
    ...(deny === undefined ? {} : { deny }),
    ...(other === undefined ? {} : { other }),
  }));

/** how many entries a document holds (what a RuleSet compiled from it must have as rules) */
const entryCount = (doc: Record<string, unknown>): number =>
  ['allow', 'deny'].reduce((n, list) => n + (Array.isArray(doc[list]) ? (doc[list] as unknown[]).length : 0), 0);

const keys = keysLike([...ENTRY_KEYS, 'allow', 'deny', 'from', 'to']);

describe('the rules loader under hostile input: a RuleSet of located rules or located problems, nothing else', () => {
  test('the shipped file compiles (the edits below start from a good file)', () => {
    expect(compileChecked(SHIPPED, 'US')?.rules.length).toBe(entryCount(SHIPPED_VALUE as Record<string, unknown>));
  });

  test('random allow and deny lists of random entries: one rule per entry, or located problems', () => {
    fc.assert(
      fc.property(rulesDocuments, regions, (doc, region) => {
        const set = compileChecked(stringify(doc), region);
        if (set) expect(set.rules.length).toBe(entryCount(doc));
      }),
      RUNS,
    );
  });

  test('lists of good entries always compile: one rule per entry, each at its own line', () => {
    const lists = fc.record({
      allow: fc.array(goodEntries, { maxLength: 8 }),
      deny: fc.array(goodEntries, { maxLength: 8 }),
    });
    fc.assert(
      fc.property(lists, regions, (doc, region) => {
        const set = compileChecked(stringify(doc), region);
        expect(set?.rules.length).toBe(entryCount(doc));
        expect(new Set(set?.rules.map((r) => r.source.line)).size).toBe(entryCount(doc));
      }),
      RUNS,
    );
  });

  test('rules.maxRules: lists of good entries compile when they fit, and are refused whole, naming the limit, when they do not', () => {
    const lists = fc.record({
      allow: fc.array(goodEntries, { maxLength: 6 }),
      deny: fc.array(goodEntries, { maxLength: 6 }),
    });
    fc.assert(
      fc.property(lists, fc.nat(12), (doc, maxRules) => {
        const text = stringify(doc);
        const limits = { ...DEFAULT_RULES_LIMITS, maxRules };
        try {
          expect(compileRulesText(text, FILE, 'US', limits).rules.length).toBe(entryCount(doc));
          expect(entryCount(doc)).toBeLessThanOrEqual(maxRules);
        } catch (e) {
          const { problems } = expectLocatedProblems(e, FILE, text, noRuleLists);
          expect(entryCount(doc)).toBeGreaterThan(maxRules);
          expect(problems).toEqual([
            expect.objectContaining({ line: 0, reason: expect.stringContaining('rules.maxRules') }),
          ]);
        }
      }),
      RUNS,
    );
  });

  test('hundreds of bad entries: the first 100 problems are listed, one more line counts the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hostileValues, entries), { minLength: 100, maxLength: 300 }), (deny) => {
        const text = stringify({ deny });
        try {
          compileRulesText(text, FILE, 'US');
        } catch (e) {
          expect(expectLocatedProblems(e, FILE, text, noRuleLists).problems.length).toBeLessThanOrEqual(101);
        }
      }),
      fuzzRuns(SEED, 10),
    );
  });

  test('the shipped file with 1 to 3 values replaced by the wrong type, a huge number or an odd string, removed, or an unknown key added', () => {
    fc.assert(
      fc.property(
        fc.array(valueEdits(keys, fc.oneof(hostileValues, entries)), { minLength: 1, maxLength: 3 }),
        regions,
        (edits, region) => {
          compileChecked(stringify(edited(SHIPPED_VALUE, edits)), region);
        },
      ),
      RUNS,
    );
  });

  test('the shipped text with 1 to 3 lines deleted, doubled, re-indented, given an odd value, or text dropped in', () => {
    fc.assert(
      fc.property(fc.array(textEdits, { minLength: 1, maxLength: 3 }), regions, (edits, region) => {
        compileChecked(editedText(SHIPPED, edits), region);
      }),
      RUNS,
    );
  });

  test('random YAML-ish texts', () => {
    const words = ['allow', 'deny', 'number', 'range', 'regex', 'label', 'expires', 'dids', '"+1 212 555 0100"'];
    const texts = yamlishText(words).chain((text) => fc.constantFrom(text, `deny:\n  - ${text}`, `allow:\n${text}`));
    fc.assert(
      fc.property(texts, regions, (text, region) => {
        compileChecked(text, region);
      }),
      RUNS,
    );
  });
});
