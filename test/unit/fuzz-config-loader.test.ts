/**
 * The config loader under hostile input: random YAML texts, and random edits of the shipped
 * config/callscreen.yaml (values of the wrong type, unknown keys, huge numbers, odd strings, URLs with odd
 * schemes and ports, lines deleted, doubled or re-indented, text dropped in anywhere), with random
 * environment overrides. Whatever the input, loadConfigText gives a frozen configuration or a ConfigError
 * whose every problem has a reason and a place (the file and a line >= 1, or the environment); never
 * another exception, never a hang. Fixed seed: docs/development.md, "Property tests".
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { ENV_OVERRIDES, loadConfigText } from '../../src/config/load-config';
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
  urls,
  valueEdits,
  yamlishText,
} from '../support/hostile-yaml';

const SEED = 12_001;
/** loading the whole shipped file takes a few ms: fewer runs of its edits keep this file within a few seconds */
const RUNS = fuzzRuns(SEED, 150);
const EDIT_RUNS = fuzzRuns(SEED, 50);
/** one load may take this long at most */
const MAX_LOAD_MS = 2_000;

const FILE = 'callscreen.yaml';
const SHIPPED = readFileSync(path.join(__dirname, '../../config/callscreen.yaml'), 'utf8');
const SHIPPED_VALUE = parse(SHIPPED) as unknown;

function deeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

/** A frozen configuration, or a ConfigError with located problems; anything else fails the property. */
function loadChecked(text: string, env: NodeJS.ProcessEnv = {}): 'loaded' | 'refused' {
  try {
    const loaded = timed(MAX_LOAD_MS, () =>
      loadConfigText(text, FILE, env, { path: '/etc/callscreen/callscreen.yaml' }),
    );
    expect(deeplyFrozen(loaded)).toBe(true);
    return 'loaded';
  } catch (e) {
    expectLocatedProblems(e, FILE, text);
    return 'refused';
  }
}

const SECTIONS = ['ari', 'ami', 'redis', 'numbers', 'rules', 'screening', 'policies', 'didGroups', 'log', 'http'];
const keys = keysLike(['url', 'port', 'enabled', 'points', 'weight', 'file', 'level', 'dids', 'name', 'nodes', 'db']);

/** YAML punctuation and the file's words; some start inside a section, so that more get past the first check */
const yamlish = yamlishText([
  ...SECTIONS,
  'url',
  'signals',
  'dids',
  'defaultRegion',
  'US',
  '30',
  '-1',
  'true',
  '~',
]).chain((text) => fc.constantFrom(text, `ari:\n  ${text}`, `screening:\n  signals:\n    ${text}`));

/** random documents: any JSON-like value, mostly a mapping of sections, written out as YAML */
const randomDocuments = fc
  .oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    {
      weight: 3,
      arbitrary: fc.dictionary(
        fc.constantFrom(...SECTIONS),
        fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(keys, hostileValues, { maxKeys: 4 })),
        { maxKeys: 5 },
      ),
    },
  )
  .map((value) => stringify(value));

/** the environment's overrides, each absent or any value */
const environments: fc.Arbitrary<NodeJS.ProcessEnv> = fc.record(
  Object.fromEntries(
    Object.keys(ENV_OVERRIDES).map((name) => [
      name,
      fc.oneof(fc.constant(undefined), urls, oddStrings, fc.integer({ min: -1, max: 70_000 }).map(String)),
    ]),
  ) as Record<keyof typeof ENV_OVERRIDES, fc.Arbitrary<string | undefined>>,
  { requiredKeys: [] },
);

describe('the config loader under hostile input: a frozen configuration or located problems, nothing else', () => {
  test('the shipped file loads (the edits below start from a good file)', () => {
    expect(loadChecked(SHIPPED)).toBe('loaded');
  });

  test('random YAML-ish texts', () => {
    fc.assert(
      fc.property(yamlish, (text) => {
        loadChecked(text);
      }),
      RUNS,
    );
  });

  test('random documents (any value, any section) written out as YAML', () => {
    fc.assert(
      fc.property(randomDocuments, (text) => {
        loadChecked(text);
      }),
      RUNS,
    );
  });

  test('the shipped file with 1 to 3 values replaced by the wrong type, a huge number, an odd string or URL, removed, or an unknown key added', () => {
    fc.assert(
      fc.property(fc.array(valueEdits(keys), { minLength: 1, maxLength: 3 }), (edits) => {
        loadChecked(stringify(edited(SHIPPED_VALUE, edits)));
      }),
      EDIT_RUNS,
    );
  });

  test('the shipped text with 1 to 3 lines deleted, doubled, re-indented, given an odd value, or text dropped in', () => {
    fc.assert(
      fc.property(fc.array(textEdits, { minLength: 1, maxLength: 3 }), (edits) => {
        loadChecked(editedText(SHIPPED, edits));
      }),
      EDIT_RUNS,
    );
  });

  test('the shipped file, or one edit of it, with random environment overrides (a problem of an overridden value may name the variable instead of a line)', () => {
    fc.assert(
      fc.property(fc.option(valueEdits(keys), { nil: undefined }), environments, (edit, env) => {
        loadChecked(edit ? stringify(edited(SHIPPED_VALUE, [edit])) : SHIPPED, env);
      }),
      EDIT_RUNS,
    );
  });
});
