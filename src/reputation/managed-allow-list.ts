/**
 * The managed allow list (rules.managedFile, default rules.managed.yaml beside callscreen.yaml): allow
 * entries written by agents' feedback, in the same format as rules.yaml, loaded beside it and
 * hot-reloaded like it (src/config/rules-reloader.ts). The admin's rules.yaml is never written.
 *
 * Promotion: when a report leaves a number with at least feedback.promoteAfter "ok" verdicts and the
 * last verdict "ok", the number gets an exact allow entry here, labelled with why and when
 * ("agents: not spam x3, last 2026-11-23 by alice"); every later "ok" report refreshes the label.
 * Demotion: a "spam" report on a number removes its exact entries from this file (an admin who wants
 * a number allowed whatever agents say puts it in rules.yaml). The counts themselves stay in Redis.
 *
 * Writing: under a lock file (<file>.lock, created with O_EXCL; a lock older than STALE_LOCK_MS is
 * taken to be left by a crashed writer and broken) the file is read again (an admin may have edited
 * it), changed with the yaml package's document API (comments and the admin's entries stay as they
 * are), written to a temporary file in the same folder and renamed over the file, so a reader (the
 * daemon's reloader) sees the old or the new file, never half of one, and two writers on one host
 * never lose each other's entry. A file with a problem is not written over: the change fails with
 * the problem (file:line:col), and the report itself still counts.
 */
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { isMap, isScalar, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq, type Document } from 'yaml';
import type { FeedbackReport, FeedbackStore } from '../ports/feedback-store';
import type { FeedbackEntry } from '../domain/reputation-entry';
import { normalisePhoneNumber } from '../domain/phone-number';
import { ConfigError } from '../errors/config-error';
import type { LoadedConfig } from '../config/load-config';
import { compileManagedRulesText } from '../config/rules-file';
import { writeAtomically } from './atomic-write';

/** Labels of entries this module writes start with this. */
export const MANAGED_LABEL_PREFIX = 'agents:';

const HEADER = [
  " rules.managed.yaml - the managed allow list, written by callscreen from agents' feedback",
  ' (`callscreen report NUMBER ok`, POST /api/v1/feedback). A number reported "ok" feedback.promoteAfter',
  ' times, the last report "ok", is added here; a "spam" report removes it again.',
  ' Same format as rules.yaml, allow entries only. You may remove or edit entries (the file is re-read',
  ' before every change); allow entries that must stay whatever agents say belong in rules.yaml.',
].join('\n');

const LOCK_RETRY_MS = 15;
const DEFAULT_LOCK_TIMEOUT_MS = 3_000;
/** a lock file older than this was left by a writer that died (a write takes milliseconds) */
const STALE_LOCK_MS = 10_000;

export type ListChange = 'added' | 'updated' | 'removed' | 'unchanged';

export interface ManagedAllowListOptions {
  file: string;
  defaultRegion: CountryCode;
  /** the name in problems; default: file */
  displayName?: string;
  /** how long to wait for another writer's lock; default 3 s */
  lockTimeoutMs?: number;
}

/** rules.managedFile, resolved against the config file's folder (like rules.file). */
export function managedFilePath(loaded: Pick<LoadedConfig, 'file' | 'config'>): string {
  return path.resolve(path.dirname(loaded.file), loaded.config.rules.managedFile);
}

