/**
 * The rules in force, reloaded when the file changes, without a restart. A bad edit never replaces
 * good rules: it is logged once (with every problem as "file:line:col reason"), kept as `lastError`
 * for the review page, and the last good rules stay in force until the file is fixed.
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
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CountryCode } from 'libphonenumber-js';
import { countRules, type RuleSet } from '../domain/rule-set';
import { ConfigError, formatProblem } from '../errors/config-error';
import type { Logger } from '../logger';
import { compileRulesText } from './rules-file';

export interface RulesReloaderOptions {
  file: string;
  /** the name used in problems and logs; default: file */
  displayName?: string;
  defaultRegion: CountryCode;
  logger: Logger;
  /** how often the file's stat is polled; default 500 ms */
  pollIntervalMs?: number;
}

interface RulesReloaderEvents {
  reloaded: [set: RuleSet];
  rejected: [err: ConfigError];
}

const DEFAULT_POLL_INTERVAL_MS = 500;
/** A changed file is read once its stat has not changed for this long (and on the next change or poll after). */
const SETTLE_MS = 100;
const MISSING = 'missing';

export class RulesReloader extends EventEmitter<RulesReloaderEvents> {
  private readonly file: string;
  private readonly displayName: string;
  private readonly defaultRegion: CountryCode;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;

  private set: RuleSet | undefined;
  private error: ConfigError | undefined;
  /** hash of the text the rules in force came from */
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

  constructor(options: RulesReloaderOptions) {
    super();
    this.file = options.file;
    this.displayName = options.displayName ?? options.file;
    this.defaultRegion = options.defaultRegion;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  }

  /** The last rejected edit (or deletion), cleared once the file holds good rules again. */
  get lastError(): ConfigError | undefined {
    return this.error;
  }

  /** First load. Throws ConfigError with every problem: the daemon refuses to start on bad rules. */
  load(): RuleSet {
    // stat before reading: if the file changes in between, the next poll sees a newer signature and reads again
    const signature = signatureOfSync(this.file);
    const text = this.readSync();
    const set = compileRulesText(text, this.displayName, this.defaultRegion);
    this.set = set;
    this.goodHash = hashOf(text);
    this.judgedSignature = signature;
    this.error = undefined;
    this.rejectedKey = undefined;
    return set;
  }

  /** The rules in force: the last good load. */
  current(): RuleSet {
    if (!this.set) throw new Error('RulesReloader.current() called before a successful load()');
    return this.set;
  }

  /** Begin watching. Call after load(); calling it again, or after close(), does nothing. */
  start(): void {
    if (this.closed || this.pollTimer) return;
    if (!this.set) throw new Error('RulesReloader.start() called before a successful load()');
    this.watchDirectory();
    this.pollTimer = setInterval(() => this.runCheck(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Stop watching and polling. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.watcher?.close();
    this.pollTimer = this.settleTimer = this.watcher = undefined;
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
        this.logger.warn({ rulesFile: this.displayName, err: err.message }, 'watching the rules folder failed; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.logger.warn({ rulesFile: this.displayName, err: (e as Error).message }, 'cannot watch the rules folder; polling only');
    }
  }

  private scheduleCheck(): void {
    if (this.closed) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.runCheck(), SETTLE_MS);
    this.settleTimer.unref();
  }

  private runCheck(): void {
    this.check().catch((e: unknown) => this.logger.error({ rulesFile: this.displayName, err: (e as Error).message }, 'rules reload check failed'));
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
        await this.checkOnce();
      } while (this.checkAgain && !this.closed);
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    const signature = await signatureOf(this.file);
    if (this.closed || signature === this.judgedSignature) return;
    if (signature !== this.pendingSignature) {
      // first sight of this state: give a writer SETTLE_MS to finish before judging it
      this.pendingSignature = signature;
      this.scheduleCheck();
      return;
    }
    if (signature === MISSING) {
      this.judgedSignature = signature;
      this.reject(new ConfigError([{ file: this.displayName, line: 0, column: 0, reason: 'file not found (deleted or renamed away)' }]), MISSING);
      return;
    }
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      this.pendingSignature = undefined; // look again on the next poll
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.reject(unreadable(e, this.displayName), `unreadable:${(e as NodeJS.ErrnoException).code ?? ''}`);
      return;
    }
    if (this.closed) return;
    if ((await signatureOf(this.file)) !== signature) {
      this.scheduleCheck(); // written to while we read: judge it once it settles
      return;
    }
    this.judgedSignature = signature;
    this.judge(text);
  }

  private judge(text: string): void {
    const hash = hashOf(text);
    if (hash === this.goodHash) {
      if (this.error) this.logger.info({ rulesFile: this.displayName }, 'rules file is back to the rules in force');
      this.error = undefined;
      this.rejectedKey = undefined;
      return;
    }
    if (hash === this.rejectedKey) return;
    let set: RuleSet;
    try {
      set = compileRulesText(text, this.displayName, this.defaultRegion);
    } catch (e) {
      this.reject(e instanceof ConfigError ? e : new ConfigError([{ file: this.displayName, line: 0, column: 0, reason: (e as Error).message }], { cause: e }), hash);
      return;
    }
    this.accept(set, hash);
  }

  private accept(set: RuleSet, hash: string): void {
    this.set = set;
    this.goodHash = hash;
    this.error = undefined;
    this.rejectedKey = undefined;
    const counts = countRules(set.rules);
    const total = (list: keyof typeof counts): number => Object.values(counts[list]).reduce((a, b) => a + b, 0);
    this.logger.info({ rulesFile: this.displayName, rules: set.rules.length, allow: total('allow'), deny: total('deny') }, 'rules reloaded');
    this.emit('reloaded', set);
  }

  private reject(err: ConfigError, key: string): void {
    this.error = err;
    if (key === this.rejectedKey) return;
    this.rejectedKey = key;
    this.logger.warn({ rulesFile: this.displayName, problems: err.problems.map(formatProblem) }, 'rules edit rejected; keeping the last good rules');
    this.emit('rejected', err);
  }

  private readSync(): string {
    try {
      return readFileSync(this.file, 'utf8');
    } catch (e) {
      throw unreadable(e, this.displayName);
    }
  }
}

function unreadable(e: unknown, displayName: string): ConfigError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? 'file not found' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new ConfigError([{ file: displayName, line: 0, column: 0, reason }], { cause: e });
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
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
