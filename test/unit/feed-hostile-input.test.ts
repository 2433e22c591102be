import type { CountryCode } from 'libphonenumber-js';
import { decodeFeedEntry, type FeedEntry } from '../../src/domain/reputation-entry';
import { FeedAggregate } from '../../src/reputation/feeds/feed-aggregate';
import { FeedUsageError, parseDay } from '../../src/reputation/feeds/feed-format';
import { FeedParser, type FeedReadOptions } from '../../src/reputation/feeds/reputation-feed';

const TODAY = parseDay('2024-03-10') as number;

interface Read {
  aggregate: FeedAggregate;
  problems: Array<{ line: number; reason: string }>;
  /** number -> category name ('' for none) */
  categories: Map<string, string>;
}

/** `text` through a parser in the given pieces (default: one), as readFeedFile would hand it over */
function read(text: string | string[], options: Partial<FeedReadOptions> = {}): Read {
  const problems: Array<{ line: number; reason: string }> = [];
  const aggregate = new FeedAggregate({ defaultScore: 1, today: TODAY, maxAgeDays: 3650 }, (line, reason) =>
    problems.push({ line, reason }),
  );
  const parser = new FeedParser({ region: 'US' as CountryCode, today: TODAY, ...options }, aggregate);
  for (const piece of typeof text === 'string' ? [text] : text) parser.push(piece);
  parser.end();
  aggregate.finish();
  const categories = new Map<string, string>();
  aggregate.forEach((key, value) => {
    const entry = decodeFeedEntry(value) as FeedEntry;
    categories.set(`+${key}`, entry.category > 0 ? (aggregate.categories[entry.category - 1] ?? '?') : '');
  });
  return { aggregate, problems, categories };
}

/** C0 controls, DEL, C1 controls (CSI 0x9b) and bidirectional overrides: nothing a terminal acts on */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TERMINAL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('line ends: a lone CR ends a line (old Mac files, a stray CR) and never merges two rows', () => {
  test('one number per line, CR between them', () => {
    const { categories, problems, aggregate } = read('+1 201 555 0101\r+1 201 555 0102\n+1 201 555 0103\r\n');
    expect([...categories.keys()].sort()).toEqual(['+12015550101', '+12015550102', '+12015550103']);
    expect(problems).toEqual([]);
    expect(aggregate.counts.rows).toBe(3);
  });

  test('a CSV file with CR line ends only; problems keep their line numbers', () => {
    const { categories, problems } = read('number,category\r+12015550101,a\r+12015550102,b\rnot a number,c\r');
    expect(categories).toEqual(
      new Map([
        ['+12015550101', 'a'],
        ['+12015550102', 'b'],
      ]),
    );
    expect(problems.map((p) => p.line)).toEqual([4]);
  });

  test('a CRLF split between two pieces is one line end, not two', () => {
    const pieces = ['number,category\r', '\n+12015550101,a\r', '\n+12015550102,b\r', '\n'];
    const { categories, problems } = read(pieces);
    expect(categories.size).toBe(2);
    expect(problems).toEqual([]);
  });
});

describe('rows with more fields than the header are rejected and counted', () => {
  test('unquoted and quoted rows', () => {
    const { categories, problems, aggregate } = read(
      'number,category\n+12015550101,a\n+12015550102,b,extra\n"+12015550103","c","extra"\n+12015550104,d\n',
    );
    expect([...categories.keys()].sort()).toEqual(['+12015550101', '+12015550104']);
    expect(problems).toEqual([
      { line: 3, reason: '3 fields, the header has 2' },
      { line: 4, reason: '3 fields, the header has 2' },
    ]);
    expect(aggregate.counts.rejected).toBe(2);
  });

  test('without a header, the first row sets the width', () => {
    const { problems, aggregate } = read('+12015550101;a\n+12015550102;b;c\n');
    expect(problems).toEqual([{ line: 2, reason: '3 fields, the first row has 2' }]);
    expect(aggregate.counts.rows).toBe(1);
  });
});