export class ManagedAllowList {
  private readonly displayName: string;
  private readonly lockTimeoutMs: number;
  /** one change at a time inside this process (the lock file orders processes) */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ManagedAllowListOptions) {
    this.displayName = options.displayName ?? options.file;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  get file(): string {
    return this.options.file;
  }

  /** Add an exact allow entry for the number, or refresh its label. */
  promote(e164: string, label: string): Promise<ListChange> {
    return this.change((doc) => {
      const allow = allowSeq(doc);
      const found = this.entriesOf(allow, e164);
      if (found.length === 0) {
        const entry = new YAMLMap<Scalar, Scalar>();
        const number = new Scalar(e164);
        number.type = Scalar.QUOTE_DOUBLE; // unquoted, YAML would read +1212... as an integer
        entry.set(new Scalar('number'), number);
        entry.set(new Scalar('label'), new Scalar(label));
        allow.items.push(entry);
        return 'added';
      }
      let changed = false;
      for (const index of found) {
        const item = allow.items[index];
        if (isMap(item)) {
          if (item.get('label') !== label) {
            item.set('label', label);
            changed = true;
          }
        } else {
          const entry = new YAMLMap<Scalar, Scalar>();
          const number = new Scalar(String((item as Scalar).value));
          number.type = Scalar.QUOTE_DOUBLE;
          entry.set(new Scalar('number'), number);
          entry.set(new Scalar('label'), new Scalar(label));
          allow.items[index] = entry;
          changed = true;
        }
      }
      return changed ? 'updated' : 'unchanged';
    });
  }

  /** Remove the number's exact allow entries. */
  demote(e164: string): Promise<ListChange> {
    return this.change((doc) => {
      const allow = existingAllowSeq(doc);
      if (!allow) return 'unchanged';
      const found = new Set(this.entriesOf(allow, e164));
      if (found.size === 0) return 'unchanged';
      allow.items = allow.items.filter((_, i) => !found.has(i));
      return 'removed';
    });
  }

  /** Whether the file has an exact allow entry for the number (a missing file has none). */
  async has(e164: string): Promise<boolean> {
    const text = await readOrNull(this.options.file);
    if (text === null) return false;
    const doc = parseDocument(text);
    const allow = doc.errors.length > 0 ? undefined : existingAllowSeq(doc);
    return allow !== undefined && this.entriesOf(allow, e164).length > 0;
  }

  /** Indexes of the allow entries written as this one exact number (wildcards and ranges are left alone). */
  private entriesOf(allow: YAMLSeq, e164: string): number[] {
    const found: number[] = [];
    allow.items.forEach((item, index) => {
      const written = isScalar(item)
        ? item.value
        : isMap(item) && !item.has('dids') && !item.has('expires')
          ? item.get('number')
          : undefined;
      if (typeof written !== 'string' || /[*?xX]|\.\./.test(written)) return;
      const n = normalisePhoneNumber(written.trim().replace(/^00/, '+'), this.options.defaultRegion);
      if (n.kind === 'e164' && n.e164 === e164) found.push(index);
    });
    return found;
  }

  private change(edit: (doc: Document) => ListChange): Promise<ListChange> {
    const run = this.queue.then(() => this.locked(edit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async locked(edit: (doc: Document) => ListChange): Promise<ListChange> {
    const release = await this.lock();
    try {
      const text = await readOrNull(this.options.file);
      // a file with a problem is the admin's to fix: never written over (its problems name line and column)
      if (text !== null) compileManagedRulesText(text, this.displayName, this.options.defaultRegion);
      const doc = text === null ? newDocument() : parseDocument(text);
      const change = edit(doc);
      if (change === 'unchanged') return change;
      const updated = doc.toString();
      compileManagedRulesText(updated, this.displayName, this.options.defaultRegion); // never write a file the daemon would reject
      await writeAtomically(this.options.file, updated);
      return change;
    } finally {
      await release();
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const lockFile = `${this.options.file}.lock`;
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        const handle = await fs.open(lockFile, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
        await handle.writeFile(`${process.pid}@${hostname()}\n`);
        await handle.close();
        return () => fs.unlink(lockFile).catch(() => undefined);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const stat = await fs.stat(lockFile).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) {
        await fs.unlink(lockFile).catch(() => undefined); // left by a writer that died
        continue;
      }
      if (Date.now() > deadline) {
        const owner = await fs.readFile(lockFile, 'utf8').catch(() => '?');
        throw new Error(
          `${this.displayName} is locked by another writer (${owner.trim() || '?'}, lock file ${lockFile}); try again`,
        );
      }
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS + Math.random() * LOCK_RETRY_MS));
    }
  }
}

function newDocument(): Document {
  const doc = parseDocument('allow: []\n');
  doc.commentBefore = HEADER;
  return doc;
}

function existingAllowSeq(doc: Document): YAMLSeq | undefined {
  const allow = doc.get('allow', true);
  return isSeq(allow) ? allow : undefined;
}

/** The allow list, created (as a block list) when the file has none or an empty one. */
function allowSeq(doc: Document): YAMLSeq {
  const allow = existingAllowSeq(doc);
  if (allow) {
    allow.flow = false; // "allow: []" grows into a block list
    return allow;
  }
  const seq = new YAMLSeq();
  if (doc.contents === null) doc.contents = doc.createNode({}) as YAMLMap;
  doc.set('allow', seq);
  return seq;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Promotion

export type PromotionStep = 'promote' | 'demote' | 'none';

/** What a number's feedback entry, just updated, means for the managed allow list. */
export function promotionFor(entry: FeedbackEntry, promoteAfter: number): PromotionStep {
  if (entry.last === 'ok') return entry.ok >= promoteAfter ? 'promote' : 'none';
  return 'demote';
}

/** "agents: not spam x3, last 2026-11-23 by alice" (spam reports, when any, are named too). */
export function promotionLabel(entry: FeedbackEntry, at: number, agent: string | undefined): string {
  const spam = entry.spam > 0 ? ` (spam x${entry.spam})` : '';
  const by = agent ? ` by ${agent}` : '';
  return `${MANAGED_LABEL_PREFIX} not spam x${entry.ok}${spam}, last ${new Date(at).toISOString().slice(0, 10)}${by}`;
}

export interface FeedbackOutcome {
  entry: FeedbackEntry;
  /** the number is on the managed allow list after this report */
  promoted: boolean;
  change: ListChange;
  /** the report counts, but the managed allow list could not be changed (why) */
  listError?: string;
}

export interface FeedbackRecorderDeps {
  store: Pick<FeedbackStore, 'report'>;
  list: ManagedAllowList;
  promoteAfter: number;
}

/** Store one report, then promote or demote the number on the managed allow list. */
export async function recordFeedback(deps: FeedbackRecorderDeps, report: FeedbackReport): Promise<FeedbackOutcome> {
  const entry = await deps.store.report(report);
  const step = promotionFor(entry, deps.promoteAfter);
  try {
    if (step === 'promote')
      return {
        entry,
        promoted: true,
        change: await deps.list.promote(report.e164, promotionLabel(entry, report.at, report.agent)),
      };
    if (step === 'demote') return { entry, promoted: false, change: await deps.list.demote(report.e164) };
    return { entry, promoted: await deps.list.has(report.e164), change: 'unchanged' };
  } catch (e) {
    const listError =
      e instanceof ConfigError ? `${e.message} (fix the file; it was not changed)` : (e as Error).message;
    return { entry, promoted: false, change: 'unchanged', listError };
  }
}

/** A number an agent reports, to E.164; the reason when it is not a phone number. */
export function numberForFeedback(raw: string, defaultRegion: CountryCode): { e164: string } | { reason: string } {
  const n = normalisePhoneNumber(raw, defaultRegion);
  if (n.kind === 'withheld') return { reason: `"${raw}" is not a phone number (withheld or empty)` };
  if (n.kind === 'unparseable') return { reason: `"${raw}" ${n.reason}` };
  if (!n.possible) return { reason: `"${raw}" (${n.e164}) has a length no number in its country has` };
  return { e164: n.e164 };
}

/** An agent's name or note from outside: control characters out, trimmed, at most `max` characters. */
export function cleanText(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const clean = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, max);
  return clean === '' ? undefined : clean;
}
