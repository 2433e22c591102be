/**
 * What an address book export holds for callscreen, whatever its format: contacts, each with a name,
 * an organisation and the phone numbers written in it, every number with the line it was read from (so
 * a number skipped later is reported as file:line). The parsers (vcard-contacts.ts, csv-contacts.ts)
 * make one; contact-import.ts turns it into allow entries. Pure: no I/O.
 */

/** A phone number as the export wrote it, and the line of the file it is on. */
export interface ContactNumber {
  raw: string;
  line: number;
}

export interface Contact {
  /** the person's name (vCard FN, or N put together; a CSV's name columns), when the export has one */
  name?: string;
  /** the organisation (vCard ORG's first component; a CSV's company column) */
  organization?: string;
  numbers: ContactNumber[];
  /** where the contact begins (BEGIN:VCARD, the CSV record's first line) */
  line: number;
}

export interface ContactList {
  contacts: Contact[];
}

export type ContactFormat = 'csv' | 'vcard';

const VCARD_EXTENSIONS = /\.(vcf|vcard)$/i;
const CSV_EXTENSIONS = /\.(csv|tsv|txt)$/i;

/**
 * The format of an export: by its file name's extension, else by its content (a vCard file starts with
 * BEGIN:VCARD, after a BOM and blank lines); anything else is read as CSV.
 */
export function detectContactFormat(fileName: string, text: string): ContactFormat {
  if (VCARD_EXTENSIONS.test(fileName)) return 'vcard';
  if (CSV_EXTENSIONS.test(fileName)) return 'csv';
  return /^\uFEFF?\s*BEGIN:VCARD/i.test(text.slice(0, 4096)) ? 'vcard' : 'csv';
}

/** longest label of one contact, "contact: " included */
export const MAX_CONTACT_LABEL = 80;

/** control characters out, runs of whitespace (newlines from a vCard's \n) to one space, trimmed */
function cleanName(text: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (text ?? '').replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
}

/** text cut to at most `max` characters, with an ellipsis when it was cut */
export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/**
 * The label of a contact's numbers, as a decision's reasons show it: "contact: Jane Doe, ACME Corp",
 * "contact: ACME Corp" or "contact: Jane Doe" when only one is known, "contact: (no name)" with neither.
 */
export function contactLabel(contact: Pick<Contact, 'name' | 'organization'>): string {
  const name = cleanName(contact.name);
  const organization = cleanName(contact.organization);
  const who =
    name && organization && name.toLowerCase() !== organization.toLowerCase()
      ? `${name}, ${organization}`
      : name || organization || '(no name)';
  return shorten(`contact: ${who}`, MAX_CONTACT_LABEL);
}
