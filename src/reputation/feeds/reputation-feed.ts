/**
 * Reading a reputation feed: CSV (with or without a header, `,` `;` tab or `|` between fields, RFC 4180
 * quoting), JSON (an array of objects or one object per line) or one number per line. The parser is fed
 * text as it arrives and hands each row to a sink; a bad line becomes a problem with its line number
 * and reason, never an exception. Pure except readFeedFile, which streams a file through it.
 *
 * Strict where a lenient reading would lose numbers silently: LF, CRLF and a lone CR (old Mac files,
 * a stray CR) each end a line, so a CR never merges two rows into one; a CSV row with more fields than
 * the header (or, without one, than the first row) is rejected and counted, since its columns can no
 * longer be trusted. A problem echoes at most ECHO_LENGTH characters of a cell, control characters
 * escaped (feed-text.ts).
 *
 * Fields (by header; see feed-format.ts for the names that map themselves, --map for others):
 *   number                the caller number, any common notation (required)
 *   score                 0..1; default: the --score option (1: listed means spam)
 *   reports               how many reports back it; a row without counts as one report
 *   category              free text
 *   firstSeen, lastSeen   dates (ISO, US m/d/yyyy, epoch); the row's first and last seen are its
 *                         earliest and latest date; a row without dates was seen on the import day
 *   name                  read, not stored (an entry is one packed integer)
 */
import { createReadStream } from 'node:fs';
import type { CountryCode } from 'libphonenumber-js';
import { createFeedNumberNormaliser, type NumberResult } from './feed-numbers';
import { quoteCell, reasonText } from './feed-text';
import {
  detectLayout,
  FeedUsageError,
  parseDay,
  planColumns,
  type ColumnOption,
  type ColumnPlan,
  type DetectedLayout,
  type FeedField,
  type FeedFormat,
} from './feed-format';

export interface FeedReadOptions {
  /** forced format; detected from the first line when absent */
  format?: FeedFormat;
  /** region of numbers written without a country code */
  region: CountryCode;
  maps?: Array<{ column: string; field: FeedField }>;
  skips?: ColumnOption[];
  /** force the complaint-list reading (one row per complaint) even without a complaint-list header */
  complaints?: boolean;
  /** the import day (days since 2000-01-01): rows without a date were seen on it */
  today: number;
}

/** What the parser hands on, row by row. */
export interface FeedSink {
  /**
   * A good row. `key` is the number's E.164 digits as a number; `score` 0..1 or NaN (none given);
   * `reports` >= 0 or -1 (none given); `category` "" for none.
   */
  row(key: number, score: number, reports: number, category: string, firstDay: number, lastDay: number): void;
  problem(line: number, reason: string): void;
  /** a row left out by --skip */
  skipped(line: number): void;
}

/** a quoted CSV field may run over at most this many lines ... */
const MAX_QUOTED_LINES = 100;
/** ... and this many characters */
const MAX_QUOTED_LENGTH = 1 << 20;

export class FeedParser {
  /** lines seen so far */
  lines = 0;
  layout: DetectedLayout | undefined;
  plan: ColumnPlan | undefined;
  private carry = '';
  /** an unfinished quoted CSV record: its lines so far, their length, and its first line's number */
  private pending: string[] = [];
  private pendingLength = 0;
  private pendingLine = 0;
  private jsonKeys: string[] | undefined;
  private jsonArray: string[] | undefined;
  private readonly normalise: (raw: string) => NumberResult;
  private started = false;
  private readonly cellBuffer: string[] = [];
  /** cells a row needs: up to the last column the plan reads */
  private cellsNeeded = 1;
  /** fields a CSV row may have: the header's (or the first row's) */
  private width = Infinity;
  private widthFrom = 'the header';

  constructor(
    private readonly options: FeedReadOptions,
    private readonly sink: FeedSink,
  ) {
    this.normalise = createFeedNumberNormaliser(options.region);
  }

