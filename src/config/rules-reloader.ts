/**
 * The rules in force, reloaded when a file changes, without a restart. A bad edit never replaces
 * good rules: it is logged once (with every problem as "file:line:col reason"), kept as `lastError`
 * for the review page, and the last good rules stay in force until the file is fixed. An emptied rules
 * file is such a bad edit (rules-file.ts: it must name its lists, `allow: []` / `deny: []` for none).
 *
 * Two files: the admin's rules file (rules.file) and, when given, the managed allow list
 * (rules.managedFile) that agents' feedback writes. Each is watched and judged on its own (a broken
 * managed file keeps its last good entries and does not touch the admin's rules, and the other way
 * round); the rules in force are both together, the admin's first. A missing managed file at the
 * start is an empty list; once it has loaded, deleting it is reported like a deleted rules file (the
 * last good entries stay: empty it instead).
 *
 * And, when given, every contacts source in rules.contactsFolder (<name>.yaml, written by `callscreen
 * contacts import`), each judged on its own like the managed list. The folder's listing is polled on the
 * same interval: a source that appears is loaded (off the event loop) and put in force, a source that is
 * deleted (`callscreen contacts remove`) takes its entries out of force, both logged. The rules in force:
 * the admin's, then the managed list's, then each source's by name (a tie goes to the earlier).
 *
 * How a change is noticed (directory watch, stat poll, settle time, content hash) is FileReloader's;
 * this is the rules files' compile step and log wording.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { buildRuleSet, countRules, EMPTY_RULE_SET, type RuleSet } from '../domain/rule-set';
import type { ConfigError } from '../errors/config-error';
import type { Logger } from '../ports/logger';
import { contactSourceName, listContactSourceFiles } from './contacts-folder';
import { FileReloader, type FileReloaderEvents, type FileReloaderOptions } from './file-reloader';
import {
  compileContactsRulesText,
  compileManagedRulesText,
  compileRulesText,
  DEFAULT_RULES_LIMITS,
  readRulesText,
  type RulesFileLimits,
} from './rules-file';
import { RulesCompiler } from './rules-off-thread';
import { mergeManyRuleSetsInSlices, type RulesCompileRequest } from './rules-transfer';

export interface RulesReloaderOptions {
  file: string;
  /** the name used in problems and logs; default: file */
  displayName?: string;
  /** the managed allow list (rules.managedFile); absent: the rules file alone */
  managedFile?: string;
  /** its name in problems and logs; default: managedFile */
  managedDisplayName?: string;
  /** the contacts sources' folder (rules.contactsFolder); absent: no contacts sources */
  contactsFolder?: string;
  /** the folder's name in problems and logs (each source as <name>/<source>.yaml); default: contactsFolder */
  contactsDisplayFolder?: string;
  defaultRegion: CountryCode;
  logger: Logger;
  /** how often the files' stat is polled; default 500 ms */
  pollIntervalMs?: number;
  /** rules.maxFileBytes and rules.maxRules; default DEFAULT_RULES_LIMITS */
  limits?: RulesFileLimits;
}

/**
 * One of the two files; load() is the first, synchronous load (at start, before the daemon serves), read
 * within the size limit. Later reloads are read and compiled in a worker thread (rules-off-thread.ts).
 */
class RuleFileReloader extends FileReloader<RuleSet> {
  constructor(
    options: FileReloaderOptions<RuleSet>,
    private readonly limits: RulesFileLimits,
  ) {
    super(options);
  }

  load(): RuleSet {
    return this.loadFile();
  }

  protected override readSync(): string {
    return readRulesText(this.file, this.displayName, this.limits);
  }
}

function describe(set: RuleSet): Record<string, unknown> {
  const counts = countRules(set.rules);
  const total = (list: keyof typeof counts): number => Object.values(counts[list]).reduce((a, b) => a + b, 0);
  return { rules: set.rules.length, allow: total('allow'), deny: total('deny') };
}

/** The rules of several files in one (the first's win ties); the first alone when the others have none. */
function mergeAll(sets: readonly RuleSet[]): RuleSet {
  const [first = EMPTY_RULE_SET, ...others] = sets;
  if (others.every((set) => set.rules.length === 0)) return first;
  return buildRuleSet(sets.flatMap((set) => set.rules));
}

const CONTACTS_MESSAGES = {
  reloaded: 'contacts source reloaded',
  rejected: 'contacts source edit rejected; keeping its last good entries',
  backInForce: 'contacts source is back to the entries in force',
  checkFailed: 'contacts source reload check failed',
  watchFailed: 'watching the contacts folder failed; polling only',
  cannotWatch: 'cannot watch the contacts folder; polling only',
};

export class RulesReloader extends EventEmitter<FileReloaderEvents<RuleSet>> {
  private readonly admin: RuleFileReloader;
  private managed: RuleFileReloader | undefined;
  /** the contacts sources by file, in name order */
  private readonly contacts = new Map<string, RuleFileReloader>();
  private merged: RuleSet | undefined;
  private contactsMerged: RuleSet | undefined;
  private folderTimer: NodeJS.Timeout | undefined;
  private scanning = false;
  private closed = false;
  /** counts reloads, so that a merge finished after a newer reload does not replace the newer one's */
  private generation = 0;
  private readonly limits: RulesFileLimits;
  private readonly compiler: RulesCompiler;

