import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { decodeFeedEntry, type FeedEntry } from '../../src/domain/reputation-entry';
import { FeedAggregate } from '../../src/reputation/feeds/feed-aggregate';
import {
  detectLayout,
  FeedUsageError,
  parseDay,
  parseMapOption,
  type FeedFormat,
} from '../../src/reputation/feeds/feed-format';
import {
  FeedParser,
  readFeedFile,
  splitQuoted,
  type FeedReadOptions,
} from '../../src/reputation/feeds/reputation-feed';

const fixture = (name: string): string => path.join(__dirname, '../fixtures', name);
const TODAY = parseDay('2024-03-10') as number;

interface Read {
  aggregate: FeedAggregate;
  problems: Array<{ line: number; reason: string }>;
  parser: FeedParser;
  /** number -> decoded entry and category name */
  entries: Map<string, FeedEntry & { categoryName?: string }>;
}

async function readFile(
  file: string,
  options: Partial<FeedReadOptions> & { maxAgeDays?: number; score?: number } = {},
): Promise<Read> {
  const problems: Array<{ line: number; reason: string }> = [];
  const aggregate = new FeedAggregate(
    { defaultScore: options.score ?? 1, today: TODAY, maxAgeDays: options.maxAgeDays ?? 3650 },
    (line, reason) => problems.push({ line, reason }),
  );
  const parser = new FeedParser({ region: 'US' as CountryCode, today: TODAY, ...options }, aggregate);
  await readFeedFile(file, parser);
  aggregate.finish(parser.plan?.complaints ?? false);
  const entries = new Map<string, FeedEntry & { categoryName?: string }>();
  aggregate.forEach((key, value) => {
    const entry = decodeFeedEntry(value) as FeedEntry;
    const categoryName = entry.category > 0 ? aggregate.categories[entry.category - 1] : undefined;
    entries.set(`+${key}`, categoryName ? { ...entry, categoryName } : entry);
  });
  return { aggregate, problems, parser, entries };
}

function tempFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'feed-')), name);
  writeFileSync(file, text);
  return file;
}

describe('robocall list (csv with header, quoted commas)', () => {
  test('imports the sample and reports the broken rows with their line numbers', async () => {
    const { entries, problems, parser } = await readFile(fixture('robocall-sample.csv'));
    expect(parser.layout).toMatchObject({ format: 'csv', header: true, delimiter: ',' });
    expect([...entries.keys()]).toEqual(
      expect.arrayContaining(['+18336317911', '+18333041447', '+18667581276', '+17244428039']),
    );
    expect(entries.size).toBe(4);
    expect(entries.get('+17244428039')).toMatchObject({
      score: 100,
      reports: 15,
      categoryName: 'Utility-SupplyCharges',
      firstDay: TODAY,
      lastDay: TODAY,
    });
    expect(problems.map((p) => p.line)).toEqual([7, 8]);
  });

  test('--skip likely_admin=yes leaves out the FTC office numbers and counts them as skipped', async () => {
    const { entries, aggregate } = await readFile(fixture('robocall-admin-sample.csv'), {
      skips: [{ column: 'likely_admin', value: 'yes' }],
    });
    expect(aggregate.counts.skipped).toBe(3);
    expect([...entries.keys()].filter((n) => n.startsWith('+1216263'))).toEqual([]);
  });

  test('a quoted field over two lines keeps the following line numbers right', async () => {
    const { entries, problems } = await readFile(fixture('robocall-admin-sample.csv'));
    expect(entries.has('+18005550199')).toBe(true);
    expect(entries.has('+18005550123')).toBe(true);
    expect(problems).toEqual([{ line: 12, reason: expect.stringContaining('+1800555') }]);
  });

  test('a number listed twice is merged: reports summed, one duplicate counted', async () => {
    const { entries, aggregate } = await readFile(fixture('robocall-admin-sample.csv'));
    expect(entries.get('+17244428039')).toMatchObject({ reports: 20 });
    expect(aggregate.counts.duplicates).toBe(1);
  });
});

describe('Swiss block list layout (number;name, no header)', () => {
  test('is detected, reads national and 00 numbers with region CH, and skips # comments', async () => {
    const { entries, parser, problems } = await readFile(fixture('ch-blocklist-layout.csv'), { region: 'CH' });
    expect(parser.layout).toEqual({ format: 'csv', delimiter: ';', header: false });
    expect([...entries.keys()].sort()).toEqual([
      '+41446681800',
      '+41446681801',
      '+41791234567',
      '+41800123456',
      '+498912345678',
    ]);
    // lines 1-3 are comments; 9 and 10 are bad numbers
    expect(problems.map((p) => p.line)).toEqual([9, 10]);
  });

  test('an empty name is fine and a repeated number counts two reports', async () => {
    const { entries, aggregate } = await readFile(fixture('ch-blocklist-layout.csv'), { region: 'CH' });
    expect(entries.get('+41791234567')).toMatchObject({ reports: 1 });
    expect(entries.get('+41446681800')).toMatchObject({ reports: 2, score: 100 });
    expect(aggregate.counts.duplicates).toBe(1);
  });
});

