/**
 * The reputation sources the daemon expects in Redis, kept in a small state file beside callscreen.yaml
 * (reputation-expected.json, like rules.managed.yaml), because what it must survive is Redis losing its
 * data: a Redis restarted without persistence, or the whole host rebooted with the daemon. The daemon
 * writes it when the expectation changes (a source imported or removed, one vanished or back; never on
 * every read) and reads it at start; `callscreen reputation sources` reads it to say a list vanished.
 * See src/domain/vanished-sources.ts for what counts as vanished.
 *
 * A file that cannot be read or written costs the alarm across restarts only: the daemon keeps the same
 * expectation in memory, says once (warn) that the file failed, and screening goes on.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load-config';
import {
  expectedSourcesText,
  NO_EXPECTED_SOURCES,
  parseExpectedSources,
  type ExpectedSources,
} from '../domain/vanished-sources';
import type { Logger } from '../ports/logger';

export const EXPECTED_SOURCES_FILE = 'reputation-expected.json';

/** reputation-expected.json in the config file's folder */
export function expectedSourcesPath(loaded: Pick<LoadedConfig, 'file'>): string {
  return path.join(path.dirname(loaded.file), EXPECTED_SOURCES_FILE);
}

/** The stored expectation: none when there is no file yet; `problem` when the file is there but unusable. */
export function readExpectedSources(file: string): { expected: ExpectedSources; problem?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { expected: NO_EXPECTED_SOURCES };
    return { expected: NO_EXPECTED_SOURCES, problem: (e as Error).message };
  }
  const expected = parseExpectedSources(text);
  return expected ? { expected } : { expected: NO_EXPECTED_SOURCES, problem: `${file}: not an expectation file` };
}

/** Writes the expectation when it changed, one write at a time, atomically (temporary file renamed over it). */
export class ExpectedSourcesFile {
  private written: string;
  private writtenSources: boolean;
  private queue: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
    initial: ExpectedSources = NO_EXPECTED_SOURCES,
  ) {
    this.written = expectedSourcesText(initial);
    this.writtenSources = initial.sources.length > 0;
  }

  /** resolves when this write (or an earlier one) is done; never rejects */
  write(expected: ExpectedSources): Promise<void> {
    const text = expectedSourcesText(expected);
    // nothing expected and nothing was: no file needed (a daemon that never had a list leaves no file behind)
    if (text === this.written || (expected.sources.length === 0 && !this.writtenSources)) return this.queue;
    this.written = text;
    this.writtenSources = expected.sources.length > 0;
    this.queue = this.queue.then(() => this.store(text));
    return this.queue;
  }

  private async store(text: string): Promise<void> {
    const temp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${randomBytes(4).toString('hex')}`);
    try {
      await fs.writeFile(temp, text, 'utf8');
      await fs.rename(temp, this.file);
      if (this.failed) this.logger.info({ file: this.file }, 'reputation: expected sources written again');
      this.failed = false;
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      if (!this.failed)
        this.logger.warn(
          { file: this.file, err: (e as Error).message },
          'reputation: cannot write the expected sources; a vanished list is still noticed while the daemon runs, not across a restart',
        );
      this.failed = true;
    }
  }
}