  constructor(private readonly options: RulesReloaderOptions) {
    super();
    const displayName = options.displayName ?? options.file;
    this.limits = options.limits ?? DEFAULT_RULES_LIMITS;
    this.compiler = new RulesCompiler({
      onNoWorker: (reason) =>
        options.logger.warn(
          { err: reason },
          'rules reloads are compiled on the event loop (no worker thread could start): a big rules file stalls calls while it loads',
        ),
    });
    this.admin = new RuleFileReloader(
      {
        file: options.file,
        displayName,
        logger: options.logger,
        pollIntervalMs: options.pollIntervalMs,
        name: 'RulesReloader',
        fileField: 'rulesFile',
        messages: {
          reloaded: 'rules reloaded',
          rejected: 'rules edit rejected; keeping the last good rules',
          backInForce: 'rules file is back to the rules in force',
          checkFailed: 'rules reload check failed',
          watchFailed: 'watching the rules folder failed; polling only',
          cannotWatch: 'cannot watch the rules folder; polling only',
        },
        compile: (text) => compileRulesText(text, displayName, options.defaultRegion, this.limits),
        readAndCompile: (file, known) => this.compiler.readAndCompile(this.request(file, displayName, 'rules', known)),
        describe,
      },
      this.limits,
    );
    this.forward(this.admin);
  }

  /**
   * The last rejected edit of any file (the rules file's first, then the managed list's, then a contacts
   * source's), cleared once it holds good rules again.
   */
  get lastError(): ConfigError | undefined {
    return this.admin.lastError ?? this.managed?.lastError ?? this.contactsError;
  }

  /** The rejected edit of the first contacts source (by name) that has one, if any. */
  get contactsError(): ConfigError | undefined {
    for (const reloader of this.contacts.values()) if (reloader.lastError) return reloader.lastError;
    return undefined;
  }

  /** The rejected edit of the managed allow list, if any. */
  get managedError(): ConfigError | undefined {
    return this.managed?.lastError;
  }

  /** First load. Throws ConfigError with every problem: the daemon refuses to start on bad rules. */
  load(): RuleSet {
    const rules = this.admin.load();
    const managedFile = this.options.managedFile;
    if (managedFile !== undefined && !this.managed) {
      const displayName = this.options.managedDisplayName ?? managedFile;
      const missing = !existsSync(managedFile);
      this.managed = new RuleFileReloader(
        {
          file: managedFile,
          displayName,
          logger: this.options.logger,
          pollIntervalMs: this.options.pollIntervalMs,
          name: 'RulesReloader',
          fileField: 'rulesFile',
          messages: {
            reloaded: 'managed allow list reloaded',
            rejected: 'managed allow list edit rejected; keeping its last good entries',
            backInForce: 'managed allow list is back to the entries in force',
            checkFailed: 'managed allow list reload check failed',
            watchFailed: 'watching the managed allow list folder failed; polling only',
            cannotWatch: 'cannot watch the managed allow list folder; polling only',
          },
          compile: (text) => compileManagedRulesText(text, displayName, this.options.defaultRegion, this.limits),
          readAndCompile: (file, known) =>
            this.compiler.readAndCompile(this.request(file, displayName, 'managed', known)),
          describe,
          // missing: an empty list, and the file is read once it appears
          ...(missing ? { initial: { value: EMPTY_RULE_SET } } : {}),
        },
        this.limits,
      );
      if (!missing) this.managed.load();
      this.forward(this.managed);
    }
    const folder = this.options.contactsFolder;
    if (folder !== undefined)
      for (const file of listContactSourceFiles(folder)) if (!this.contacts.has(file)) this.addContacts(file, 'load');
    this.merged = this.contactsMerged = undefined;
    return this.managed || this.contacts.size > 0 ? this.current() : rules;
  }

  /**
   * The rules in force: the rules file's, the managed allow list's and the contacts sources', the last good
   * state of each.
   */
  current(): RuleSet {
    if (!this.managed && this.contacts.size === 0) return this.admin.current();
    this.merged ??= mergeAll(this.sets());
    return this.merged;
  }

  /** The contacts sources' rules alone (empty without any). */
  contactsRules(): RuleSet {
    this.contactsMerged ??= mergeAll([EMPTY_RULE_SET, ...[...this.contacts.values()].map((r) => r.current())]);
    return this.contactsMerged;
  }

  /** The managed allow list's rules alone (empty without one). */
  managedRules(): RuleSet {
    return this.managed ? this.managed.current() : EMPTY_RULE_SET;
  }