describe('FTC Do-Not-Call complaints (one row per complaint)', () => {
  test('aggregates per number: reports = complaints, first/last seen from both dates, category = most frequent subject', async () => {
    const { entries } = await readFile(fixture('ftc-dnc-complaints.csv'));
    const e = entries.get('+12025550143');
    expect(e).toMatchObject({
      reports: 3,
      categoryName: 'Vehicle Warranties',
      firstDay: parseDay('2024-03-01'),
      lastDay: parseDay('2024-03-09'),
    });
  });

  test('the score follows the complaint count: 1 - 0.5^complaints', async () => {
    const { entries } = await readFile(fixture('ftc-dnc-complaints.csv'));
    expect(entries.get('+12025550143')?.score).toBe(88);
    expect(entries.get('+13125550178')?.score).toBe(75);
  });

  test('an empty subject and an empty date do not count; the first subject stays', async () => {
    const { entries } = await readFile(fixture('ftc-dnc-complaints.csv'));
    expect(entries.get('+13125550178')).toMatchObject({
      reports: 2,
      categoryName: 'Medical & prescriptions',
      firstDay: parseDay('2024-02-19'),
      lastDay: parseDay('2024-02-21'),
    });
  });

  test('numbers last seen longer ago than the maximum age are stale and left out', async () => {
    const { entries, aggregate } = await readFile(fixture('ftc-dnc-complaints.csv'), { maxAgeDays: 180 });
    expect(entries.has('+16175550110')).toBe(false);
    expect(aggregate.counts.stale).toBe(1);
    expect(entries.has('+12025550143')).toBe(true);
  });

  test('a row without a number and a row with a bad date are rejected with their line numbers', async () => {
    const { problems } = await readFile(fixture('ftc-dnc-complaints.csv'));
    expect(problems).toEqual([
      { line: 8, reason: 'no number' },
      { line: 9, reason: expect.stringContaining('2024-13-01') },
    ]);
  });
});

describe('one number per line', () => {
  test('reads numbers in several notations and rejects what is not a number', async () => {
    const { entries, problems, parser } = await readFile(fixture('numbers.txt'));
    expect(parser.layout?.format).toBe('lines');
    expect([...entries.keys()].sort()).toEqual(['+12025550143', '+13125550178', '+41446681800']);
    expect(entries.get('+12025550143')?.reports).toBe(2);
    expect(problems).toEqual([{ line: 6, reason: expect.stringContaining('not a number') }]);
  });
});

describe('json', () => {
  test('an array of objects: keys map like headers', async () => {
    const file = tempFile(
      'feed.json',
      JSON.stringify([{ number: '+12025550143', score: 0.4, reports: 3, category: 'debt' }, { phone: 'x' }], null, 2),
    );
    const { entries, problems } = await readFile(file);
    expect(entries.get('+12025550143')).toMatchObject({ score: 40, reports: 3, categoryName: 'debt' });
    expect(problems).toEqual([{ line: 2, reason: expect.stringContaining('no number') }]);
  });

  test('JSON lines: a bad line is reported with its line number', async () => {
    const file = tempFile(
      'feed.jsonl',
      '{"number":"+12025550143","lastSeen":"2024-03-01"}\n{broken\n{"number":"3125550178"}\n',
    );
    const { entries, problems } = await readFile(file);
    expect([...entries.keys()].sort()).toEqual(['+12025550143', '+13125550178']);
    expect(entries.get('+12025550143')).toMatchObject({
      firstDay: parseDay('2024-03-01'),
      lastDay: parseDay('2024-03-01'),
    });
    expect(problems).toEqual([{ line: 2, reason: expect.stringContaining('not JSON') }]);
  });

  test('a broken JSON array is an unreadable format', async () => {
    await expect(readFile(tempFile('bad.json', '[{"number": "+12025550143"},'))).rejects.toThrow(FeedUsageError);
  });
});

describe('--map and --skip', () => {
  test('--map names the columns of a file with unknown headers', async () => {
    const file = tempFile('odd.csv', 'tel,kind,count,when\n+12025550143,debt,4,2024-03-02\n');
    const { entries } = await readFile(file, {
      maps: [
        parseMapOption('tel=number'),
        parseMapOption('kind=category'),
        parseMapOption('count=reports'),
        parseMapOption('when=lastSeen'),
      ],
    });
    expect(entries.get('+12025550143')).toMatchObject({
      reports: 4,
      categoryName: 'debt',
      lastDay: parseDay('2024-03-02'),
    });
  });

  test('--map by column number for a file without a header', async () => {
    const file = tempFile('noheader.csv', '+12025550143;debt;9\n');
    const { entries } = await readFile(file, { maps: [parseMapOption('2=category'), parseMapOption('3=reports')] });
    expect(entries.get('+12025550143')).toMatchObject({ reports: 9, categoryName: 'debt' });
  });

  test('a --skip or --map column the file does not have stops the import before it starts', async () => {
    await expect(
      readFile(fixture('robocall-sample.csv'), { skips: [{ column: 'admin', value: 'yes' }] }),
    ).rejects.toThrow(/--skip admin=yes: no column "admin"/);
    expect(() => parseMapOption('x=colour')).toThrow(FeedUsageError);
  });

  test('a file without a number column says so', async () => {
    await expect(readFile(tempFile('x.csv', 'name,score\nfoo,1\n'))).rejects.toThrow(/no number column/);
  });
});

