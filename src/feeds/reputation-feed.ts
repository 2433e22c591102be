/**
 * Reading a reputation feed file (CSV with a header): one entry per line, bad lines reported with
 * their line number and reason, never stopping the import.
 *
 * Columns (by header name, any order; only a number column is required):
 *   number | phone | phone_e164     the caller number, any common notation
 *   score                           0..1 (default 1: listed means spam)
 *   reports | total_hits            how many reports back it
 *   category | scam_category        free text
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { CountryCode } from 'libphonenumber-js';
import { normalisePhoneNumber } from '../domain/phone-number';
import type { ReputationEntry } from '../domain/reputation';

export type FeedItem = { line: number; e164: string; entry: ReputationEntry } | { line: number; problem: string };

const NUMBER_COLUMNS = ['number', 'phone', 'phone_e164'];
const REPORT_COLUMNS = ['reports', 'total_hits'];
const CATEGORY_COLUMNS = ['category', 'scam_category'];

export async function* readReputationFeed(file: string, defaultRegion: CountryCode, source: string): AsyncGenerator<FeedItem> {
  const parser = createReadStream(file).pipe(parse({ columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), comment: '#', skip_empty_lines: true, relax_column_count: true, skip_records_with_error: false, info: true, trim: true }));
  let columns: { number: string; reports?: string; category?: string } | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const line = info.lines;
      if (!columns) {
        const keys = Object.keys(record);
        const number = keys.find((k) => NUMBER_COLUMNS.includes(k));
        if (!number) {
          yield { line: 1, problem: `no number column in the header (expected one of ${NUMBER_COLUMNS.join(', ')})` };
          return;
        }
        columns = { number };
        const reports = keys.find((k) => REPORT_COLUMNS.includes(k));
        const category = keys.find((k) => CATEGORY_COLUMNS.includes(k));
        if (reports) columns.reports = reports;
        if (category) columns.category = category;
      }
      yield toItem(record, line, columns, defaultRegion, source);
    }
  } catch (e) {
    const err = e as Error & { lines?: number };
    yield { line: err.lines ?? 0, problem: `unreadable from here on: ${err.message}` };
  }
}

function toItem(record: Record<string, string>, line: number, columns: { number: string; reports?: string; category?: string }, region: CountryCode, source: string): FeedItem {
  const raw = record[columns.number] ?? '';
  const n = normalisePhoneNumber(raw, region);
  if (n.kind !== 'e164') return { line, problem: `number ${JSON.stringify(raw)}: ${n.kind === 'withheld' ? 'empty or not a number' : n.reason}` };
  if (!n.possible) return { line, problem: `number ${JSON.stringify(raw)}: ${n.e164} has a length no number in its country has` };
  const scoreText = record.score;
  const score = scoreText === undefined || scoreText === '' ? 1 : Number(scoreText);
  if (!Number.isFinite(score) || score < 0 || score > 1) return { line, problem: `score ${JSON.stringify(scoreText)} is not a number from 0 to 1` };
  const reportsText = columns.reports ? record[columns.reports] : undefined;
  const reports = reportsText ? Number.parseInt(reportsText, 10) : 0;
  const entry: ReputationEntry = { score, reports: Number.isFinite(reports) ? reports : 0, source };
  const category = columns.category ? record[columns.category] : undefined;
  if (category) entry.category = category;
  return { line, e164: n.e164, entry };
}
