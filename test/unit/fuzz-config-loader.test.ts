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
import { ENV_OVERRIDES, loadConfigText, type LoadedConfig } from '../../src/config/load-config';
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

/** A frozen configuration, or (undefined) a ConfigError with located problems; anything else fails the property. */
function loadChecked(text: string, env: NodeJS.ProcessEnv = {}): LoadedConfig | undefined {
  try {
    const loaded = timed(MAX_LOAD_MS, () =>
      loadConfigText(text, FILE, env, { path: '/etc/callscreen/callscreen.yaml' }),
    );
    expect(deeplyFrozen(loaded)).toBe(true);
    return loaded;
  } catch (e) {
    expectLocatedProblems(e, FILE, text);
    return undefined;
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
    expect(loadChecked(SHIPPED)).toBeDefined();
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

  test('ari.url and redis.url of any scheme, credentials, host, port and database, in the file or the environment: what loads is a URL the clients read as meant', () => {
    // mostly near misses of a good URL (one part in four is wrong), so that a good share loads
    const oneIn4 = (good: fc.Arbitrary<string>, bad: fc.Arbitrary<string>) =>
      fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: bad });
    const nearMisses = (schemes: readonly string[]) =>
      fc
        .tuple(
          fc.constantFrom(...schemes),
          fc.constantFrom('', 'user:secret@', ':@'),
          oneIn4(fc.constantFrom('127.0.0.1', '[::1]', 'pbx.example'), fc.constantFrom('ex ample', '[::1')),
          oneIn4(fc.constantFrom('', ':1', ':8088', ':65535'), fc.constantFrom(':65536', ':0')),
          oneIn4(fc.constantFrom('', '/', '/0', '/15'), fc.constantFrom('/16', '/a', '?db=1')),
        )
        .map(([scheme, credentials, host, port, path]) => `${scheme}://${credentials}${host}${port}${path}`);
    const ariUrls = fc.oneof({ weight: 1, arbitrary: urls }, { weight: 4, arbitrary: nearMisses(['http', 'HTTPS']) });
    const redisUrls = fc.oneof(
      { weight: 1, arbitrary: urls },
      { weight: 4, arbitrary: nearMisses(['redis', 'rediss', 'REDIS', 'Rediss']) },
    );
    const given = fc.record({
      ari: ariUrls,
      redis: redisUrls,
      ariEnv: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: ariUrls }),
      redisEnv: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: redisUrls }),
    });
    fc.assert(
      fc.property(given, ({ ari, redis, ariEnv, redisEnv }) => {
        const env = { CALLSCREEN_ARI_URL: ariEnv, CALLSCREEN_REDIS_URL: redisEnv };
        const config = loadChecked(stringify({ ari: { url: ari }, redis: { url: redis } }), env)?.config;
        if (!config) return;
        expect(config.ari.url).toBe(ariEnv || ari);
        expect(new URL(config.ari.url).protocol).toMatch(/^https?:$/);
        const url = config.redis.url ?? '';
        expect(url.toLowerCase()).toBe((redisEnv || redis).toLowerCase());
        expect(url).toMatch(/^rediss?:\/\//);
        const parsed = new URL(url);
        expect(parsed.hostname).not.toBe('');
        expect(parsed.pathname).toMatch(/^(\/([0-9]|1[0-5])?)?$/);
        expect(parsed.search + parsed.hash).toBe('');
      }),
      RUNS,
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
