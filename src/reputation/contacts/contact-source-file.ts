/**
 * A contacts source on disk: <rules.contactsFolder>/<name>.yaml, an allow-only rules file in the format of
 * rules.yaml, written whole by every import (replaced atomically, like a feed: the daemon sees the old list
 * or the new one, never half of one) and deleted by `callscreen contacts remove`. Its header comment says
 * where it came from and when; `contacts list` reads it back from there.
 *
 * No lock: an import replaces the whole file, so of two imports at once the last rename wins with a
 * complete file, and nothing is lost that the second import did not mean to replace.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { contactSourceFile, listContactSourceFiles } from '../../config/contacts-folder';
import { compileContactsRulesText, readRulesText, type RulesFileLimits } from '../../config/rules-file';
import { ConfigError } from '../../errors/config-error';
import { writeAtomically } from '../atomic-write';
import type { ContactImport } from './contact-import';

export interface SourceHeader {
  source: string;
  /** the export's file name (its folder left out: it may name a person's home) */
  importedFrom: string;
  importedAt: Date;
}

/** The text of a source file: the header comment, then one allow entry per number. */
export function renderContactSource(header: SourceHeader, result: ContactImport): string {
  const lines = [
    `# callscreen contacts source "${header.source}", written by \`callscreen contacts import\`.`,
    '# The next import of this source replaces the whole file; `callscreen contacts remove` deletes it.',
    `# imported-from: ${header.importedFrom.replace(/[\r\n]/g, ' ')}`,
    `# imported-at: ${header.importedAt.toISOString()}`,
    `# contacts: ${result.contacts}, numbers: ${result.entries.length}, duplicates merged: ${result.duplicates}, skipped: ${result.skipped.length}`,
    'allow:',
  ];
  // JSON strings are YAML double-quoted scalars; quoted, a number keeps its + (unquoted YAML reads an integer)
  for (const entry of result.entries)
    lines.push(`  - number: ${JSON.stringify(entry.e164)}`, `    label: ${JSON.stringify(entry.label)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Write a source's text (checked first the way the daemon will load it, so an import never leaves a file
 * the daemon rejects), creating the folder when missing. Returns the file written.
 */
export async function writeContactSource(
  folder: string,
  name: string,
  text: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits,
): Promise<string> {
  const file = contactSourceFile(folder, name);
  compileContactsRulesText(text, file, defaultRegion, limits);
  if (Buffer.byteLength(text) > limits.maxFileBytes)
    throw new ConfigError([
      {
        file,
        line: 0,
        column: 0,
        reason: `would be ${Buffer.byteLength(text)} bytes, over rules.maxFileBytes (${limits.maxFileBytes}); nothing was written`,
      },
    ]);
  await fs.mkdir(folder, { recursive: true });
  await writeAtomically(file, text);
  return file;
}

/** Delete a source's file; false when there was none. */
export async function removeContactSource(folder: string, name: string): Promise<boolean> {
  try {
    await fs.unlink(contactSourceFile(folder, name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export interface SourceSummary {
  source: string;
  file: string;
  /** allow entries in force from it (0 when it has a problem) */
  numbers: number;
  /** from its header, else the file's modification time */
  importedAt: Date;
  importedFrom?: string;
  /** why the daemon rejects the file, if it does (file:line:col) */
  problem?: string;
}

function headerField(text: string, field: string): string | undefined {
  const match = new RegExp(`^# ${field}: (.*)$`, 'm').exec(text.slice(0, 2048));
  return match?.[1]?.trim();
}

/** Every source in the folder, by name, as `contacts list` shows them. */
export async function listContactSources(
  folder: string,
  defaultRegion: CountryCode,
  limits: RulesFileLimits,
): Promise<SourceSummary[]> {
  const summaries: SourceSummary[] = [];
  for (const file of listContactSourceFiles(folder)) {
    const source = path.basename(file, '.yaml');
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat) continue; // removed since the listing
    let text = '';
    let numbers = 0;
    let problem: string | undefined;
    try {
      text = readRulesText(file, file, limits);
      numbers = compileContactsRulesText(text, file, defaultRegion, limits).rules.length;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problem = e.message;
    }
    const at = headerField(text, 'imported-at');
    const importedAt = at !== undefined && !Number.isNaN(Date.parse(at)) ? new Date(at) : stat.mtime;
    const importedFrom = headerField(text, 'imported-from');
    summaries.push({
      source,
      file,
      numbers,
      importedAt,
      ...(importedFrom !== undefined ? { importedFrom } : {}),
      ...(problem !== undefined ? { problem } : {}),
    });
  }
  return summaries;
}
