/**
 * vCard exports (2.1, 3.0, 4.0) read into contacts: several numbers per contact, folded lines, escapes,
 * grouped properties, parameters in every spelling, QUOTED-PRINTABLE, and each number's line.
 */
import { parseVcardContacts } from '../../src/reputation/contacts/vcard-contacts';
import { importContacts } from '../../src/reputation/contacts/contact-import';

const crlf = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

describe('vCard 3.0 and 4.0', () => {
  test('a contact with several numbers gives each of them, with the TEL line of each', () => {
    const text = crlf([
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Jane Doe',
      'ORG:ACME Corp;Sales',
      'TEL;TYPE=work,voice:+41 44 668 18 00',
      'TEL;type=CELL;type=pref:079 123 45 67',
      'item1.TEL:+1 (212) 555-0147',
      'item1.X-ABLabel:_$!<Other>!$_',
      'END:VCARD',
    ]);
    const { contacts } = parseVcardContacts(text);
    expect(contacts).toEqual([
      {
        name: 'Jane Doe',
        organization: 'ACME Corp',
        line: 1,
        numbers: [
          { raw: '+41 44 668 18 00', line: 5 },
          { raw: '079 123 45 67', line: 6 },
          { raw: '+1 (212) 555-0147', line: 7 },
        ],
      },
    ]);
    const imported = importContacts({ contacts }, 'CH');
    expect(imported.entries.map((e) => [e.e164, e.label])).toEqual([
      ['+41446681800', 'contact: Jane Doe, ACME Corp'],
      ['+41791234567', 'contact: Jane Doe, ACME Corp'],
      ['+12125550147', 'contact: Jane Doe, ACME Corp'],
    ]);
  });

  test('4.0: tel: URIs with a quoted TYPE list and an extension, several cards, LF line ends', () => {
    const text = [
      'BEGIN:VCARD',
      'VERSION:4.0',
      'FN:Support Line',
      'ORG:ACME Corp',
      'TEL;VALUE=uri;TYPE="voice,work":tel:+1-212-555-0100;ext=12',
      'TEL;VALUE=uri;TYPE=cell:tel:+41-79-123-45-67',
      'END:VCARD',
      'BEGIN:VCARD',
      'VERSION:4.0',
      'FN:Bob',
      'TEL;VALUE=uri;PREF=1;TYPE="voice,home":tel:+49-30-123456',
      'END:VCARD',
      '',
    ].join('\n');
    const { contacts } = parseVcardContacts(text);
    expect(contacts.map((c) => [c.name, c.numbers.map((n) => n.raw)])).toEqual([
      ['Support Line', ['+1-212-555-0100', '+41-79-123-45-67']],
      ['Bob', ['+49-30-123456']],
    ]);
    expect(importContacts({ contacts }, 'US').entries.map((e) => e.e164)).toEqual([
      '+12125550100',
      '+41791234567',
      '+4930123456',
    ]);
  });

  test('folded lines are unfolded (CRLF or LF followed by a space or a tab), a BOM is ignored', () => {
    const text =
      '\uFEFFBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dr. Maximilian Ober\r\n huber-Schönenberger\r\nORG:Very Long\n\tCompany Name AG\r\nTEL;TYPE=WORK:+41 44 66\r\n 8 18 00\r\nEND:VCARD\r\n';
    const [contact] = parseVcardContacts(text).contacts;
    expect(contact?.name).toBe('Dr. Maximilian Oberhuber-Schönenberger');
    expect(contact?.organization).toBe('Very LongCompany Name AG');
    expect(contact?.numbers).toEqual([{ raw: '+41 44 668 18 00', line: 7 }]);
  });

  test('escaped text in FN and ORG: \\, \\; \\n \\\\; ORG keeps its first component', () => {
    const text = crlf([
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Doe\\, Jane\\nJr.',
      'ORG:Smith\\; Sons \\\\ Co;Accounts',
      'TEL:+12125550147',
      'END:VCARD',
    ]);
    const [contact] = parseVcardContacts(text).contacts;
    expect(contact?.name).toBe('Doe, Jane\nJr.');
    expect(contact?.organization).toBe('Smith; Sons \\ Co');
    expect(importContacts({ contacts: [contact!] }, 'US').entries[0]?.label).toBe(
      'contact: Doe, Jane Jr., Smith; Sons \\ Co',
    );
  });

  test('N is the name when FN is missing; fax and pager numbers are not numbers that call', () => {
    const text = crlf([
      'BEGIN:VCARD',
      'VERSION:3.0',
      'N:Doe;John;Q.;Mr.;',
      'TEL;TYPE=work,fax:+12125550199',
      'TEL;TYPE=PAGER:+12125550198',
      'TEL;TYPE=home:+12125550147',
      'END:VCARD',
    ]);
    const [contact] = parseVcardContacts(text).contacts;
    expect(contact?.name).toBe('Mr. John Q. Doe');
    expect(contact?.numbers.map((n) => n.raw)).toEqual(['+12125550147']);
  });
});

describe('vCard 2.1', () => {
  test('QUOTED-PRINTABLE names and organisations are decoded (soft line breaks too), bare TYPE parameters read', () => {
    const text = crlf([
      'BEGIN:VCARD',
      'VERSION:2.1',
      'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;',
      'FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BC=',
      'ller',
      'ORG;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:B=E4ckerei Z=FCrich',
      'TEL;WORK;VOICE:044 668 18 00',
      'TEL;WORK;FAX:044 668 18 01',
      'TEL;CELL:+41791234567',
      'END:VCARD',
    ]);
    const [contact] = parseVcardContacts(text).contacts;
    expect(contact?.name).toBe('Jürgen Müller');
    expect(contact?.organization).toBe('Bäckerei Zürich');
    expect(contact?.numbers).toEqual([
      { raw: '044 668 18 00', line: 7 },
      { raw: '+41791234567', line: 9 },
    ]);
  });

  test('the name from N alone, QUOTED-PRINTABLE, when a 2.1 card has no FN', () => {
    const text = crlf([
      'BEGIN:VCARD',
      'VERSION:2.1',
      'N;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Gr=C3=BCn;Anna',
      'TEL;HOME:+41446681800',
      'END:VCARD',
    ]);
    expect(parseVcardContacts(text).contacts[0]?.name).toBe('Anna Grün');
  });
});

test('a card with a number that is not one: skipped with its line, the others imported', () => {
  const text = crlf([
    'BEGIN:VCARD',
    'VERSION:3.0',
    'FN:Broken',
    'TEL:call me maybe',
    'TEL:+1 555 555 0100',
    'TEL:+12125550147',
    'END:VCARD',
  ]);
  const result = importContacts(parseVcardContacts(text), 'US');
  expect(result.entries.map((e) => e.e164)).toEqual(['+12125550147']);
  expect(result.skipped.map((s) => [s.line, s.raw])).toEqual([
    [4, 'call me maybe'],
    [5, '+1 555 555 0100'],
  ]);
  expect(result.skipped[1]?.reason).toMatch(/not a valid number/);
});
