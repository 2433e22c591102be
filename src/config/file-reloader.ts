/**
 * A value compiled from one file, recompiled when the file changes, without a restart. A bad edit never
 * replaces a good value: it is logged once (with every problem as "file:line:col reason"), kept as
 * `lastError`, and the last good value stays in force until the file is fixed. RulesReloader (rules.yaml)
 * and ConfigReloader (callscreen.yaml) are specialisations: a compile function, the fields of the
 * "reloaded" log line and the wording of the log messages.
 *
 * Noticing a change: editors save by rewriting in place, by writing a temporary file and renaming it
 * over (vim, sed -i), and Kubernetes / FreePBX-style deployments swap a symlink. So:
 *   - fs.watch on the file's directory (a watch on the file itself dies with its inode on a rename);
 *   - a cheap poll of stat (mtime, ctime, size, inode; stat follows symlinks) as a fallback, for
 *     symlink swaps one directory away, network file systems and platforms where fs.watch is unreliable;
 *   - a change is read only once its stat has stayed the same for SETTLE_MS, so a file that is
 *     being written is not judged half-written; and the content hash decides whether anything
 *     changed, so `touch` does not reload.
 * Timers are unref'd and the watcher is not persistent: the reloader never holds the process open.
 * Each finished look at the file (changed or not) emits 'checked', so a test can tell "nothing was reloaded"
 * from "nothing has looked yet".
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, formatProblem } from '../errors/config-error';
import type { Logger } from '../ports/logger';

/** The log messages of one kind of file, e.g. "rules reloaded". */
export interface FileReloaderMessages {
  /** info, with the file and describe(value): a good edit is in force */
  reloaded: string;
  /** warn, with the file and problems: a bad edit (or a deletion) is ignored */
  rejected: string;
  /** info: the file holds the content in force again after a rejected edit */
  backInForce: string;
  /** error: a check failed unexpectedly */
  checkFailed: string;
  /** warn: the directory watch broke; the poll goes on */
  watchFailed: string;
  /** warn: the directory cannot be watched; the poll goes on */
  cannotWatch: string;
}

export interface FileReloaderOptions<T> {
  file: string;
  /** the name used in problems and logs; default: file */
  displayName?: string;
  logger: Logger;
  /** how often the file's stat is polled; default 500 ms */
  pollIntervalMs?: number;
  /** the class name in usage errors, e.g. "RulesReloader" */
  name: string;
  /** the log field that names the file, e.g. "rulesFile" */
  fileField: string;
  messages: FileReloaderMessages;
  /**
   * The file's text -> the value. Throws ConfigError with every problem located in displayName on a
   * bad edit (any other error is reported as one problem of the whole file). `running` is the value
   * in force (undefined on the first load).
   */
  compile(text: string, running: T | undefined): T;
  /** extra fields of the "reloaded" log line, e.g. counts */
  describe(value: T): Record<string, unknown>;
  /**
   * The value in force from the start, loaded by someone else (no first load() then). With the hash
   * of the text it came from (contentHash), the reloader reads the file once to tell whether it changed
   * since; without, the file as it is now is taken to be that text, and only later changes reload.
   */
  initial?: { value: T; textHash?: string | undefined };
  /**
   * Read and compile a changed file away from the event loop (the rules files: a worker thread), instead of
   * reading it here and calling compile(). `known` are the hashes that need no compile (the text in force, the
   * edit already rejected). The first load() still reads and compiles here (the caller is not serving yet).
   */
  readAndCompile?(file: string, known: readonly string[], running: T | undefined): Promise<ReadAndCompiled<T>>;
  /**
   * What a deleted file means: 'reject' (default), a bad edit like any other (the last good value stays);
   * 'gone', the file was taken away on purpose (a contacts source removed): 'gone' is emitted, nothing logged,
   * and the owner decides what its value becomes.
   */
  whenMissing?: 'reject' | 'gone';
}

/** What readAndCompile found: the text's hash and its value or problems, or why the file could not be read. */
export type ReadAndCompiled<T> =
  | { hash: string; value?: T }
  | { hash: string; error: ConfigError }
  /**
   * unreadable or over a size limit: rejected; `key` reports the same failure once. `judged`: the file as it
   * is has been judged (over a limit), not read again until it changes; else it is read again on the next poll.
   */
  | { unreadable: ConfigError; key: string; judged?: boolean }
  /** gone while it was read: as if not seen */
  | { missing: true };

export interface FileReloaderEvents<T> {
  reloaded: [value: T];
  rejected: [err: ConfigError];
}

/** FileReloader's own events, besides the ones a wrapper of it forwards. */
export interface FileCheckEvents {
  /**
   * One look at the file has finished: its state was judged (unchanged, reloaded, rejected or missing), after
   * any 'reloaded' or 'rejected' of that look. Not emitted while a change settles. The first 'checked' after an
   * edit may come from a look begun before it; the second has certainly seen it.
   */
  checked: [file: string];
  /** The file was deleted (only with whenMissing: 'gone'). */
  gone: [file: string];
}

