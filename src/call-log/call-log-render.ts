/**
 * How `callscreen log` shows screened calls: a table for people (columns sized to content, long text
 * cut with an ellipsis, colours only on a terminal), one JSON object per line, and CSV for spreadsheets
 * (RFC 4180 quoting, cells that a spreadsheet would run as a formula defused). Pure: no I/O.
 */
import { formatPoints, topReasons, type Decision, type Verdict } from '../domain/decision';
import type { PhoneNumber } from '../domain/phone-number';
import type { LoggedCall, ScreenedCallRecord } from '../ports/call-log';

// ---- table ----

export const TABLE_COLUMNS = ['TIME', 'CALLER', 'DID', 'VERDICT', 'SCORE', 'REASONS', 'IVR', 'MS', 'ROUTED'] as const;
type Column = (typeof TABLE_COLUMNS)[number];

/** Widest a column gets; longer text is cut with … */
const MAX_WIDTH: Record<Column, number> = {
  TIME: 19,
  CALLER: 20,
  DID: 20,
  VERDICT: 28,
  SCORE: 6,
  REASONS: 64,
  IVR: 10,
  MS: 7,
  ROUTED: 14,
};
/** Widths a --follow table starts with (rows that come later cannot size it) */
const FOLLOW_WIDTH: Record<Column, number> = {
  TIME: 19,
  CALLER: 12,
  DID: 12,
  VERDICT: 25,
  SCORE: 5,
  REASONS: 48,
  IVR: 7,
  MS: 4,
  ROUTED: 9,
};
/** right-aligned (numbers) */
const NUMERIC = new Set<Column>(['SCORE', 'MS']);

const COLOURS: Record<Verdict, string> = {
  allow: '\x1b[32m',
  challenge: '\x1b[33m',
  voicemail: '\x1b[36m',
  reject: '\x1b[31m',
};
const RESET = '\x1b[0m';

export type TableRow = Record<Column, string> & { verdict: Verdict };
export type ColumnWidths = Record<Column, number>;

/** 2026-11-23 14:05:09 in the host's time zone */
export function formatLocalTime(at: string | number | Date): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A number as the table shows it: E.164, withheld, or the raw caller ID as it came */
export function showNumber(n: PhoneNumber | undefined): string {
  if (!n) return '';
  if (n.kind === 'e164') return n.e164;
  if (n.kind === 'withheld') return 'withheld';
  return n.raw;
}

/** "reputation.listed +45, velocity.number +30": the reasons that moved the score most */
export function compactReasons(decision: Decision, count = 3): string {
  return topReasons(decision, count)
    .map((r) => (r.points !== undefined ? `${r.code} ${formatPoints(r.points)}` : r.code))
    .join(', ');
}

export function verdictText(decision: Decision): string {
  return decision.shadowVerdict ? `${decision.verdict} (shadow: ${decision.shadowVerdict})` : decision.verdict;
}

export function tableRow(record: ScreenedCallRecord): TableRow {
  const d = record.decision;
  return {
    TIME: formatLocalTime(record.at),
    CALLER: showNumber(d.caller),
    DID: showNumber(d.did) || '-',
    VERDICT: verdictText(d),
    SCORE: `${d.score}${d.degraded ? '*' : ''}`,
    REASONS: compactReasons(d) || '-',
    IVR: record.captcha?.outcome ?? '-',
    MS: String(record.decisionMs),
    ROUTED: record.routeError ? `${record.routedTo}!` : record.routedTo,
    verdict: d.verdict,
  };
}

/** Cut to width code points, the last one an ellipsis; control characters shown as spaces. */
export function fit(text: string, width: number): string {
  const clean = printable(text);
  const chars = [...clean];
  return chars.length <= width ? clean : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** control characters (a newline or escape in a raw caller ID) as spaces: a cell stays one line and cannot drive the terminal */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    out += c < 0x20 || (c >= 0x7f && c < 0xa0) ? ' ' : ch;
  }
  return out;
}

const length = (s: string): number => [...s].length;