  push(text: string): void {
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // the carry holds no line end (but perhaps a last CR): search only what is new, so that a long
    // line arriving in many pieces is not scanned again for every piece
    const from = Math.max(0, this.carry.length - 1);
    const buf = this.carry === '' ? text : this.carry + text;
    let pos = 0;
    let nl = buf.indexOf('\n', from);
    let cr = buf.indexOf('\r', from);
    for (;;) {
      if (nl >= 0 && nl < pos) nl = buf.indexOf('\n', pos);
      if (cr >= 0 && cr < pos) cr = buf.indexOf('\r', pos);
      if (cr >= 0 && (nl < 0 || cr < nl)) {
        // CRLF, or a lone CR: either ends the line. A CR at the very end may be the first half of a CRLF.
        if (cr === buf.length - 1) break;
        this.line(buf.slice(pos, cr));
        pos = buf.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        continue;
      }
      if (nl < 0) break;
      this.line(buf.slice(pos, nl));
      pos = nl + 1;
    }
    this.carry = pos === 0 ? buf : buf.slice(pos);
  }

  end(): void {
    if (this.carry !== '') {
      const last = this.carry;
      this.carry = '';
      this.line(last.endsWith('\r') ? last.slice(0, -1) : last);
    }
    if (this.pending.length > 0) this.abandonPending('a quoted field is not closed before the end of the file');
    if (this.jsonArray) this.readJsonArray(this.jsonArray.join('\n'));
  }

  private line(text: string): void {
    this.lineAt(text, ++this.lines);
  }

  private lineAt(text: string, lineNo: number): void {
    if (this.jsonArray) {
      this.jsonArray.push(text);
      return;
    }
    if (this.pending.length > 0) {
      this.pending.push(text);
      this.pendingLength += text.length + 1;
      // only a quote can close the open field: a line without one is taken as it is, not split again
      if (text.indexOf('"') >= 0) this.csvQuoted(this.pending.join('\n'), this.pendingLine);
      if (this.pending.length > MAX_QUOTED_LINES || this.pendingLength > MAX_QUOTED_LENGTH)
        this.abandonPending(
          `a quoted field is not closed within ${MAX_QUOTED_LINES} lines (or 1 MB); the lines after it are read as rows`,
        );
      return;
    }
    const first = text.charCodeAt(0);
    if (text === '' || first === 0x23 /* # */) return;
    if (first === 0x20 || first === 0x09) {
      const t = text.trim();
      if (t === '' || t.startsWith('#')) return;
    }
    const layout = this.layout ?? this.start(text);
    if (!layout) return;
    switch (layout.format) {
      case 'csv':
        if (text.indexOf('"') >= 0) this.csvQuoted(text, lineNo);
        else {
          const cells = this.splitPlain(text, layout.delimiter);
          if (typeof cells === 'number') this.tooManyFields(cells, lineNo);
          else this.cells(cells, lineNo);
        }
        return;
      case 'lines':
        this.cells([text], lineNo);
        return;
      case 'json':
        this.jsonLine(text, lineNo);
        return;
    }
  }

  /** the first data-bearing line: layout, and the plan when the line is a header (then undefined: not a row) */
  private start(text: string): DetectedLayout | undefined {
    const layout = detectLayout(text, this.options.format);
    this.layout = layout;
    if (layout.format === 'json') {
      const t = text.trim();
      if (t.startsWith('[')) {
        this.jsonArray = [text];
        return undefined;
      }
      return layout;
    }
    if (layout.format === 'csv' && layout.header) {
      const header = text.indexOf('"') >= 0 ? splitQuoted(text, layout.delimiter) : text.split(layout.delimiter);
      this.setPlan(header ?? [], header?.length ?? 0);
      if (header) this.width = header.length;
      return undefined;
    }
    if (layout.format === 'lines') {
      this.setPlan(undefined, 1);
      // a one-word header ("number") over a list of numbers
      if (/^[A-Za-z_][A-Za-z0-9_ ]*$/.test(text.trim())) return undefined;
      return layout;
    }
    const fields = (text.indexOf('"') >= 0 ? splitQuoted(text, layout.delimiter) : undefined)?.length;
    this.setPlan(undefined, fields ?? text.split(layout.delimiter).length);
    if (layout.format === 'csv') {
      this.width = fields ?? text.split(layout.delimiter).length;
      this.widthFrom = 'the first row';
    }
    return layout;
  }

