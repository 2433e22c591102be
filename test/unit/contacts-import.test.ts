/**
 * From contacts to allow entries: labels, duplicate numbers merged into one entry, the source file's text
 * (loaded back as the daemon loads it).
 */
import { compileContactsRulesText } from '../../src/config/rules-file';
import { describeRule } from '../../src/domain/rule-set';
import { importContacts, MAX_MERGED_LABEL } from '../../src/reputation/contacts/contact-import';
import { contactLabel, MAX_CONTACT_LABEL, type Contact } from '../../src/reputation/contacts/contact-list';
import { renderContactSource } from '../../src/reputation/contacts/contact-source-file';

const contact = (name: string | undefined, organization: string | undefined, ...numbers: string[]): Contact => ({
  ...(name !== undefined ? { name } : {}),
  ...(organization !== undefined ? { organization } : {}),
  numbers: numbers.map((raw, i) => ({ raw, line: i + 1 })),
  line: 1,
});

describe('labels', () => {
  test.each([
    ['Jane Doe', 'ACME Corp', 'contact: Jane Doe, ACME Corp'],
    [undefined, 'ACME Corp', 'contact: ACME Corp'],
    ['Jane Doe', undefined, 'contact: Jane Doe'],
    ['ACME Corp', 'acme corp', 'contact: ACME Corp'],
    ['  Jane \n\t Doe ', ' ACME   Corp ', 'contact: Jane Doe, ACME Corp'],
    [undefined, undefined, 'contact: (no name)'],
    ['', '  ', 'contact: (no name)'],
  ])('name %j, organisation %j -> %j', (name, organization, label) => {
    expect(contactLabel({ ...(name ? { name } : {}), ...(organization ? { organization } : {}) })).toBe(label);
  });

  test(`a long name is cut to ${MAX_CONTACT_LABEL} characters with an ellipsis`, () => {
    const label = contactLabel({ name: 'N'.repeat(60), organization: 'O'.repeat(60) });
    expect(label).toHaveLength(MAX_CONTACT_LABEL);
    expect(label).toMatch(/^contact: N+, O+…$/);
  });
});

describe('duplicate numbers', () => {
  test('the same number in several contacts is one entry, their labels joined with "; "', () => {
    const result = importContacts(
      {
        contacts: [
          contact('Jane', 'ACME Corp', '+41 44 668 18 00', '044 668 18 00'),
          contact(undefined, 'ACME Corp', '+41446681800'),
          contact('Reception', 'ACME Corp', '0041 44 668 18 00', '+41 79 123 45 67'),
        ],
      },
      'CH',
    );
    expect(result.entries).toEqual([
      { e164: '+41446681800', label: 'contact: Jane, ACME Corp; ACME Corp; Reception, ACME Corp', line: 1 },
      { e164: '+41791234567', label: 'contact: Reception, ACME Corp', line: 2 },
    ]);
    expect(result.duplicates).toBe(3);
    expect(result.numbersRead).toBe(5);
  });

  test(`a number shared by many contacts keeps a label of at most ${MAX_MERGED_LABEL} characters, counting the rest`, () => {
    const contacts = Array.from({ length: 40 }, (_, i) => contact(`Person number ${i}`, 'ACME Corp', '+12125550147'));
    const [entry] = importContacts({ contacts }, 'US').entries;
    expect(entry?.label.length).toBeLessThanOrEqual(MAX_MERGED_LABEL);
    expect(entry?.label).toMatch(/^contact: Person number 0, ACME Corp; Person number 1, ACME Corp; .*; \+\d+ more$/);
  });
});

test('the source file: header, one quoted allow entry per number, loaded back with the labels and lines', () => {
  const result = importContacts({ contacts: [contact('Jane "JD" Doe', 'ACME: Corp #1', '+12125550147')] }, 'US');
  const text = renderContactSource(
    { source: 'crm', importedFrom: 'export.vcf', importedAt: new Date('2026-12-07T01:00:00Z') },
    result,
  );
  expect(text).toContain('# imported-from: export.vcf\n# imported-at: 2026-12-07T01:00:00.000Z\n');
  const set = compileContactsRulesText(text, 'contacts/crm.yaml', 'US');
  expect(set.rules.map(describeRule)).toEqual([
    'allow +12125550147 (contact: Jane "JD" Doe, ACME: Corp #1) at contacts/crm.yaml:7',
  ]);
});

test('a contacts source with deny entries is refused with file:line:col', () => {
  expect(() => compileContactsRulesText('allow: []\ndeny:\n  - "+12125550147"\n', 'contacts/x.yaml', 'US')).toThrow(
    /contacts\/x\.yaml:3:5 a contacts source takes allow entries only/,
  );
});
