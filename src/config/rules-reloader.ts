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
 * How a change is noticed (directory watch, stat poll, settle time, content hash) is FileReloader's;
 * this is the rules files' compile step and log wording.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { CountryCode } from 'libphonenumber-js';
import { countRules, EMPTY_RULE_SET, type RuleSet } from '../domain/rule-set';
import type { ConfigError } from '../errors/config-error';
import type { Logger } from '../ports/logger';
import { FileReloader, type FileReloaderEvents, type FileReloaderOptions } from './file-reloader';
import {
  compileManagedRulesText,
  compileRulesText,
  DEFAULT_RULES_LIMITS,
  mergeRuleSets,
  readRulesText,
  type RulesFileLimits,
} from './rules-file';
import { RulesCompiler } from './rules-off-thread';
import { mergeRuleSetsInSlices, type RulesCompileRequest } from './rules-transfer';

export interface RulesReloaderOptions {
  file: string;
  /** the name used in problems and logs; default: file */
  displayName?: string;
  /** the managed allow list (rules.managedFile); absent: the rules file alone */
  managedFile?: string;
  /** its name in problems and logs; default: managedFile */
  managedDisplayName?: string;
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

export class RulesReloader extends EventEmitter<FileReloaderEvents<RuleSet>> {
  private readonly admin: RuleFileReloader;
  private managed: RuleFileReloader | undefined;
  private merged: RuleSet | undefined;
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

  /** The last rejected edit of either file (the rules file's first), cleared once it holds good rules again. */
  get lastError(): ConfigError | undefined {
    return this.admin.lastError ?? this.managed?.lastError;
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
    this.merged = undefined;
    return this.managed ? this.current() : rules;
  }

  /** The rules in force: the rules file's and the managed allow list's, the last good state of each. */
  current(): RuleSet {
    if (!this.managed) return this.admin.current();
    this.merged ??= mergeRuleSets(this.admin.current(), this.managed.current());
    return this.merged;
  }

  /** The managed allow list's rules alone (empty without one). */
  managedRules(): RuleSet {
    return this.managed ? this.managed.current() : EMPTY_RULE_SET;
  }

  /** Begin watching both files. Call after the first load; calling it again, or after close(), does nothing. */
  start(): void {
    this.admin.start();
    this.managed?.start();
  }

  /** Stop watching and polling, and end a reload under way. Idempotent. */
  close(): void {
    this.admin.close();
    this.managed?.close();
    this.compiler.close();
  }

  private request(
    file: string,
    displayName: string,
    kind: 'rules' | 'managed',
    known: readonly string[],
  ): RulesCompileRequest {
    return { file, displayName, kind, defaultRegion: this.options.defaultRegion, limits: this.limits, known };
  }

  private forward(reloader: FileReloader<RuleSet>): void {
    reloader.on('reloaded', () => void this.mergeAndEmit());
    reloader.on('rejected', (err) => this.emit('rejected', err));
  }

  /**
   * The new rules in force: both files' rules together, merged a slice at a time (100k rules merged at once
   * would hold the event loop); the rules in force until then stay. A newer reload's merge wins.
   */
  private async mergeAndEmit(): Promise<void> {
    const generation = ++this.generation;
    const merged = this.managed
      ? await mergeRuleSetsInSlices(this.admin.current(), this.managed.current())
      : this.admin.current();
    if (generation !== this.generation) return;
    this.merged = merged;
    this.emit('reloaded', merged);
  }
}
