/**
 * Hostile input for the property tests of the YAML loaders (fuzz-config-loader, fuzz-rules-loader): values
 * of the wrong type, huge numbers, odd strings and URLs, random edits of a shipped file's value and of its
 * text, and the check that every problem a loader reports has a place and a reason.
 */
import fc from 'fast-check';
import { ConfigError } from '../../src/errors/config-error';

/**
 * fast-check settings of one property: a fixed seed (every run tries the same inputs) and a bounded
 * number of runs. CALLSCREEN_FUZZ_SEED and CALLSCREEN_FUZZ_RUNS explore others (docs/development.md,
 * "Property tests").
 */
export function fuzzRuns(seed: number, numRuns: number): { seed: number; numRuns: number } {
  return {
    seed: Number(process.env.CALLSCREEN_FUZZ_SEED ?? seed),
    numRuns: Number(process.env.CALLSCREEN_FUZZ_RUNS ?? numRuns),
  };
}

// ---- values ----

export const oddStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\u001b[2J',
  'x'.repeat(5_000),
  '${HOME}',
  '../../../etc/passwd',
  '\u202e\u2066evil',
  '😀',
  'constructor',
  '__proto__',
  'toString',
  'NaN',
  '-0',
  '1e400',
  '0x1F',
  'true',
  'null',
  'line one\nline two',
);

export const hugeNumbers = fc.constantFrom(
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  1e21,
  1e308,
  -1e308,
  5e-324,
  Infinity,
  -Infinity,
  NaN,
  -0,
  65_536,
  2 ** 31,
  2 ** 32 + 1,
);

/** URLs of the given schemes with every separator, credentials, host, port and path an admin (or an attacker) might write */
export function urlsWith(
  schemes: readonly string[],
  separators: readonly string[] = ['://', ':', ':/', ':///', '//'],
): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...schemes),
      fc.constantFrom(...separators),
      fc.constantFrom('', 'user:secret@', 'user:p@ss/word@', ':@', '%41:%zz@'),
      fc.constantFrom(
        '127.0.0.1',
        '[::1]',
        '[::1',
        'pbx.example',
        '',
        'ex ample',
        '999.999.999.999',
        'xn--bcher-kva.ex',
      ),
      fc.constantFrom('', ':0', ':1', ':8088', ':65535', ':65536', ':-1', ':notaport', ':99999999999999999999', ':'),
      fc.constantFrom('', '/', '/0', '/15', '/16', '/99', '/-1', '/a/b', '?family=6', '#frag', '/%2e%2e/'),
    )
    .map((parts) => parts.join(''));
}

/** URLs of every scheme */
export const urls = urlsWith([
  'http',
  'https',
  'HTTP',
  'HtTpS',
  'redis',
  'rediss',
  'REDIS',
  'file',
  'javascript',
  'ws',
  '',
]);

/** a value of any type, most likely not the one a loader expects where it is put */
export const hostileValues: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, [], {}, [1, 'a'], { a: 1 }),
  hugeNumbers,
  oddStrings,
  urls,
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.string({ maxLength: 30 }),
  fc.array(fc.oneof(oddStrings, urls, fc.integer()), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(oddStrings, hugeNumbers), { maxKeys: 3 }),
);

/** key names: the loaders' own, prototype names, and others */
export function keysLike(own: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...own),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''),
    fc.string({ maxLength: 12 }),
  );
}

// ---- edits of a parsed file ----

export type Path = Array<string | number>;

/** every path into a value: the root, its mappings and lists, and their entries */
export function pathsOf(value: unknown, at: Path = []): Path[] {
  const found: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...pathsOf(v, [...at, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) found.push(...pathsOf(v, [...at, k]));
  return found;
}

export type ValueEdit =
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'add'; at: number; key: string; value: unknown };

/** replace a value, remove it, or add a key to a mapping (the path is picked by `at` among those there are) */
export function valueEdits(keys: fc.Arbitrary<string>, values = hostileValues): fc.Arbitrary<ValueEdit> {
  return fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: values }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: keys, value: values }),
  );
}

