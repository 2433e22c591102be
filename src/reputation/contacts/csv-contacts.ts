/**
 * Contacts from a CSV export: Google Contacts (Name or First/Middle/Last Name, Organization 1 - Name or
 * Organization Name, every "Phone N - Value" column, a cell holding several numbers as "a ::: b"),
 * Outlook (First Name, Last Name, Company, Business Phone, Mobile Phone, Home Phone, ...) and a generic
 * CSV (name, company or organization, and the phone-like columns). Headers are matched case-insensitively;
 * "," or ";" (or a tab) is taken from the header line; quoted fields may hold the delimiter and newlines.
 * Fax, pager and telex columns are not numbers that call, nor are a phone column's type or label
 * ("Phone 1 - Label"). Pure: no I/O (the file's text comes in).
 */
import { CsvError, parse } from 'csv-parse/sync';
import { ConfigError } from '../../errors/config-error';
import type { Contact, ContactList } from './contact-list';

const FULL_NAME = ['name', 'full name', 'display name', 'contact name', 'contact'];
const FIRST_NAME = ['first name', 'given name'];
const MIDDLE_NAME = ['middle name', 'additional name'];
const LAST_NAME = ['last name', 'family name', 'surname'];
const ORGANIZATION = [
  'organization 1 - name',
  'organization name',
  'organization',
  'organisation',
  'company',
  'company name',
  'account name',
];

/** words of a header that make it a phone column */
const PHONE_WORDS = /\b(phone|telephone|tel|mobile|cell|cellphone|handy)\b/;
/** "number" alone, or a number that says it is a phone's */
const PHONE_NUMBER = /^(number|(contact|phone|telephone|tel|mobile|cell) number)$/;
/** columns that look like phones but never place a call, or describe a phone column instead of holding it */
const NOT_A_CALLING_NUMBER = /\b(fax|pager|telex|type|label|extension|ext)\b/;
/** Google Contacts puts several numbers of one kind into one cell */
const GOOGLE_SEPARATOR = ' ::: ';

export function isPhoneHeader(header: string): boolean {
  const h = header.trim().toLowerCase();
  if (NOT_A_CALLING_NUMBER.test(h)) return false;
  return PHONE_WORDS.test(h) || PHONE_NUMBER.test(h);
}

/** The delimiter of the header line: the most frequent of , ; and tab outside quotes ("," when none). */
function delimiterOf(headerLine: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

interface Columns {
  fullName?: number;
  first?: number;
  middle?: number;
  last?: number;
  organization?: number;
  phones: number[];
}

function columnsOf(header: readonly string[]): Columns {
  const names = header.map((h) => h.trim().toLowerCase());
  const find = (candidates: readonly string[]): number | undefined => {
    for (const candidate of candidates) {
      const index = names.indexOf(candidate);
      if (index >= 0) return index;
    }
    return undefined;
  };
  const columns: Columns = { phones: names.flatMap((name, index) => (isPhoneHeader(name) ? [index] : [])) };
  const set = (key: Exclude<keyof Columns, 'phones'>, index: number | undefined): void => {
    if (index !== undefined) columns[key] = index;
  };
  set('fullName', find(FULL_NAME));
  set('first', find(FIRST_NAME));
  set('middle', find(MIDDLE_NAME));
  set('last', find(LAST_NAME));
  set('organization', find(ORGANIZATION));
  return columns;
}

/**
 * Every record of a CSV export as a contact. `displayName` names the file in the problem thrown when the
 * CSV cannot be read or has no phone column (ConfigError with the line).
 */
export function parseCsvContacts(text: string, displayName: string): ContactList {
  // one kind of line end (a CRLF inside a quoted field too), so csv-parse counts lines as an editor does
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const headerLine = normalised.slice(0, normalised.indexOf('\n') >= 0 ? normalised.indexOf('\n') : undefined);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(normalised, {
      delimiter: delimiterOf(headerLine),
      info: true,
      relax_column_count: true,
      relax_quotes: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    const line = (e as CsvError & { lines?: number }).lines ?? 0;
    throw new ConfigError([
      { file: displayName, line, column: line > 0 ? 1 : 0, reason: `not a CSV file: ${e.message}` },
    ]);
  }
  const [header, ...rows] = records;
  if (!header) throw new ConfigError([{ file: displayName, line: 0, column: 0, reason: 'the file is empty' }]);
  const columns = columnsOf(header.record);
  if (columns.phones.length === 0)
    throw new ConfigError([
      {
        file: displayName,
        line: 1,
        column: 1,
        reason: `no phone column in the header line (${shortHeader(headerLine)}); a column named like Phone, Mobile, Business Phone or "Phone 1 - Value" holds the numbers`,
      },
    ]);
  const contacts: Contact[] = [];
  let previousEnd = header.info.lines;
  for (const { record, info } of rows) {
    const line = previousEnd + 1;
    previousEnd = info.lines;
    if (record.every((cell) => cell.trim() === '')) continue; // a blank line
    const cell = (index: number | undefined): string => (index === undefined ? '' : (record[index] ?? '').trim());
    const name =
      cell(columns.fullName) ||
      [cell(columns.first), cell(columns.middle), cell(columns.last)].filter((part) => part !== '').join(' ');
    const organization = cell(columns.organization);
    const numbers = columns.phones
      .flatMap((index) => cell(index).split(GOOGLE_SEPARATOR))
      .map((raw) => raw.trim())
      .filter((raw) => raw !== '')
      .map((raw) => ({ raw, line }));
    contacts.push({ ...(name ? { name } : {}), ...(organization ? { organization } : {}), numbers, line });
  }
  return { contacts };
}

function shortHeader(headerLine: string): string {
  return headerLine.length > 120 ? `${headerLine.slice(0, 117)}...` : headerLine;
}
