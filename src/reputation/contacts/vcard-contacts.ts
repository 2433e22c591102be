/**
 * Contacts from a vCard file (2.1, 3.0 and 4.0, as address books and CRMs export them): several cards
 * per file, CRLF or LF line ends, a BOM, folded lines, property groups (item1.TEL), parameters in every
 * spelling the versions allow (TEL;TYPE=work,voice:, TEL;type=CELL;type=pref:, 2.1's bare TEL;WORK;FAX:,
 * 4.0's TEL;VALUE=uri;TYPE="voice,work":tel:+1-555-555-0100;ext=12), escaped text (\, \; \n \\), and
 * 2.1's QUOTED-PRINTABLE values with their soft line breaks. Pure: no I/O.
 *
 * Read from a card: FN (else N put together) as the name, ORG's first component as the organisation, and
 * every TEL that is not a fax or a pager (those never call) as one of its numbers, with the TEL's line.
 */
import type { Contact, ContactList } from './contact-list';

/** One property after unfolding: its line (where it begins), name, parameters and raw value. */
interface Property {
  line: number;
  name: string;
  params: Map<string, string[]>;
  value: string;
}

/** Physical lines with their numbers, BOM removed; CRLF, LF and a lone CR all end a line. */
function physicalLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
}

/** Split at `separator` outside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** The index of the colon that ends the name and parameters (a colon inside a quoted parameter does not). */
function valueColon(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === ':' && !quoted) return i;
  }
  return -1;
}

/**
 * "item1.TEL;TYPE=work,voice;PREF" -> name TEL, params { TYPE: [work, voice], PREF: [] }. A bare 2.1
 * parameter (WORK, FAX, QUOTED-PRINTABLE) is a TYPE, or the ENCODING when it names one.
 */
function parseNameAndParams(head: string): { name: string; params: Map<string, string[]> } {
  const [first = '', ...rest] = splitOutsideQuotes(head, ';');
  const name = first
    .slice(first.lastIndexOf('.') + 1)
    .trim()
    .toUpperCase();
  const params = new Map<string, string[]>();
  const add = (key: string, values: string[]): void => {
    params.set(key, [...(params.get(key) ?? []), ...values]);
  };
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq < 0) {
      const bare = param.trim().toUpperCase();
      if (bare === 'QUOTED-PRINTABLE' || bare === 'BASE64' || bare === '8BIT') add('ENCODING', [bare]);
      else if (bare !== '') add('TYPE', [bare]);
      continue;
    }
    const key = param.slice(0, eq).trim().toUpperCase();
    const values = splitOutsideQuotes(param.slice(eq + 1), ',').map((v) => v.replace(/"/g, '').trim().toUpperCase());
    add(key, values);
  }
  return { name, params };
}

function isQuotedPrintable(params: Map<string, string[]>): boolean {
  return (params.get('ENCODING') ?? []).includes('QUOTED-PRINTABLE');
}

/**
 * Logical properties: a line that starts with a space or a tab continues the one before (the fold's
 * whitespace goes); a QUOTED-PRINTABLE value that ends in "=" (a soft line break) continues on the next
 * line, whatever it starts with.
 */
function properties(text: string): Property[] {
  const lines = physicalLines(text);
  const found: Property[] = [];
  let pending: { line: number; text: string } | undefined;
  const flush = (): void => {
    if (!pending) return;
    const colon = valueColon(pending.text);
    if (colon > 0) {
      const { name, params } = parseNameAndParams(pending.text.slice(0, colon));
      found.push({ line: pending.line, name, params, value: pending.text.slice(colon + 1) });
    }
    pending = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (pending && (line.startsWith(' ') || line.startsWith('\t'))) {
      pending.text += line.slice(1);
      continue;
    }
    if (pending && pending.text.endsWith('=') && /;(ENCODING=)?QUOTED-PRINTABLE[;:]/i.test(pending.text)) {
      pending.text = pending.text.slice(0, -1) + line;
      continue;
    }
    flush();
    if (line.trim() !== '') pending = { line: i + 1, text: line };
  }
  flush();
  return found;
}

/** QUOTED-PRINTABLE bytes (=C3=BC) decoded in the CHARSET the property names (UTF-8 when it names none). */
function decodeQuotedPrintable(value: string, charset: string | undefined): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(value[i] ?? '', 'utf8'));
  }
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(Uint8Array.from(bytes));
  } catch {
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes)); // a charset this runtime does not know
  }
}

/** A text value's components (split at unescaped ";"), each unescaped: \, \; \: \\ and \n (a newline). */
function textComponents(value: string): string[] {
  const components: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      const next = value[++i] ?? '';
      current += next === 'n' || next === 'N' ? '\n' : next;
    } else if (ch === ';') {
      components.push(current);
      current = '';
    } else current += ch;
  }
  components.push(current);
  return components;
}

function textValue(property: Property): string[] {
  const raw = isQuotedPrintable(property.params)
    ? decodeQuotedPrintable(property.value, property.params.get('CHARSET')?.[0])
    : property.value;
  return textComponents(raw);
}

/** N's components (family; given; additional; prefixes; suffixes) in the order a name is said. */
function nameFromN(components: string[]): string {
  const [family = '', given = '', additional = '', prefix = '', suffix = ''] = components;
  return [prefix, given, additional, family, suffix]
    .map((part) => part.replace(/,/g, ' ').trim())
    .filter((part) => part !== '')
    .join(' ');
}

/** TEL types that never place a call */
const NOT_CALLING = new Set(['FAX', 'PAGER']);

/** A TEL's number: a 4.0 tel: URI loses its scheme and parameters (;ext=12); a bare value stays as written. */
function telNumber(property: Property): string {
  let value = property.value.trim();
  if (/^tel:/i.test(value)) value = value.slice(4).split(';')[0] ?? '';
  return value.trim();
}

/** Every card in a vCard file, in file order. A card's unknown properties are passed over. */
export function parseVcardContacts(text: string): ContactList {
  const contacts: Contact[] = [];
  let card: { contact: Contact; fn?: string; n?: string } | undefined;
  const finish = (): void => {
    if (!card) return;
    const name = card.fn || card.n;
    if (name) card.contact.name = name;
    contacts.push(card.contact);
    card = undefined;
  };
  for (const property of properties(text)) {
    if (property.name === 'BEGIN' && property.value.trim().toUpperCase() === 'VCARD') {
      finish(); // a card without END:VCARD ends where the next begins
      card = { contact: { numbers: [], line: property.line } };
      continue;
    }
    if (!card) continue;
    switch (property.name) {
      case 'END':
        finish();
        break;
      case 'FN':
        card.fn = textValue(property).join(';').trim();
        break;
      case 'N':
        card.n = nameFromN(textValue(property));
        break;
      case 'ORG': {
        const organization = (textValue(property)[0] ?? '').trim();
        if (organization) card.contact.organization = organization;
        break;
      }
      case 'TEL': {
        const types = property.params.get('TYPE') ?? [];
        if (types.some((type) => NOT_CALLING.has(type))) break;
        const raw = telNumber(property);
        if (raw) card.contact.numbers.push({ raw, line: property.line });
        break;
      }
    }
  }
  finish();
  return { contacts };
}