/** Each column as wide as its widest cell (or header), at most its maximum; at least `minimum` when given. */
export function columnWidths(rows: readonly TableRow[], minimum?: Partial<ColumnWidths>): ColumnWidths {
  const widths = {} as ColumnWidths;
  for (const col of TABLE_COLUMNS) {
    let w = Math.max(col.length, minimum?.[col] ?? 0);
    for (const row of rows) w = Math.max(w, length(printable(row[col])));
    widths[col] = Math.min(w, Math.max(MAX_WIDTH[col], minimum?.[col] ?? 0));
  }
  return widths;
}

/** Widths for --follow: what the rows so far need, and at least what a typical call needs. */
export function followWidths(rows: readonly TableRow[]): ColumnWidths {
  return columnWidths(rows, FOLLOW_WIDTH);
}

function line(cells: Record<Column, string>, widths: ColumnWidths, colour?: string): string {
  const last = TABLE_COLUMNS[TABLE_COLUMNS.length - 1] as Column;
  return TABLE_COLUMNS.map((col) => {
    const text = fit(cells[col], widths[col]);
    const pad = widths[col] - length(text);
    let cell = NUMERIC.has(col) ? ' '.repeat(pad) + text : col === last ? text : text + ' '.repeat(pad);
    if (colour && col === 'VERDICT') cell = `${colour}${cell}${RESET}`;
    return cell;
  }).join('  ');
}

export function renderHeader(widths: ColumnWidths): string {
  const header = Object.fromEntries(TABLE_COLUMNS.map((c) => [c, c])) as Record<Column, string>;
  return `${line(header, widths)}\n`;
}

export function renderRow(row: TableRow, widths: ColumnWidths, colour = false): string {
  return `${line(row, widths, colour ? COLOURS[row.verdict] : undefined)}\n`;
}

/** Header and rows, columns sized to content. */
export function renderTable(rows: readonly TableRow[], colour = false, widths = columnWidths(rows)): string {
  return renderHeader(widths) + rows.map((r) => renderRow(r, widths, colour)).join('');
}

// ---- JSON lines ----

/** The stored record with its stream id, one line. */
export function jsonLine(call: LoggedCall): string {
  return `${JSON.stringify({ id: call.id, ...call.record })}\n`;
}

// ---- CSV ----

export const CSV_COLUMNS = [
  'time',
  'call_id',
  'caller',
  'did',
  'verdict',
  'shadow_verdict',
  'score',
  'reasons',
  'captcha_outcome',
  'decision_ms',
  'routed_to',
  'host',
  'explanation',
] as const;

/** Characters a spreadsheet takes as the start of a formula (and tab / CR, which some strip before looking). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One text cell: a leading formula character defused with ', then RFC 4180 quoting when needed. */
export function csvText(value: string): string {
  return csvQuote(FORMULA_START.test(value) ? `'${value}` : value);
}

/** RFC 4180: a cell with a comma, quote, CR or LF is quoted, its quotes doubled. */
export function csvQuote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** "rule.deny; reputation.listed:+45; attestation:-15": every reason, with its points where it has some */
export function csvReasons(decision: Decision): string {
  return decision.reasons
    .map((r) => (r.points !== undefined ? `${r.code}:${formatPoints(r.points)}` : r.code))
    .join('; ');
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One call as a CSV record (CRLF-terminated, as RFC 4180 has it). Numbers are written as numbers. */
export function csvRow(record: ScreenedCallRecord): string {
  const d = record.decision;
  const at = new Date(record.at);
  const cells = [
    csvText(Number.isNaN(at.getTime()) ? String(record.at) : at.toISOString()),
    csvText(record.callId),
    csvText(showNumber(d.caller)),
    csvText(showNumber(d.did)),
    csvText(d.verdict),
    csvText(d.shadowVerdict ?? ''),
    String(Number(d.score)),
    csvText(csvReasons(d)),
    csvText(record.captcha?.outcome ?? ''),
    String(Number(record.decisionMs)),
    csvText(record.routedTo),
    csvText(record.host),
    csvText(d.reasons.map((r) => `${r.code}: ${r.text}`).join('; ')),
  ];
  return `${cells.join(',')}\r\n`;
}
