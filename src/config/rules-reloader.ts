/**
 * The rules in force, reloaded when the file changes, without a restart. A bad edit never replaces
 * good rules: it is logged once (with every problem as "file:line:col reason"), kept as `lastError`
 * for the review page, and the last good rules stay in force until the file is fixed.
 *
 * How a change is noticed (directory watch, stat poll, settle time, content hash) is FileReloader's;
 * this is the rules file's compile step and log wording.
 */
import type { CountryCode } from 'libphonenumber-js';
import { countRules, type RuleSet } from '../domain/rule-set';
import type { Logger } from '../logger';
import { FileReloader } from './file-reloader';
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

export class RulesReloader extends FileReloader<RuleSet> {
  constructor(options: RulesReloaderOptions) {
    const displayName = options.displayName ?? options.file;
    super({
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
      compile: (text) => compileRulesText(text, displayName, options.defaultRegion),
      describe: (set) => {
        const counts = countRules(set.rules);
        const total = (list: keyof typeof counts): number => Object.values(counts[list]).reduce((a, b) => a + b, 0);
        return { rules: set.rules.length, allow: total('allow'), deny: total('deny') };
      },
    });
  }

  /** First load. Throws ConfigError with every problem: the daemon refuses to start on bad rules. */
  load(): RuleSet {
    return this.loadFile();
  }
}