  /**
   * The cells of an unquoted CSV line up to the last one the plan reads (String.split cut every cell
   * and cost three times as much); the fields after them are only counted. Reuses one array: cells()
   * reads it before the next line. A number instead: the row has that many fields, more than `width`.
   */
  private splitPlain(text: string, delimiter: string): string[] | number {
    const cells = this.cellBuffer;
    cells.length = 0;
    let start = 0;
    for (let i = 0; i < this.cellsNeeded; i++) {
      const end = text.indexOf(delimiter, start);
      if (end < 0) {
        cells.push(text.slice(start));
        return cells;
      }
      cells.push(text.slice(start, end));
      start = end + 1;
    }
    // the rest of the line holds at least one more field: count them, up to one past the width
    let fields = this.cellsNeeded + 1;
    for (let end = text.indexOf(delimiter, start); end >= 0 && fields <= this.width;) {
      fields++;
      end = text.indexOf(delimiter, end + 1);
    }
    return fields > this.width ? fields : cells;
  }

  private tooManyFields(fields: number, lineNo: number): void {
    this.problem(lineNo, `${fields} fields, ${this.widthFrom} has ${this.width}`);
  }

  /**
   * An open quote that does not close (at the end of the file, or within MAX_QUOTED_LINES lines or
   * MAX_QUOTED_LENGTH characters) is most often a stray quote: the row that opened it is rejected and
   * the lines after it are read again as rows, instead of being swallowed into one field.
   */
  private abandonPending(reason: string): void {
    const [, ...after] = this.pending;
    const first = this.pendingLine;
    this.pending = [];
    this.pendingLength = 0;
    this.problem(first, reason);
    after.forEach((text, i) => this.lineAt(text, first + 1 + i));
  }

  /** every problem goes out through here: its echo of the file's text is bounded and escaped */
  private problem(lineNo: number, reason: string): void {
    this.sink.problem(lineNo, reasonText(reason));
  }

  private setPlan(header: string[] | undefined, columns: number): void {
    this.plan = planColumns(header, columns, this.options.maps ?? [], this.options.skips ?? []);
    const p = this.plan;
    this.cellsNeeded =
      1 + Math.max(p.number, p.score, p.reports, p.category, ...p.dates, ...p.skip.map((x) => x.index));
    if (this.options.complaints) this.plan.complaints = true;
  }

  private csvQuoted(text: string, lineNo: number): void {
    const split = splitQuoted(text, (this.layout as DetectedLayout).delimiter);
    if (!split) {
      if (this.pending.length === 0) {
        this.pending = [text];
        this.pendingLength = text.length;
        this.pendingLine = lineNo;
      }
      return;
    }
    this.pending = [];
    this.pendingLength = 0;
    if (split.length > this.width) this.tooManyFields(split.length, lineNo);
    else this.cells(split, lineNo);
  }

