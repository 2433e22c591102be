/**
 * The reputation feed reader under hostile input: random CSV files (quoted fields holding delimiters,
 * quotes and line breaks, CR, LF and CRLF mixed, rows with extra fields, huge cells, comments, bad numbers,
 * scores, reports and dates, rows left out by --skip), JSON lines, random text and random bytes, handed
 * over in random pieces as a file stream would. Every record is accounted for (imported + stale +
 * duplicates + rejected + skipped == the records written), the pieces make no difference, a problem names
 * a line of the file and echoes it bounded and escaped, and nothing but a FeedUsageError (a file whose
 * columns cannot be read) is ever thrown. Fixed seed: docs/development.md, "Property tests".
 */
import { StringDecoder } from 'node:string_decoder';
import fc from 'fast-check';
import { FeedAggregate } from '../../src/reputation/feeds/feed-aggregate';
import { FeedUsageError, parseDay } from '../../src/reputation/feeds/feed-format';
import { FeedParser, type FeedReadOptions } from '../../src/reputation/feeds/reputation-feed';
import { fuzzRuns } from '../support/hostile-yaml';

const SEED = 12_003;
const RUNS = fuzzRuns(SEED, 300);
const TODAY = parseDay('2024-03-10') as number;
/** a problem reason is at most a few hundred characters (feed-text.ts cuts it at 400, plus the size) */
const MAX_REASON_LENGTH = 450;
/** C0 and C1 controls, line and paragraph separators, bidirectional overrides: nothing a terminal acts on */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

interface Read {
  aggregate: FeedAggregate;
  problems: Array<{ line: number; reason: string }>;
  parser: FeedParser;
}

/** `pieces` through a parser into an aggregate, as readFeedFile hands a file over */
function read(pieces: readonly string[], options: Partial<FeedReadOptions> = {}): Read {
  const problems: Array<{ line: number; reason: string }> = [];
  const aggregate = new FeedAggregate({ defaultScore: 1, today: TODAY, maxAgeDays: 365 }, (line, reason) =>
    problems.push({ line, reason }),
  );
  const parser = new FeedParser({ region: 'US', today: TODAY, ...options }, aggregate);
  for (const piece of pieces) parser.push(piece);
  parser.end();
  aggregate.finish();
  return { aggregate, problems, parser };
}

/** the text cut at the given places (fractions of its length) */
function cut(text: string, at: readonly number[]): string[] {
  const offsets = [...new Set(at.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const offset of offsets) {
    pieces.push(text.slice(from, offset));
    from = offset;
  }
  pieces.push(text.slice(from));
  return pieces;
}
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

/** every record read is imported, stale, a duplicate, rejected or skipped */
function accounted({ aggregate }: Read): number {
  const { duplicates, rejected, skipped, stale } = aggregate.counts;
  return aggregate.size + stale + duplicates + rejected + skipped;
}

/** problems name a line the parser saw, and echo the file bounded and escaped */
function problemsWellFormed({ problems, parser }: Read): void {
  for (const p of problems) {
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(p.line).toBeLessThanOrEqual(parser.lines);
    expect(p.reason.length).toBeGreaterThan(0);
    expect(p.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(p.reason).not.toMatch(TERMINAL_CONTROL);
  }
}

// ---- a CSV file as a model: header, rows of cells, line ends ----

const DELIMITERS = [',', ';', '\t', '|'] as const;
type Delimiter = (typeof DELIMITERS)[number];
type Column = 'number' | 'score' | 'reports' | 'category' | 'last_seen';

const goodNumbers = fc.oneof(
  fc.integer({ min: 0, max: 9999 }).map((n) => `+1 201 555 ${String(n).padStart(4, '0')}`),
  fc.integer({ min: 0, max: 9999 }).map((n) => `(415) 555-${String(n).padStart(4, '0')}`),
  fc.integer({ min: 1_000_000, max: 9_999_999 }).map((n) => `+4930${n}`),
);
/** a number cell: good (often the same few, so that there are duplicates), bad, or anything but a comment */
const numberCells = fc.oneof(
  { weight: 4, arbitrary: goodNumbers },
  { weight: 2, arbitrary: fc.constantFrom('+1 201 555 0101', '+1 201 555 0102', '2015550103') },
  { weight: 1, arbitrary: fc.constantFrom('12', 'abc', '+0', 'anonymous', '+1 201 555 0101 x9', '"', '1,2', '1;2') },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 20 })
      // a first cell that is blank or starts with # makes the row an empty line or a comment: not a record
      .filter((s) => s.trim() !== '' && !s.trim().startsWith('#')),
  },
);
const hugeText = fc.constantFrom('x'.repeat(300), 'y'.repeat(100_000), `\u001b[2J${'z'.repeat(2_000)}`);
/** text for any cell: with delimiters, quotes, line breaks, control characters, or huge */
const anyText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: fc.constantFrom(...'ab ,;|\t"\r\n#\u001b\u009b\u202e'), maxLength: 12 }),
  },
  { weight: 1, arbitrary: hugeText },
);
const cellOf: Record<Column, fc.Arbitrary<string>> = {
  number: numberCells,
  score: fc.oneof(fc.constantFrom('', '0', '0.5', '1', '1.5', '-0', 'NaN', '1e-3', '0x1'), anyText),
  reports: fc.oneof(fc.constantFrom('', '0', '3', '999999999', '1000000000', '-1', '2.5'), anyText),
  category: fc.oneof(fc.constantFrom('', 'robocall', 'skip-me', 'SKIP-ME'), anyText),
  last_seen: fc.oneof(fc.constantFrom('', '2024-03-01', '3/1/2024', '2010-01-01', '2024-02-30', '1709251200'), anyText),
};

