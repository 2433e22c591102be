/**
 * A contact list -> the allow entries of a contacts source: every number normalised to E.164 with the
 * region given (numbers.defaultRegion or --region), the same number of several contacts merged into one
 * entry whose label names them all, and every number that is not a valid phone number skipped with its
 * line and why (never fatal: an address book always has a few). Pure: no I/O.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalisePhoneNumber } from '../../domain/phone-number';
import { contactLabel, type ContactList } from './contact-list';

export interface AllowEntry {
  e164: string;
  label: string;
  /** the line of its first appearance in the export */
  line: number;
}

export interface SkippedNumber {
  line: number;
  raw: string;
  reason: string;
}

export interface ContactImport {
  entries: AllowEntry[];
  contacts: number;
  /** numbers read, skipped ones included */
  numbersRead: number;
  /** numbers that were already an entry (of this contact or another) */
  duplicates: number;
  skipped: SkippedNumber[];
}

/** the longest label of one entry, all its contacts' labels joined */
export const MAX_MERGED_LABEL = 200;

/** "+1 212 555 0100 ext. 12", "...x12", "...#12": a caller ID never carries the extension */
const EXTENSION = /\s*(?:(?:ext\.?|extension|x|#)\s*\d{1,6})\s*$/i;

/** The number's E.164 form, or why it is not a number that can call. */
export function contactNumber(raw: string, region: CountryCode): { e164: string } | { reason: string } {
  const written = raw.replace(EXTENSION, '').trim();
  const n = normalisePhoneNumber(written, region);
  if (n.kind === 'withheld') return { reason: 'not a phone number' };
  if (n.kind === 'unparseable') return { reason: n.reason };
  if (!n.valid) return { reason: `${n.e164} is not a valid number${n.country ? ` in ${n.country}` : ''}` };
  return { e164: n.e164 };
}

/** "contact: A; contact: B" -> "contact: A; B", at most MAX_MERGED_LABEL characters ("...; +3 more"). */
function mergedLabel(labels: readonly string[]): string {
  const [first = '', ...others] = labels;
  const names = others.map((label) => label.replace(/^contact: /, ''));
  let text = first;
  for (let i = 0; i < names.length; i++) {
    const next = `${text}; ${names[i] ?? ''}`;
    const after = names.length - i - 1;
    const reserve = after > 0 ? `; +${after} more`.length : 0;
    if (next.length + reserve > MAX_MERGED_LABEL) return `${text}; +${names.length - i} more`;
    text = next;
  }
  return text;
}

export function importContacts(list: ContactList, region: CountryCode): ContactImport {
  const byNumber = new Map<string, { labels: string[]; line: number }>();
  const skipped: SkippedNumber[] = [];
  let numbersRead = 0;
  let duplicates = 0;
  for (const contact of list.contacts) {
    const label = contactLabel(contact);
    for (const number of contact.numbers) {
      numbersRead++;
      const read = contactNumber(number.raw, region);
      if ('reason' in read) {
        skipped.push({ line: number.line, raw: number.raw, reason: read.reason });
        continue;
      }
      const known = byNumber.get(read.e164);
      if (!known) {
        byNumber.set(read.e164, { labels: [label], line: number.line });
        continue;
      }
      duplicates++;
      if (!known.labels.includes(label)) known.labels.push(label);
    }
  }
  const entries = [...byNumber].map(([e164, { labels, line }]) => ({ e164, label: mergedLabel(labels), line }));
  return { entries, contacts: list.contacts.length, numbersRead, duplicates, skipped };
}