const DEFAULT_POLL_INTERVAL_MS = 500;
/** A changed file is read once its stat has not changed for this long (and on the next change or poll after). */
const SETTLE_MS = 100;
const MISSING = 'missing';

export class FileReloader<T> extends EventEmitter<FileReloaderEvents<T> & FileCheckEvents> {
  protected readonly file: string;
  protected readonly displayName: string;
  protected readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private readonly name: string;
  private readonly fileField: string;
  private readonly messages: FileReloaderMessages;
  private readonly compileText: (text: string, running: T | undefined) => T;
  private readonly describe: (value: T) => Record<string, unknown>;
  private readonly readAndCompile: FileReloaderOptions<T>['readAndCompile'];
  private readonly whenMissing: 'reject' | 'gone';

  private value: T | undefined;
  private loaded = false;
  private error: ConfigError | undefined;
  /** hash of the text the value in force came from */
  private goodHash: string | undefined;
  /** hash of the last rejected text (or MISSING): a bad edit is reported once, not on every poll */
  private rejectedKey: string | undefined;
  /** stat signature of the file as last judged */
  private judgedSignature: string | undefined;
  /** a new stat signature seen once, waiting to settle */
  private pendingSignature: string | undefined;

  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private checkAgain = false;
  private closed = false;

  constructor(options: FileReloaderOptions<T>) {
    super();
    this.file = options.file;
    this.displayName = options.displayName ?? options.file;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.name = options.name;
    this.fileField = options.fileField;
    this.messages = options.messages;
    this.compileText = options.compile;
    this.describe = options.describe;
    this.readAndCompile = options.readAndCompile?.bind(options);
    this.whenMissing = options.whenMissing ?? 'reject';
    if (options.initial) {
      this.value = options.initial.value;
      this.loaded = true;
      this.goodHash = options.initial.textHash;
      // with a hash, the first check reads the file and compares; without, the file as it is now counts as judged
      this.judgedSignature = options.initial.textHash === undefined ? signatureOfSync(this.file) : undefined;
    }
  }

  /** The last rejected edit (or deletion), cleared once the file holds a good value again. */
  get lastError(): ConfigError | undefined {
    return this.error;
  }

  /** The value in force: the last good load. */
  current(): T {
    if (!this.loaded) throw new Error(`${this.name}.current() called before a successful load()`);
    return this.value as T;
  }

