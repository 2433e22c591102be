/**
 * What a feed file looks like: its format (detected from its first line unless given), which column
 * holds which field (known headers map themselves, --map overrides), which rows to leave out (--skip).
 * Pure: no I/O.
 */
import { columnList } from './feed-text';

export const FEED_FORMATS = ['csv', 'json', 'lines'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

export const FEED_FIELDS = ['number', 'score', 'reports', 'category', 'firstSeen', 'lastSeen', 'name'] as const;
export type FeedField = (typeof FEED_FIELDS)[number];

/** A bad option or a file whose format cannot be read: the import does not start (exit code 2). */
export class FeedUsageError extends Error {
  override readonly name = 'FeedUsageError';
}

/** header names (lower case, spaces and dashes as _) that map themselves */
const KNOWN_HEADERS: Record<string, FeedField> = {
  number: 'number',
  phone: 'number',
  phone_e164: 'number',
  phone_number: 'number',
  e164: 'number',
  caller_id: 'number',
  callerid: 'number',
  company_phone_number: 'number',
  score: 'score',
  reports: 'reports',
  total_hits: 'reports',
  hits: 'reports',
  complaints: 'reports',
  category: 'category',
  scam_category: 'category',
  subject: 'category',
  first_seen: 'firstSeen',
  firstseen: 'firstSeen',
  created_date: 'firstSeen',
  last_seen: 'lastSeen',
  lastseen: 'lastSeen',
  violation_date: 'lastSeen',
  name: 'name',
  caller_name: 'name',
  company: 'name',
};

/** a header whose presence marks a complaint list (one row per complaint: the FTC Do-Not-Call data) */
const COMPLAINT_HEADERS = new Set(['company_phone_number']);

export function headerKey(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

export interface ColumnOption {
  /** a header name (case-insensitive) or a 1-based column number */
  column: string;
  value: string;
}

/** `COLUMN=VALUE` -> parts; FeedUsageError when there is no "=" */
export function parseColumnOption(text: string, option: string): ColumnOption {
  const at = text.indexOf('=');
  if (at <= 0) throw new FeedUsageError(`${option} ${JSON.stringify(text)}: expected COLUMN=VALUE`);
  return { column: text.slice(0, at).trim(), value: text.slice(at + 1).trim() };
}

export function parseMapOption(text: string): { column: string; field: FeedField } {
  const { column, value } = parseColumnOption(text, '--map');
  const field = FEED_FIELDS.find((f) => f.toLowerCase() === value.toLowerCase());
  if (!field)
    throw new FeedUsageError(
      `--map ${JSON.stringify(text)}: unknown field ${JSON.stringify(value)} (fields: ${FEED_FIELDS.join(', ')})`,
    );
  return { column, field };
}

/** Where each field is, as cell indexes of a row. */
export interface ColumnPlan {
  number: number;
  score: number;
  reports: number;
  category: number;
  /** every seen-date column (first and last seen are the earliest and latest date of the row) */
  dates: number[];
  /** rows whose cell equals (case-insensitively) the value are skipped */
  skip: Array<{ index: number; value: string }>;
  /** one row per complaint: reports count rows and the score follows the complaint count */
  complaints: boolean;
}

/**
 * Header (or, without one, the column count) + options -> plan. A --map or --skip naming a column the
 * file does not have, and a file without a number column, are FeedUsageErrors.
 */
export function planColumns(
  header: string[] | undefined,
  columnCount: number,
  maps: Array<{ column: string; field: FeedField }>,
  skips: ColumnOption[],
): ColumnPlan {
  const keys = header?.map(headerKey);
  const width = Math.max(columnCount, keys?.length ?? 0);
  const indexOf = (column: string, option: string): number => {
    if (/^[0-9]+$/.test(column)) {
      const n = Number(column);
      if (n >= 1 && n <= width) return n - 1;
    } else if (keys) {
      const i = keys.indexOf(headerKey(column));
      if (i >= 0) return i;
    }
    const known = keys
      ? `columns: ${columnList(header ?? [])}`
      : `the file has no header: name columns by number, 1 to ${width}`;
    throw new FeedUsageError(`${option}: no column ${JSON.stringify(column)} (${known})`);
  };
  const fieldOf = new Map<number, FeedField>();
  if (keys) {
    keys.forEach((k, i) => {
      const field = KNOWN_HEADERS[k];
      if (field && ![...fieldOf.values()].includes(field)) fieldOf.set(i, field);
    });
  } else {
    fieldOf.set(0, 'number');
    if (width > 1) fieldOf.set(1, 'name');
  }
  for (const m of maps) {
    const i = indexOf(m.column, `--map ${m.column}=${m.field}`);
    // the mapped column takes the field over from a column that had it by its header
    if (m.field !== 'firstSeen' && m.field !== 'lastSeen')
      for (const [j, f] of fieldOf) if (f === m.field) fieldOf.delete(j);
    fieldOf.set(i, m.field);
  }
  const find = (field: FeedField): number => [...fieldOf].find(([, f]) => f === field)?.[0] ?? -1;
  const number = find('number');
  if (number < 0)
    throw new FeedUsageError(
      `no number column (a header such as number, phone, phone_e164, Company_Phone_Number, or --map COLUMN=number); ${keys ? `columns: ${columnList(header ?? [])}` : 'no header'}`,
    );
  return {
    number,
    score: find('score'),
    reports: find('reports'),
    category: find('category'),
    dates: [...fieldOf].filter(([, f]) => f === 'firstSeen' || f === 'lastSeen').map(([i]) => i),
    skip: skips.map((s) => ({
      index: indexOf(s.column, `--skip ${s.column}=${s.value}`),
      value: s.value.toLowerCase(),
    })),
    complaints: keys?.some((k) => COMPLAINT_HEADERS.has(k)) ?? false,
  };
}

/** how the first data-bearing line of a file reads */
export interface DetectedLayout {
  format: FeedFormat;
  /** csv only */
  delimiter: string;
  /** csv only: the first line is a header */
  header: boolean;
}

const HEADER_WORDS = /\b(number|phone|e164|caller|score|reports?|category|name|date|seen|hits|subject)\b/i;

/**
 * The layout from the first line that is neither empty nor a `#` comment. `format` forces the format
 * (the delimiter and header are still detected for csv).
 */
export function detectLayout(firstLine: string, format?: FeedFormat): DetectedLayout {
  // blanks around the line go, but not tabs: a tab-separated row may end in empty cells ("+12015550199\t\t")
  const line = firstLine.replace(/^[^\S\t]+|[^\S\t]+$/g, '');
  const delimiter = pickDelimiter(line);
  const cells = line.split(delimiter).map((c) => c.trim().replace(/^"|"$/g, ''));
  // a header has no cell that looks like a phone number, and some word
  const header =
    !cells.some((c) => /[0-9]{5}/.test(c)) &&
    (HEADER_WORDS.test(line) || cells.every((c) => /^[A-Za-z_][A-Za-z0-9_ .-]*$/.test(c)));
  if (format) return { format, delimiter, header: format === 'csv' && header };
  if (line.startsWith('[') || line.startsWith('{')) return { format: 'json', delimiter, header: false };
  if (delimiter === ';' && line.includes(';') && !header) return { format: 'csv', delimiter: ';', header: false };
  if (header && cells.length > 1) return { format: 'csv', delimiter, header: true };
  if (cells.length > 1 && line.includes(delimiter)) return { format: 'csv', delimiter, header };
  return { format: 'lines', delimiter, header: false };
}

function pickDelimiter(line: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t', '|']) {
    const count = line.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

const DAY_ZERO_MS = Date.UTC(2000, 0, 1);

/**
 * A date as feeds write it -> days since 2000-01-01 (UTC), undefined when it is not one:
 * ISO (2024-03-01, 2024-03-01T12:00:00Z, 2024-03-01 12:00:00), US (3/1/2024, 3/1/2024 12:00), or epoch
 * seconds/milliseconds.
 */
export function parseDay(text: string): number | undefined {
  const s = text.trim();
  let y: number, m: number, d: number;
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/.exec(s);
  if (match) {
    y = Number(match[1]);
    m = Number(match[2]);
    d = Number(match[3]);
  } else if ((match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: .*)?$/.exec(s))) {
    y = Number(match[3]);
    m = Number(match[1]);
    d = Number(match[2]);
  } else if (/^\d{9,13}$/.test(s)) {
    const n = Number(s);
    return Math.floor(((s.length > 11 ? n : n * 1000) - DAY_ZERO_MS) / 86_400_000);
  } else return undefined;
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970 || y > 2200) return undefined;
  const ms = Date.UTC(y, m - 1, d);
  if (new Date(ms).getUTCDate() !== d) return undefined;
  return Math.floor((ms - DAY_ZERO_MS) / 86_400_000);
}