  /**
   * Begin watching every file (and polling the contacts folder). Call after the first load; calling it again,
   * or after close(), does nothing.
   */
  start(): void {
    if (this.closed) return;
    this.admin.start();
    this.managed?.start();
    for (const reloader of this.contacts.values()) reloader.start();
    if (this.options.contactsFolder !== undefined && !this.folderTimer) {
      this.folderTimer = setInterval(() => void this.scanFolder(), this.options.pollIntervalMs ?? 500);
      this.folderTimer.unref();
    }
  }

  /** Stop watching and polling, and end a reload under way. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.folderTimer) clearInterval(this.folderTimer);
    this.folderTimer = undefined;
    this.admin.close();
    this.managed?.close();
    for (const reloader of this.contacts.values()) reloader.close();
    this.compiler.close();
  }

  /** admin, managed, contacts by name: the order of the rules in force */
  private sets(): RuleSet[] {
    return [
      this.admin.current(),
      ...(this.managed ? [this.managed.current()] : []),
      ...[...this.contacts.values()].map((reloader) => reloader.current()),
    ];
  }

  private request(
    file: string,
    displayName: string,
    kind: RulesCompileRequest['kind'],
    known: readonly string[],
  ): RulesCompileRequest {
    return { file, displayName, kind, defaultRegion: this.options.defaultRegion, limits: this.limits, known };
  }

  private forward(reloader: FileReloader<RuleSet>): void {
    reloader.on('reloaded', () => void this.mergeAndEmit());
    reloader.on('rejected', (err) => this.emit('rejected', err));
  }

  private contactsDisplayName(file: string): string {
    const folder = this.options.contactsDisplayFolder;
    return folder === undefined ? file : path.join(folder, path.basename(file));
  }

  /**
   * A contacts source's reloader. 'load' (the first load): read and compiled here, a bad file throws like a
   * bad rules file. 'found' (a file that appeared while running): empty until its first look, made at once
   * and off the event loop like any reload; a bad one is rejected and stays empty.
   */
  private addContacts(file: string, how: 'load' | 'found'): void {
    const displayName = this.contactsDisplayName(file);
    const reloader = new RuleFileReloader(
      {
        file,
        displayName,
        logger: this.options.logger,
        pollIntervalMs: this.options.pollIntervalMs,
        name: 'RulesReloader',
        fileField: 'rulesFile',
        messages: CONTACTS_MESSAGES,
        compile: (text) => compileContactsRulesText(text, displayName, this.options.defaultRegion, this.limits),
        readAndCompile: (f, known) => this.compiler.readAndCompile(this.request(f, displayName, 'contacts', known)),
        describe,
        whenMissing: 'gone',
        // a hash no text has: the first look compiles whatever the file holds
        ...(how === 'found' ? { initial: { value: EMPTY_RULE_SET, textHash: '' } } : {}),
      },
      this.limits,
    );
    if (how === 'load') reloader.load();
    this.contacts.set(file, reloader);
    // kept in name order, the order of the rules in force
    const sorted = [...this.contacts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.contacts.clear();
    for (const [f, r] of sorted) this.contacts.set(f, r);
    this.forward(reloader);
    reloader.on('gone', () => this.dropContacts(file));
    if (how === 'found') {
      this.options.logger.info({ rulesFile: displayName }, 'contacts source found; loading it');
      reloader.start();
      reloader.checkSoon();
    }
  }

  /** A deleted contacts source: its entries leave the rules in force. */
  private dropContacts(file: string): void {
    const reloader = this.contacts.get(file);
    if (!reloader) return;
    reloader.close();
    this.contacts.delete(file);
    this.contactsMerged = undefined;
    this.options.logger.info(
      { rulesFile: this.contactsDisplayName(file), rules: reloader.current().rules.length },
      'contacts source removed; its entries are no longer in force',
    );
    void this.mergeAndEmit();
  }

  /** One look at the contacts folder's listing: sources that appeared are added, vanished ones dropped. */
  private async scanFolder(): Promise<void> {
    const folder = this.options.contactsFolder;
    if (folder === undefined || this.scanning || this.closed) return;
    this.scanning = true;
    try {
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
        names = []; // no folder: no sources
      }
      if (this.closed) return;
      const files = new Set(
        names.filter((name) => contactSourceName(name) !== undefined).map((name) => path.join(folder, name)),
      );
      for (const file of [...this.contacts.keys()]) if (!files.has(file)) this.dropContacts(file);
      for (const file of [...files].sort()) if (!this.contacts.has(file)) this.addContacts(file, 'found');
    } catch (e) {
      this.options.logger.error(
        { contactsFolder: folder, err: (e as Error).message },
        'reading the contacts folder failed',
      );
    } finally {
      this.scanning = false;
    }
  }

  /**
   * The new rules in force: every file's rules together, merged a slice at a time (100k rules merged at once
   * would hold the event loop); the rules in force until then stay. A newer reload's merge wins.
   */
  private async mergeAndEmit(): Promise<void> {
    const generation = ++this.generation;
    this.contactsMerged = undefined;
    const merged = await mergeManyRuleSetsInSlices(this.sets());
    if (generation !== this.generation) return;
    this.merged = merged;
    this.emit('reloaded', merged);
  }
}
