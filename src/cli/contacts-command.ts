/**
 * `callscreen contacts import FILE --source NAME`: an address book export (CSV or vCard) into a named allow
 * source, <rules.contactsFolder>/<NAME>.yaml, replaced whole and atomically (the daemon picks it up by
 * itself); `callscreen contacts list`; `callscreen contacts remove NAME`. A contact's numbers are allowed,
 * and the reason of a call says whose they are ("contact: ACME Corp").
 *
 * Exit codes: 0 imported (also with skipped numbers), 1 an I/O failure, 2 bad options, a file that cannot
 * be read, or a file that yields no number (the source is then left as it was: a broken export never
 * wipes a list).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { contactsFolderPath, contactSourceFile, isContactSourceName } from '../config/contacts-folder';
import { unreadable } from '../config/file-reloader';
import { loadConfig } from '../config/load-config';
import type { RulesFileLimits } from '../config/rules-file';
import { ConfigError } from '../errors/config-error';
import { importContacts, type ContactImport } from '../reputation/contacts/contact-import';
import { detectContactFormat, type ContactFormat, type ContactList } from '../reputation/contacts/contact-list';
import {
  listContactSources,
  removeContactSource,
  renderContactSource,
  writeContactSource,
  type SourceSummary,
} from '../reputation/contacts/contact-source-file';
import { parseCsvContacts } from '../reputation/contacts/csv-contacts';
import { parseVcardContacts } from '../reputation/contacts/vcard-contacts';

/** skipped numbers printed with their line; after that they are only counted */
const MAX_PRINTED_SKIPS = 10;
const FORMATS = ['auto', 'csv', 'vcard'] as const;

export interface ContactsImportOptions {
  source: string;
  format?: string;
  region?: string;
  dryRun?: boolean;
  json?: boolean;
  config: string;
}