describe('categories are bounded and safe to print', () => {
  test('a 1 MB category is cut to 64 characters', () => {
    const { categories } = read(`number,category\n+12015550101,${'A'.repeat(1 << 20)}\n`);
    const category = categories.get('+12015550101') ?? '';
    expect(category.length).toBeLessThanOrEqual(64);
    expect(category).toMatch(/^A+…$/);
  });

  test('escape sequences and other control characters are stored escaped', () => {
    const { categories } = read('number,category\n+12015550101,"Warranty\x1b[2J\x1b]0;owned\x07\u009b31m\u202e"\n');
    const category = categories.get('+12015550101') ?? '';
    expect(category).not.toMatch(TERMINAL_CONTROL);
    expect(category).toBe('Warranty\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u202e');
  });
});

describe('a bad line is echoed cut and escaped', () => {
  test('a 1 MB bad number is shown as its first 200 characters and its size', () => {
    const { problems } = read(`number,category\n${'9'.repeat(100)}${'x'.repeat(1 << 20)},a\n+12015550101,b\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.line).toBe(2);
    expect(problems[0]?.reason.length).toBeLessThan(400);
    expect(problems[0]?.reason).toContain(`... (${100 + (1 << 20)} bytes)`);
  });

  test('control characters in a bad line never reach the terminal', () => {
    const { problems } = read('number\n\x1b[31mred\x1b[0m\u009b2J\n{"number": "\x1b]0;x\x07"}\n');
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p.reason).not.toMatch(TERMINAL_CONTROL);
  });

  test('a JSON line that does not parse is echoed cut and escaped', () => {
    const { problems } = read(`{"number": "+12015550101"}\n{"number": "\x1b[2J${'x'.repeat(1 << 20)}\n`, {
      format: 'json',
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason.length).toBeLessThan(400);
    expect(problems[0]?.reason).not.toMatch(TERMINAL_CONTROL);
  });

  test('a header without a number column is named cut and escaped', () => {
    expect(() => read(`category,\x1b[2J${'x'.repeat(1 << 20)}\n+12015550101,a\n`, { format: 'csv' })).toThrow(
      FeedUsageError,
    );
    try {
      read(`category,\x1b[2Jnote${'x'.repeat(1 << 20)}\n+12015550101,a\n`, { format: 'csv' });
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(600);
      expect((e as Error).message).not.toMatch(TERMINAL_CONTROL);
    }
  });
});

describe('a quote that is never closed', () => {
  test('at the end of the file: the row that opened it is rejected, the rows after it are read, not lost', () => {
    const { categories, problems } = read('number,category\n+12015550101,"open\n+12015550102,b\n+12015550103,c\n');
    expect([...categories.keys()].sort()).toEqual(['+12015550102', '+12015550103']);
    expect(problems).toEqual([{ line: 2, reason: 'a quoted field is not closed before the end of the file' }]);
  });

  test('in a long file: given up after 100 lines, so the rows after it are read and the import does not stall', () => {
    const rows = 100_000;
    const lines = ['number,category', '+12015550000,"open'];
    for (let i = 1; i <= rows; i++) lines.push(`+1${2015550000 + i},a`);
    const { aggregate, problems } = read(`${lines.join('\n')}\n`);
    expect(aggregate.counts.rows).toBe(rows);
    expect(problems).toEqual([
      {
        line: 2,
        reason: 'a quoted field is not closed within 100 lines (or 1 MB); the lines after it are read as rows',
      },
    ]);
  }, 30_000);

  test('a quoted field over a few lines is still one field', () => {
    const { categories, problems } = read('number,category\n+12015550101,"two\nlines"\n+12015550102,b\n');
    expect(categories.get('+12015550101')).toBe('two\\u000alines');
    expect(problems).toEqual([]);
  });
});
