/**
 * CSV exports read into contacts: Google Contacts (several numbers in one cell as " ::: "), Outlook (fax
 * columns left out), a generic CSV with ";" as delimiter; quoted fields, a BOM, line numbers; a CSV with
 * no phone column is refused naming the file and its header line.
 */
import { ConfigError } from '../../src/errors/config-error';
import { isPhoneHeader, parseCsvContacts } from '../../src/reputation/contacts/csv-contacts';
import { importContacts } from '../../src/reputation/contacts/contact-import';
import { detectContactFormat } from '../../src/reputation/contacts/contact-list';

test('Google Contacts: name parts, organisation, every "Phone N - Value" column, " ::: " in a cell', () => {
  const text = [
    'First Name,Middle Name,Last Name,Organization Name,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value',
    'Jane,,Doe,ACME Corp,Work,+41 44 668 18 00 ::: +41 79 123 45 67,Mobile,+1 212 555 0147',
    ',,,Globex,Main,"+49 30 123456",,',
  ].join('\r\n');
  const { contacts } = parseCsvContacts(text, 'google.csv');
  expect(contacts).toEqual([
    {
      name: 'Jane Doe',
      organization: 'ACME Corp',
      line: 2,
      numbers: [
        { raw: '+41 44 668 18 00', line: 2 },
        { raw: '+41 79 123 45 67', line: 2 },
        { raw: '+1 212 555 0147', line: 2 },
      ],
    },
    { organization: 'Globex', line: 3, numbers: [{ raw: '+49 30 123456', line: 3 }] },
  ]);
  expect(importContacts({ contacts }, 'US').entries.map((e) => e.label)).toEqual([
    'contact: Jane Doe, ACME Corp',
    'contact: Jane Doe, ACME Corp',
    'contact: Jane Doe, ACME Corp',
    'contact: Globex',
  ]);
});

test('Google Contacts, older layout: Name and "Organization 1 - Name"', () => {
  const text =
    'Name,Given Name,Organization 1 - Name,Phone 1 - Type,Phone 1 - Value\nJane Doe,Jane,ACME Corp,Work,212 555 0147\n';
  const [contact] = parseCsvContacts(text, 'google.csv').contacts;
  expect(contact).toMatchObject({ name: 'Jane Doe', organization: 'ACME Corp', numbers: [{ raw: '212 555 0147' }] });
});

test('Outlook: phone columns read, fax columns left out, quoted fields with commas and newlines', () => {
  const text = [
    '\uFEFF"First Name","Last Name","Company","Business Fax","Business Phone","Business Phone 2","Home Phone","Mobile Phone","Pager","Notes"',
    '"John","Smith","Smith, Sons & Co","+1 212 555 0199","+1 212 555 0100","","","+1 212 555 0147","+1 212 555 0198","line one',
    'line two"',
    '"Anna","Muster","","","","","044 668 18 00","",""," "',
  ].join('\r\n');
  const { contacts } = parseCsvContacts(text, 'outlook.csv');
  expect(contacts.map((c) => [c.name, c.organization, c.line, c.numbers.map((n) => n.raw)])).toEqual([
    ['John Smith', 'Smith, Sons & Co', 2, ['+1 212 555 0100', '+1 212 555 0147']],
    ['Anna Muster', undefined, 4, ['044 668 18 00']],
  ]);
});

test('generic CSV with ";" as delimiter (taken from the header line), blank lines passed over', () => {
  const text =
    'name;company;phone;mobile number;email\n\nJane;ACME Corp;+41 44 668 18 00;;jane@example.com\nBob;;;"079 123 45 67";\n';
  const { contacts } = parseCsvContacts(text, 'export.csv');
  expect(contacts.map((c) => [c.line, c.name, c.numbers.map((n) => n.raw)])).toEqual([
    [3, 'Jane', ['+41 44 668 18 00']],
    [4, 'Bob', ['079 123 45 67']],
  ]);
  const result = importContacts({ contacts }, 'CH');
  expect(result.entries.map((e) => [e.e164, e.label])).toEqual([
    ['+41446681800', 'contact: Jane, ACME Corp'],
    ['+41791234567', 'contact: Bob'],
  ]);
});

test('bad numbers are skipped with their line numbers, the good ones of the same file imported', () => {
  const text = 'Name,Phone\nA,+1 212 555 0147\nB,n/a\nC,"12"\nD,+1 212 555 0100 ext. 7\n';
  const result = importContacts(parseCsvContacts(text, 'x.csv'), 'US');
  expect(result.entries.map((e) => [e.e164, e.line])).toEqual([
    ['+12125550147', 2],
    ['+12125550100', 5],
  ]);
  expect(result.skipped.map((s) => [s.line, s.raw])).toEqual([
    [3, 'n/a'],
    [4, '12'],
  ]);
  expect(result.numbersRead).toBe(4);
});

test('a CSV without a phone column is refused, naming the file and its header line', () => {
  const run = (): unknown => parseCsvContacts('Name,Email,Fax\nJane,jane@example.com,+12125550199\n', 'people.csv');
  expect(run).toThrow(ConfigError);
  expect(run).toThrow(/people\.csv:1:1 no phone column in the header line \(Name,Email,Fax\)/);
});

test.each([
  ['Phone 1 - Value', true],
  ['Business Phone 2', true],
  ["Assistant's Phone", true],
  ['Company Main Phone', true],
  ['Car Phone', true],
  ['Mobile', true],
  ['Tel', true],
  ['number', true],
  ['Business Fax', false],
  ['Phone 1 - Label', false],
  ['Phone 1 - Type', false],
  ['Telex', false],
  ['Pager', false],
  ['Government ID Number', false],
  ['Hotel', false],
])('header %j is a phone column: %s', (header, expected) => {
  expect(isPhoneHeader(header)).toBe(expected);
});

test.each([
  ['contacts.vcf', 'anything', 'vcard'],
  ['contacts.VCARD', '', 'vcard'],
  ['contacts.csv', 'BEGIN:VCARD', 'csv'],
  ['export', '\uFEFF\r\nbegin:vcard\r\nVERSION:3.0', 'vcard'],
  ['export', 'Name,Phone', 'csv'],
])('format of %s: %s -> %s', (file, text, expected) => {
  expect(detectContactFormat(file, text)).toBe(expected);
});