interface CsvFile {
  delimiter: Delimiter;
  /** the columns, number first; written as a header line or not */
  columns: Array<Column>;
  header: boolean;
  rows: Array<{ cells: string[]; extra: string[]; quoteAll: boolean; end: string }>;
  /** blank and comment lines put before some rows: no records */
  noise: string[];
  bom: boolean;
}

const csvFiles: fc.Arbitrary<CsvFile> = fc
  .record({
    delimiter: fc.constantFrom(...DELIMITERS),
    more: fc.subarray(['score', 'reports', 'category', 'last_seen'] as const, { minLength: 1 }),
    header: fc.boolean(),
    bom: fc.boolean(),
  })
  .chain(({ delimiter, more, header, bom }) => {
    const columns = ['number' as const, ...more];
    const row = fc.record({
      cells: fc.tuple(...columns.map((c) => cellOf[c])),
      // now and then more fields than the header: the row is rejected
      extra: fc.oneof(
        { weight: 9, arbitrary: fc.constant<string[]>([]) },
        { weight: 1, arbitrary: fc.array(anyText, { minLength: 1, maxLength: 3 }) },
      ),
      quoteAll: fc.boolean(),
      end: fc.constantFrom('\n', '\r\n', '\r'),
    });
    return fc.record({
      delimiter: fc.constant(delimiter),
      columns: fc.constant(columns),
      header: fc.constant(header),
      bom: fc.constant(bom),
      rows: fc.array(row, { minLength: 1, maxLength: 30 }),
      noise: fc.array(fc.constantFrom('', '# a comment, with "quotes', '   ', '\t# indented comment', '#'), {
        maxLength: 30,
      }),
    });
  });