  private jsonLine(text: string, lineNo: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.problem(lineNo, `not JSON: ${(e as Error).message}`);
      return;
    }
    this.jsonObject(value, lineNo);
  }

  private readJsonArray(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new FeedUsageError(`not a JSON array: ${(e as Error).message}`);
    }
    if (!Array.isArray(value)) throw new FeedUsageError('not a JSON array');
    this.jsonArray = undefined;
    // items have no line numbers of their own: problems name the item's position (1-based)
    value.forEach((item, i) => this.jsonObject(item, i + 1));
  }

  private jsonObject(value: unknown, lineNo: number): void {
    if (typeof value === 'string' || typeof value === 'number') {
      if (!this.jsonKeys) {
        this.jsonKeys = ['number'];
        this.setPlan(this.jsonKeys, 1);
      }
      this.cells([String(value)], lineNo);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problem(lineNo, 'not an object with a number');
      return;
    }
    const record = value as Record<string, unknown>;
    if (!this.jsonKeys) {
      this.jsonKeys = Object.keys(record);
      this.setPlan(this.jsonKeys, this.jsonKeys.length);
    }
    this.cells(
      this.jsonKeys.map((k) => {
        const v = record[k];
        return v === undefined || v === null
          ? ''
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v as string | number | boolean);
      }),
      lineNo,
    );
  }

  private cells(cells: string[], lineNo: number): void {
    const plan = this.plan as ColumnPlan;
    for (const s of plan.skip) {
      const cell = cells[s.index];
      if (cell !== undefined && cell.trim().toLowerCase() === s.value) {
        this.sink.skipped(lineNo);
        return;
      }
    }
    const raw = cells[plan.number];
    if (raw === undefined) {
      this.problem(lineNo, `${cells.length} fields, the number is field ${plan.number + 1}`);
      return;
    }
    const n = this.normalise(raw.trim());
    if (!('e164' in n)) {
      this.problem(lineNo, n.problem);
      return;
    }
    let score = Number.NaN;
    if (plan.score >= 0) {
      const text = (cells[plan.score] ?? '').trim();
      if (text !== '') {
        score = Number(text);
        if (!Number.isFinite(score) || score < 0 || score > 1) {
          this.problem(lineNo, `score ${quoteCell(text)} is not a number from 0 to 1`);
          return;
        }
      }
    }
    let reports = -1;
    if (plan.reports >= 0) {
      const text = (cells[plan.reports] ?? '').trim();
      if (text !== '') {
        reports = wholeNumber(text);
        if (reports < 0) {
          this.problem(lineNo, `reports ${quoteCell(text)} is not a whole number`);
          return;
        }
      }
    }
    const category = plan.category >= 0 ? (cells[plan.category] ?? '').trim() : '';
    let firstDay = Infinity;
    let lastDay = -Infinity;
    for (const i of plan.dates) {
      const text = (cells[i] ?? '').trim();
      if (text === '') continue;
      const day = parseDay(text);
      if (day === undefined) {
        this.problem(lineNo, `date ${quoteCell(text)} is not a date (2024-03-01, 3/1/2024 or epoch seconds)`);
        return;
      }
      if (day < firstDay) firstDay = day;
      if (day > lastDay) lastDay = day;
    }
    if (lastDay < 0 && firstDay === Infinity) firstDay = lastDay = this.options.today;
    this.sink.row(Number(n.e164.slice(1)), score, reports, category, firstDay, lastDay);
  }
}

/** "123" -> 123; -1 when not 1 to 9 digits */
function wholeNumber(text: string): number {
  if (text.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * One CSV record that contains quotes -> its fields (RFC 4180: a quoted field may hold the delimiter,
 * line breaks and doubled quotes); undefined when a quoted field is still open at the end of `text`
 * (the record goes on in the next line). Text after a closing quote up to the next delimiter is kept
 * (lenient, like most readers).
 */
export function splitQuoted(text: string, delimiter: string): string[] | undefined {
  const fields: string[] = [];
  const d = delimiter.charCodeAt(0);
  let i = 0;
  const n = text.length;
  for (;;) {
    // skip blanks before a quote
    let j = i;
    while (j < n && text.charCodeAt(j) === 0x20) j++;
    if (j < n && text.charCodeAt(j) === 0x22) {
      let value = '';
      let k = j + 1;
      for (;;) {
        const q = text.indexOf('"', k);
        if (q < 0) return undefined;
        value += text.slice(k, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          k = q + 2;
          continue;
        }
        k = q + 1;
        break;
      }
      const next = text.indexOf(delimiter, k);
      const rest = next < 0 ? text.slice(k) : text.slice(k, next);
      if (rest.trim() !== '') value += rest;
      fields.push(value);
      if (next < 0) return fields;
      i = next + 1;
    } else {
      let next = i;
      while (next < n && text.charCodeAt(next) !== d) next++;
      // a quote inside an unquoted field is kept as it is
      fields.push(text.slice(i, next));
      if (next >= n) return fields;
      i = next + 1;
    }
  }
}

/** Stream a file through a parser. `onBytes` gets the bytes read so far (for a progress bar). */
export async function readFeedFile(file: string, parser: FeedParser, onBytes?: (bytes: number) => void): Promise<void> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  stream.setEncoding('utf8');
  let opened = false;
  stream.once('open', () => {
    opened = true;
  });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      parser.push(chunk);
      onBytes?.(stream.bytesRead);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!opened) throw new FeedUsageError(`${file}: cannot read (${err.code ?? err.message})`);
    throw e;
  }
  parser.end();
}