/** a copy of `base` with the edits made to it, one after the other */
export function edited(base: unknown, edits: readonly ValueEdit[]): unknown {
  let root = structuredClone(base);
  for (const edit of edits) {
    const paths = pathsOf(root);
    const at = paths[edit.at % paths.length] as Path;
    if (at.length === 0) {
      if (edit.kind === 'set') root = edit.value;
      continue;
    }
    let holder = root as Record<string | number, unknown>;
    for (const step of at.slice(0, -1)) holder = holder[step] as Record<string | number, unknown>;
    const last = at[at.length - 1] as string | number;
    if (edit.kind === 'set') holder[last] = edit.value;
    else if (edit.kind === 'delete') {
      if (Array.isArray(holder)) holder.splice(last as number, 1);
      else delete holder[last];
    } else {
      const target = holder[last];
      // defineProperty: a key named __proto__ is then a key, as YAML makes it, not the prototype
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, edit.key, {
          value: edit.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else holder[last] = edit.value;
    }
  }
  return root;
}

// ---- edits of a file's text ----

/** what may be typed after a key's colon, unquoted: YAML that is odd, broken, or a surprise type */
export const rawScalars = fc.oneof(
  fc.constantFrom('[', ']', '{a', '}', '*x', '&a', '&a [1, *a]', '!!binary aGk=', '!!int x', '!!str', '!custom 1'),
  fc.constantFrom('"unterminated', "'", '0x1F', '0o17', '1e400', '.inf', '-.inf', '.nan', '~', '- a', '|', '>-'),
  fc.constantFrom('2026-13-45', '12:30:00', '1_000', '+1 212 555 0100', '@', '`', '%TAG', '? x', ': x', '#'),
  urls,
  fc.string({ unit: fc.constantFrom(...'abc019 :-[]{}&*!|>\'"#%@`,?\t\\'), maxLength: 20 }),
);

export type TextEdit =
  | { kind: 'delete-line' | 'double-line'; line: number }
  | { kind: 'indent'; line: number; by: string }
  | { kind: 'value'; line: number; text: string }
  | { kind: 'insert'; offset: number; text: string };

export const textEdits: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete-line' as const, 'double-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.constantFrom(' ', '  ', '\t', '-') }),
  fc.record({ kind: fc.constant('value' as const), line: fc.nat(), text: rawScalars }),
  fc.record({
    kind: fc.constant('insert' as const),
    offset: fc.nat(),
    text: fc.oneof(rawScalars, fc.string({ maxLength: 12 }), fc.constantFrom('\n', '\r', '\r\n', '\u0000', '\ufeff')),
  }),
);

/** `text` with the edits made to it, comments and layout as an admin sees them */
export function editedText(text: string, edits: readonly TextEdit[]): string {
  for (const edit of edits) {
    if (edit.kind === 'insert') {
      const at = edit.offset % (text.length + 1);
      text = `${text.slice(0, at)}${edit.text}${text.slice(at)}`;
      continue;
    }
    const lines = text.split('\n');
    const i = edit.line % lines.length;
    const line = lines[i] as string;
    if (edit.kind === 'delete-line') lines.splice(i, 1);
    else if (edit.kind === 'double-line') lines.splice(i, 0, line);
    else if (edit.kind === 'indent') lines[i] = `${edit.by}${line}`;
    else if (edit.kind === 'value') lines[i] = line.replace(/:\s.*$|:$/, `: ${edit.text}`);
    text = lines.join('\n');
  }
  return text;
}

/** text made of YAML's own punctuation, the given words and line ends */
export function yamlishText(words: readonly string[]): fc.Arbitrary<string> {
  return fc
    .array(
      fc.oneof(
        fc.constantFrom('\n', '\n  ', '\n    ', '\n- ', ': ', ':', '- ', '[', ']', '{', '}', ', ', '&a ', '*a', '*b'),
        fc.constantFrom('!!str ', '!!int ', '!!map ', '!!seq ', '!x ', '? ', '# c', '|\n  ', '>\n  ', "'", '"'),
        fc.constantFrom('---\n', '...\n', '%YAML 1.2\n', '<<: *a', '\r', '\t'),
        fc.constantFrom(...words),
        fc.string({ maxLength: 6 }),
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));
}

// ---- what a loader must give ----

/** where a problem of a value from the environment is reported (validate.ts) */
const ENVIRONMENT = '(environment)';

/**
 * Throw (failing the property) unless `e` is a ConfigError with at least one problem, each with a reason
 * and a place: `file` at a line of `text` (>= 1) and a column >= 1, or the environment. Line 0 (the file
 * as a whole) only where `wholeFile` says it is meant; past the first 100 problems one last line counts
 * the rest, which is a count, not a problem of a line.
 */
export function expectLocatedProblems(
  e: unknown,
  file: string,
  text: string,
  wholeFile: (reason: string) => boolean = () => false,
): ConfigError {
  if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${String(e)}`, { cause: e });
  const { problems } = e;
  if (problems.length === 0) throw new Error('a ConfigError without problems');
  const lines = text.split(/\r\n|\r|\n/).length;
  problems.forEach((p, i) => {
    const located =
      (p.file === file && p.line >= 1 && p.line <= lines && p.column >= 1) ||
      p.file === ENVIRONMENT ||
      (p.file === file && p.line === 0 && wholeFile(p.reason)) ||
      (p.file === file && i === problems.length - 1 && /^and [0-9,]+ more problems/.test(p.reason));
    if (!located || p.reason.trim() === '')
      throw new Error(`a problem without a place or a reason: ${JSON.stringify(p)}`);
  });
  return e;
}

/** run `load`, and fail when it takes longer than `maxMs` (a hang, or a blow-up in the input's size) */
export function timed<T>(maxMs: number, load: () => T): T {
  const started = performance.now();
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: load() };
  } catch (e) {
    outcome = { error: e };
  }
  const ms = performance.now() - started;
  if (ms > maxMs) throw new Error(`the load took ${Math.round(ms)} ms, more than ${maxMs} ms`);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