export function registerContactsCommands(program: Command, defaultConfig: string): void {
  const contacts = program
    .command('contacts')
    .description(
      "address book exports as allow sources: a contact's numbers are allowed, the reason names the contact",
    );
  contacts
    .command('import <file>')
    .description(
      'import a CSV or vCard export as allow source NAME (rules.contactsFolder/NAME.yaml), replacing its previous import atomically',
    )
    .requiredOption('-s, --source <name>', 'source name (lower case letters, digits, - and _; at most 40)')
    .option('-f, --format <format>', `${FORMATS.join(', ')} (auto: by the file's extension, else its content)`, 'auto')
    .option('--region <CC>', 'region of numbers without a country code (default numbers.defaultRegion)')
    .option('--dry-run', 'read and report, write nothing')
    .option('--json', 'print the summary as one JSON object')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (file: string, opts: ContactsImportOptions) => {
      const summary = await importContactsCommand(file, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(summaryJson(summary))}\n` : renderImport(summary));
    });
  contacts
    .command('list')
    .description('list the contacts sources: numbers, when imported, from which file')
    .option('--json', 'one JSON array')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { json?: boolean; config: string }) => {
      const loaded = loadConfig(opts.config);
      const sources = await listContactSources(
        contactsFolderPath(loaded),
        loaded.config.numbers.defaultRegion,
        limitsOf(loaded.config.rules),
      );
      process.stdout.write(opts.json ? `${JSON.stringify(sources)}\n` : renderSources(sources));
    });
  contacts
    .command('remove <name>')
    .description('delete a contacts source: its numbers are no longer allowed (the daemon notices by itself)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (name: string, opts: { config: string }) => {
      checkSourceName(name, 'NAME');
      const folder = contactsFolderPath(loadConfig(opts.config));
      if (!(await removeContactSource(folder, name)))
        throw usageError('NAME', `no contacts source "${name}" (no ${contactSourceFile(folder, name)})`);
      process.stdout.write(`removed contacts source ${name} (${contactSourceFile(folder, name)})\n`);
    });
}

/** Bad command-line input: reported like a config problem (exit 2), naming the option. */
function usageError(option: string, reason: string): ConfigError {
  return new ConfigError([{ file: option, line: 0, column: 0, reason }]);
}

function checkSourceName(name: string, option: string): void {
  if (!isContactSourceName(name))
    throw usageError(
      option,
      `"${name}" is not a source name: lower case letters, digits, - and _, starting with a letter or digit, at most 40`,
    );
}

function parseRegion(region: string | undefined, fallback: CountryCode): CountryCode {
  if (region === undefined) return fallback;
  const upper = region.trim().toUpperCase();
  if (!isSupportedCountry(upper))
    throw usageError('--region', `"${region}" is not a region libphonenumber knows (ISO 3166 alpha-2, e.g. CH)`);
  return upper;
}

function parseFormat(format: string | undefined): (typeof FORMATS)[number] {
  const wanted = (format ?? 'auto').toLowerCase();
  const found = FORMATS.find((f) => f === wanted);
  if (!found) throw usageError('--format', `"${format ?? ''}" is not one of ${FORMATS.join(', ')}`);
  return found;
}

function limitsOf(rules: RulesFileLimits): RulesFileLimits {
  return { maxFileBytes: rules.maxFileBytes, maxRules: rules.maxRules };
}

export interface ContactsImportSummary extends ContactImport {
  source: string;
  file: string;
  format: ContactFormat;
  region: CountryCode;
  /** the source file written, or undefined on a dry run */
  written?: string;
}

/** The export's text, at most rules.maxFileBytes (an export that big is not an address book). */
async function readExport(file: string, maxBytes: number): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(file);
    if (!stat.isFile()) throw usageError(file, 'not a file');
    if (stat.size > maxBytes)
      throw usageError(file, `${stat.size} bytes, over rules.maxFileBytes (${maxBytes}); not an address book export?`);
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw unreadable(e, file);
  }
}

export async function importContactsCommand(file: string, opts: ContactsImportOptions): Promise<ContactsImportSummary> {
  checkSourceName(opts.source, '--source');
  const wanted = parseFormat(opts.format);
  const loaded = loadConfig(opts.config);
  const region = parseRegion(opts.region, loaded.config.numbers.defaultRegion);
  const limits = limitsOf(loaded.config.rules);
  const text = await readExport(file, limits.maxFileBytes);
  const format = wanted === 'auto' ? detectContactFormat(file, text) : wanted;
  const list: ContactList = format === 'vcard' ? parseVcardContacts(text) : parseCsvContacts(text, file);
  const result = importContacts(list, region);
  const folder = contactsFolderPath(loaded);
  const summary: ContactsImportSummary = { ...result, source: opts.source, file, format, region };
  if (result.entries.length === 0)
    throw new ConfigError([
      {
        file,
        line: 0,
        column: 0,
        reason: `no phone number to import (${result.contacts} contacts read as ${format}, ${result.numbersRead} numbers, ${result.skipped.length} skipped${firstSkip(result)}); the source ${opts.source} was not changed`,
      },
    ]);
  if (result.entries.length > limits.maxRules)
    throw usageError(
      file,
      `${result.entries.length} numbers, over rules.maxRules (${limits.maxRules}); the source ${opts.source} was not changed`,
    );
  if (opts.dryRun) return summary;
  const sourceText = renderContactSource(
    { source: opts.source, importedFrom: path.basename(file), importedAt: new Date() },
    result,
  );
  const written = await writeContactSource(folder, opts.source, sourceText, region, limits);
  return { ...summary, written };
}

function firstSkip(result: ContactImport): string {
  const first = result.skipped[0];
  return first ? `; the first: line ${first.line} "${first.raw}" ${first.reason}` : '';
}

export function renderImport(s: ContactsImportSummary): string {
  const lines = [
    `${s.file} (${s.format}, region ${s.region}): ${s.contacts} contacts, ${s.numbersRead} numbers read`,
    `  imported:   ${s.entries.length} numbers`,
    `  duplicates: ${s.duplicates} merged into one entry each`,
    `  skipped:    ${s.skipped.length}`,
  ];
  for (const skip of s.skipped.slice(0, MAX_PRINTED_SKIPS))
    lines.push(`    ${s.file}:${skip.line}: "${skip.raw}" ${skip.reason}`);
  if (s.skipped.length > MAX_PRINTED_SKIPS) lines.push(`    ... and ${s.skipped.length - MAX_PRINTED_SKIPS} more`);
  lines.push(
    s.written
      ? `source ${s.source}: written to ${s.written} (replacing its previous import; the daemon loads it by itself)`
      : `source ${s.source}: dry run, nothing written`,
  );
  return `${lines.join('\n')}\n`;
}

function summaryJson(s: ContactsImportSummary): Record<string, unknown> {
  return {
    source: s.source,
    file: s.file,
    format: s.format,
    region: s.region,
    contacts: s.contacts,
    numbersRead: s.numbersRead,
    imported: s.entries.length,
    duplicates: s.duplicates,
    skipped: s.skipped,
    written: s.written ?? null,
  };
}

function renderSources(sources: readonly SourceSummary[]): string {
  if (sources.length === 0) return 'no contacts sources (callscreen contacts import FILE --source NAME)\n';
  const width = Math.max(6, ...sources.map((s) => s.source.length));
  const lines = [`${'source'.padEnd(width)}  ${'numbers'.padStart(7)}  imported at           from`];
  for (const s of sources) {
    const at = s.importedAt.toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${s.source.padEnd(width)}  ${String(s.numbers).padStart(7)}  ${at} UTC  ${s.importedFrom ?? '-'}`);
    if (s.problem) lines.push(`  PROBLEM (not in force): ${s.problem}`);
  }
  return `${lines.join('\n')}\n`;
}