/** a cell as a CSV writer (RFC 4180) writes it: quoted when it must be, or when asked */
function csvCell(text: string, delimiter: string, quote: boolean): string {
  const must = text.includes(delimiter) || /["\r\n]/.test(text) || /^\s/.test(text);
  return quote || must ? `"${text.replace(/"/g, '""')}"` : text;
}

/** the file's text and how many records (rows) it holds */
function writeCsv(file: CsvFile): { text: string; records: number } {
  const { delimiter } = file;
  const lines: string[] = [];
  if (file.header) lines.push(`${file.columns.join(delimiter)}\n`);
  file.rows.forEach((row, i) => {
    // Without a header the first row decides the layout (detectLayout), so it is written plainly: a number
    // with five digits in a row, other cells letters and digits only. A gap of that guess, left to it (loud,
    // no row lost silently): a first row whose number is spaced and that holds a header word
    // ("+1 201 555 0199;caller name") is taken for a header, and the import stops with a usage error
    // naming its cells as the columns.
    const first = !file.header && i === 0;
    const cells = first ? row.cells.map((c, j) => (j === 0 ? '+12015550199' : c.replace(/[^a-z0-9]/g, ''))) : row.cells;
    const extra = first ? [] : row.extra;
    if (i > 0 && file.noise[i] !== undefined) lines.push(`${file.noise[i]}\n`);
    lines.push(
      `${[...cells, ...extra].map((c) => csvCell(c, delimiter, row.quoteAll && !first)).join(delimiter)}${row.end}`,
    );
  });
  return { text: `${file.bom ? '\ufeff' : ''}${lines.join('')}`, records: file.rows.length };
}

// ---- random text and bytes ----

/** lines of CSV-ish characters, quotes and line ends of every kind, under a header or not */
const csvishText = fc
  .tuple(
    fc.constantFrom('', 'number,category\n', 'phone;score;reports\r\n', 'number\n', '[', '{"number":"+12015550101"}\n'),
    fc.string({ unit: fc.constantFrom(...'+0123456789 ,;|\t"\r\n#ab{}[]\u0000\u00e9'), maxLength: 400 }),
  )
  .map(([head, body]) => `${head}${body}`);
/** bytes of anything, read as UTF-8 the way the file stream reads them (a character may be cut between pieces) */
const randomBytes = fc.uint8Array({ maxLength: 600 });

/**
 * Lines in `text` that are not blank and not comments (as the parser sees them: a line is blank when empty
 * or made of spaces and tabs): no more records than that can come out of it.
 */
function dataLines(text: string): number {
  return text
    .replace(/^\ufeff/, '')
    .split(/\r\n|\r|\n/)
    .filter((l) => !/^[ \t]*(#.*)?$/s.test(l)).length;
}

/** read anything: a FeedUsageError (columns that cannot be read) or a result; never another exception */
function readAnything(pieces: readonly string[]): Read | undefined {
  try {
    return read(pieces);
  } catch (e) {
    if (e instanceof FeedUsageError) return undefined;
    throw e;
  }
}

describe('what the properties found', () => {
  test('a tab-separated file without a header whose first row ends in empty cells is read as tab-separated', () => {
    const { aggregate, problems, parser } = read([
      '+12015550199\t\t\n+12015550102\trobocall\t\n+12015550103\t\t2024-03-01\n',
    ]);
    expect(parser.layout).toMatchObject({ format: 'csv', delimiter: '\t', header: false });
    expect(problems).toEqual([]);
    expect(aggregate.size).toBe(3);
  });
});

describe('the feed reader under hostile input: every record accounted for, nothing thrown', () => {
  test('random CSV files, in random pieces: imported + stale + duplicates + rejected + skipped == rows written, whatever the pieces', () => {
    fc.assert(
      fc.property(csvFiles, cuts, fc.boolean(), (file, at, skip) => {
        const { text, records } = writeCsv(file);
        const skips =
          skip && file.columns.includes('category')
            ? [{ column: file.header ? 'category' : String(file.columns.indexOf('category') + 1), value: 'skip-me' }]
            : [];
        const whole = read([text], { skips });
        expect({ accounted: accounted(whole), problems: whole.problems }).toMatchObject({ accounted: records });
        problemsWellFormed(whole);
        const inPieces = read(cut(text, at), { skips });
        expect(inPieces.aggregate.counts).toEqual(whole.aggregate.counts);
        expect(inPieces.problems).toEqual(whole.problems);
      }),
      RUNS,
    );
  });

  test('JSON lines: every line an object (or not JSON at all) is accounted for', () => {
    const objects = fc.oneof(
      fc
        .record(
          { number: numberCells, score: fc.oneof(fc.double(), fc.constant(0.5)), category: anyText },
          { requiredKeys: ['number'] },
        )
        .map((o) => JSON.stringify(o)),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.constantFrom('{', '{"number":', 'not json', '[1,2]', 'null', '"+12015550101"', '12015550101'),
    );
    const files = fc.tuple(
      fc
        .array(objects, { minLength: 1, maxLength: 30 })
        .filter((lines) => dataLines(lines.join('\n')) === lines.length),
      fc.constantFrom('\n', '\r\n', '\r'),
    );
    fc.assert(
      fc.property(files, cuts, ([lines, end], at) => {
        const text = `{"number":"+12015550199","score":1}${end}${lines.join(end)}${end}`;
        const whole = read([text]);
        expect(accounted(whole)).toBe(lines.length + 1);
        problemsWellFormed(whole);
        expect(read(cut(text, at)).aggregate.counts).toEqual(whole.aggregate.counts);
      }),
      RUNS,
    );
  });

  test('random CSV-ish text: a FeedUsageError or a result, never more records than data lines, problems at lines of the file', () => {
    fc.assert(
      fc.property(csvishText, cuts, (text, at) => {
        const whole = readAnything([text]);
        if (!whole) return;
        if (whole.parser.layout?.format !== 'json') {
          // a JSON array's items have no lines: its problems name the item (1-based), and one line may hold many
          expect(accounted(whole)).toBeLessThanOrEqual(dataLines(text));
          problemsWellFormed(whole);
        }
        expect(readAnything(cut(text, at))?.aggregate.counts).toEqual(whole.aggregate.counts);
      }),
      RUNS,
    );
  });

  test('random bytes read as UTF-8 in random pieces: the same', () => {
    fc.assert(
      fc.property(randomBytes, cuts, (bytes, at) => {
        const text = new StringDecoder('utf8').end(Buffer.from(bytes));
        const decoder = new StringDecoder('utf8');
        const byteCuts = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const offset of [...byteCuts, bytes.length]) {
          chunks.push(decoder.write(Buffer.from(bytes.subarray(from, offset))));
          from = offset;
        }
        chunks.push(decoder.end());
        const whole = readAnything([text]);
        if (!whole) return;
        if (whole.parser.layout?.format !== 'json') {
          expect(accounted(whole)).toBeLessThanOrEqual(dataLines(text));
          problemsWellFormed(whole);
        }
        expect(readAnything(chunks)?.aggregate.counts).toEqual(whole.aggregate.counts);
      }),
      RUNS,
    );
  });
});