describe('rows', () => {
  test('a score out of range is a problem on that line only; --score is the default score', async () => {
    const file = tempFile('y.csv', 'number,score\n+41 44 668 18 00,7\n044 668 18 01,\n');
    const { entries, problems } = await readFile(file, { region: 'CH', score: 0.6 });
    expect(problems).toEqual([{ line: 2, reason: expect.stringContaining('score') }]);
    expect(entries.get('+41446681801')).toMatchObject({ score: 60 });
  });

  test('duplicates merge: score the highest, first/last seen the earliest/latest', async () => {
    const file = tempFile(
      'd.csv',
      'number,score,reports,first_seen,last_seen\n+12025550143,0.3,2,2024-01-01,2024-01-05\n(202) 555-0143,0.7,,2023-12-01,2024-02-01\n',
    );
    const { entries, aggregate } = await readFile(file);
    expect(entries.get('+12025550143')).toEqual({
      score: 70,
      reports: 3,
      category: 0,
      firstDay: parseDay('2023-12-01'),
      lastDay: parseDay('2024-02-01'),
    });
    expect(aggregate.counts.duplicates).toBe(1);
  });

  test('CRLF line ends and a byte order mark are read like plain lines', async () => {
    const file = tempFile('crlf.csv', '\ufeffnumber,reports\r\n+12025550143,2\r\n+13125550178,x\r\n');
    const { entries, problems } = await readFile(file);
    expect(entries.get('+12025550143')?.reports).toBe(2);
    expect(problems).toEqual([{ line: 3, reason: expect.stringContaining('reports "x"') }]);
  });

  test('a quoted field never closed is a problem at its first line', async () => {
    const { problems } = await readFile(tempFile('open.csv', 'number,note\n+12025550143,"open\n+13125550178,x\n'));
    expect(problems).toEqual([{ line: 2, reason: expect.stringContaining('not closed') }]);
  });

  test('chunks split anywhere give the same rows as one piece', () => {
    const text =
      'phone_e164,scam_category,total_hits\n+12025550143,"a, b",3\n+13125550178,"multi\nline ""q""",1\n+16175550110,,2\n';
    const collect = (pieces: string[]): string[] => {
      const rows: string[] = [];
      const parser = new FeedParser(
        { region: 'US', today: TODAY },
        {
          row: (key, _s, reports, category) => rows.push(`${key}|${reports}|${category}`),
          problem: (line, reason) => rows.push(`${line}:${reason}`),
          skipped: () => undefined,
        },
      );
      for (const p of pieces) parser.push(p);
      parser.end();
      return rows;
    };
    const whole = collect([text]);
    expect(whole).toEqual(['12025550143|3|a, b', '13125550178|1|multi\nline "q"', '16175550110|2|']);
    for (let cut = 1; cut < text.length; cut += 7)
      expect(collect([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
  });
});

describe('format detection', () => {
  test.each<[string, FeedFormat, boolean]>([
    ['phone_e164,phone_pretty,scam_category', 'csv', true],
    ['Company_Phone_Number,Created_Date,Violation_Date,Subject', 'csv', true],
    ['0446681800;Firma Beispiel', 'csv', false],
    ['[{"number": "+1"}]', 'json', false],
    ['{"number": "+1"}', 'json', false],
    ['+12025550143', 'lines', false],
    ['+12025550143,debt', 'csv', false],
  ])('%s -> %s', (line, format, header) => {
    expect(detectLayout(line)).toMatchObject({ format, header });
  });

  test('splitQuoted: commas and doubled quotes inside quotes; undefined while a quote is open', () => {
    expect(splitQuoted('a,"b, c","say ""hi""",', ',')).toEqual(['a', 'b, c', 'say "hi"', '']);
    expect(splitQuoted('a,"open', ',')).toBeUndefined();
  });

  test('parseDay reads ISO, US and epoch dates and refuses impossible ones', () => {
    expect(parseDay('2000-01-02')).toBe(1);
    expect(parseDay('1/2/2000 10:00')).toBe(1);
    expect(parseDay('946771200')).toBe(1);
    expect(parseDay('2024-02-30')).toBeUndefined();
    expect(parseDay('yesterday')).toBeUndefined();
  });
});