  /** Begin watching. Call after the first load; calling it again, or after close(), does nothing. */
  start(): void {
    if (this.closed || this.pollTimer) return;
    if (!this.loaded) throw new Error(`${this.name}.start() called before a successful load()`);
    this.watchDirectory();
    this.pollTimer = setInterval(() => this.runCheck(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Look at the file now instead of at the next poll (once it has settled), e.g. a file just found. */
  checkSoon(): void {
    if (this.pollTimer) this.scheduleCheck();
  }

  /** Stop watching and polling. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.watcher?.close();
    this.pollTimer = this.settleTimer = this.watcher = undefined;
  }

  /** First load, synchronously. Throws ConfigError with every problem. */
  protected loadFile(): T {
    // stat before reading: if the file changes in between, the next poll sees a newer signature and reads again
    const signature = signatureOfSync(this.file);
    const text = this.readSync();
    const value = this.compileText(text, this.loaded ? this.value : undefined);
    this.value = value;
    this.loaded = true;
    this.goodHash = contentHash(text);
    this.judgedSignature = signature;
    this.error = undefined;
    this.rejectedKey = undefined;
    return value;
  }

  private fields(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { [this.fileField]: this.displayName, ...extra };
  }

  private watchDirectory(): void {
    const base = path.basename(this.file);
    try {
      // persistent: false - the watcher alone does not keep the process alive
      this.watcher = watch(path.dirname(this.file), { persistent: false }, (_event, name) => {
        // "..data" is the symlink Kubernetes swaps for a ConfigMap update; null: the platform did not say
        if (name === null || name === base || name.startsWith('..')) this.scheduleCheck();
      });
      this.watcher.on('error', (err) => {
        this.logger.warn(this.fields({ err: err.message }), this.messages.watchFailed);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.logger.warn(this.fields({ err: (e as Error).message }), this.messages.cannotWatch);
    }
  }

  private scheduleCheck(): void {
    if (this.closed) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.runCheck(), SETTLE_MS);
    this.settleTimer.unref();
  }

  private runCheck(): void {
    this.check().catch((e: unknown) =>
      this.logger.error(this.fields({ err: (e as Error).message }), this.messages.checkFailed),
    );
  }

  /** One check at a time; a check asked for while one runs runs after it. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.checkAgain = false;
        if ((await this.checkOnce()) === 'judged' && !this.closed) this.emit('checked', this.file);
      } while (this.checkAgain && !this.closed);
    } finally {
      this.checking = false;
    }
  }

  /** 'judged': the file as it is was judged; 'later': a change is settling, a later check judges it. */
  private async checkOnce(): Promise<'judged' | 'later'> {
    const signature = await signatureOf(this.file);
    if (this.closed || signature === this.judgedSignature) return 'judged';
    if (signature !== this.pendingSignature) {
      // first sight of this state: give a writer SETTLE_MS to finish before judging it
      this.pendingSignature = signature;
      this.scheduleCheck();
      return 'later';
    }
    if (signature === MISSING) {
      this.judgedSignature = signature;
      if (this.whenMissing === 'gone') {
        this.emit('gone', this.file);
        return 'judged';
      }
      this.reject(
        new ConfigError([
          { file: this.displayName, line: 0, column: 0, reason: 'file not found (deleted or renamed away)' },
        ]),
        MISSING,
      );
      return 'judged';
    }
    if (this.readAndCompile) return this.checkElsewhere(signature, this.readAndCompile);
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      this.pendingSignature = undefined; // look again on the next poll
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'later'; // gone while we read: as if not seen
      this.reject(unreadable(e, this.displayName), `unreadable:${(e as NodeJS.ErrnoException).code ?? ''}`);
      return 'judged';
    }
    if (this.closed) return 'judged';
    if ((await signatureOf(this.file)) !== signature) {
      this.scheduleCheck(); // written to while we read: judge it once it settles
      return 'later';
    }
    this.judgedSignature = signature;
    this.judge(text);
    return 'judged';
  }

  /** checkOnce with readAndCompile: the same steps, the reading and compiling done by the hook */
  private async checkElsewhere(
    signature: string,
    readAndCompile: NonNullable<FileReloaderOptions<T>['readAndCompile']>,
  ): Promise<'judged' | 'later'> {
    const known = [this.goodHash, this.rejectedKey].filter((h): h is string => h !== undefined);
    const result = await readAndCompile(this.file, known, this.value);
    if (this.closed) return 'judged';
    if ('missing' in result) {
      this.pendingSignature = undefined; // look again on the next poll
      return 'later';
    }
    if ('unreadable' in result) {
      if (result.judged) this.judgedSignature = signature;
      else this.pendingSignature = undefined;
      this.reject(result.unreadable, result.key);
      return 'judged';
    }
    if ((await signatureOf(this.file)) !== signature) {
      this.scheduleCheck(); // written to while we read: judge it once it settles
      return 'later';
    }
    this.judgedSignature = signature;
    this.judgeHashed(result.hash, () => {
      if ('error' in result) throw result.error;
      if (result.value === undefined) throw new Error(`${this.name}: no value for a text not seen before`);
      return result.value;
    });
    return 'judged';
  }

  private judge(text: string): void {
    this.judgeHashed(contentHash(text), () => this.compileText(text, this.value));
  }

  private judgeHashed(hash: string, compile: () => T): void {
    if (hash === this.goodHash) {
      if (this.error) this.logger.info(this.fields(), this.messages.backInForce);
      this.error = undefined;
      this.rejectedKey = undefined;
      return;
    }
    if (hash === this.rejectedKey) return;
    let value: T;
    try {
      value = compile();
    } catch (e) {
      this.reject(
        e instanceof ConfigError
          ? e
          : new ConfigError([{ file: this.displayName, line: 0, column: 0, reason: (e as Error).message }], {
              cause: e,
            }),
        hash,
      );
      return;
    }
    this.accept(value, hash);
  }

  private accept(value: T, hash: string): void {
    this.value = value;
    this.goodHash = hash;
    this.error = undefined;
    this.rejectedKey = undefined;
    this.logger.info(this.fields(this.describe(value)), this.messages.reloaded);
    this.emit('reloaded', value);
  }

  private reject(err: ConfigError, key: string): void {
    this.error = err;
    if (key === this.rejectedKey) return;
    this.rejectedKey = key;
    this.logger.warn(this.fields({ problems: err.problems.map(formatProblem) }), this.messages.rejected);
    this.emit('rejected', err);
  }

  /** The first load's read; a subclass may bound it (the rules files' size limit). */
  protected readSync(): string {
    try {
      return readFileSync(this.file, 'utf8');
    } catch (e) {
      throw unreadable(e, this.displayName);
    }
  }
}

/** The hash a reloader compares file contents by (give it as `initial.textHash`). */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A file that cannot be read, as a ConfigError naming it. */
export function unreadable(e: unknown, displayName: string): ConfigError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? 'file not found' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new ConfigError([{ file: displayName, line: 0, column: 0, reason }], { cause: e });
}

function signatureFrom(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

async function signatureOf(file: string): Promise<string> {
  try {
    return signatureFrom(await stat(file));
  } catch {
    return MISSING;
  }
}

function signatureOfSync(file: string): string {
  try {
    return signatureFrom(statSync(file));
  } catch {
    return MISSING;
  }
}
