/**
 * The configuration in force, reloaded when callscreen.yaml changes, without a restart, the way the
 * rules are (FileReloader: directory watch, stat poll, settle time, content hash).
 *
 * Only `screening`, `didGroups`, `policies`, `captcha` and `tags` take effect on a running daemon: they are read per call.
 * An edit is validated whole, with the environment's overrides, exactly as at start; a change to any
 * other section (ari, redis, numbers, rules, routing, ...) is not applied - the running values stay,
 * the policies are compiled with them (numbers.defaultRegion) - and a warning names the sections that
 * need a restart. A bad edit is logged once with every problem as "file:line:col reason", kept as
 * `lastError`, and the last good settings stay in force.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../ports/logger';
import { FileReloader } from './file-reloader';
import { loadConfigText, type ConfigSection, type LoadedConfig } from './load-config';
import { configSections } from './schema';

/** The sections a running daemon applies when the file changes. */
export const RELOADABLE_SECTIONS: readonly ConfigSection[] = ['screening', 'didGroups', 'policies', 'captcha', 'tags'];

/** Every other section: connections, routing, logging, the rules file's place - read once at start. */
export const RESTART_SECTIONS: readonly ConfigSection[] = (Object.keys(configSections.shape) as ConfigSection[]).filter(
  (s) => !RELOADABLE_SECTIONS.includes(s),
);

export interface ConfigReloaderOptions {
  /** the configuration the daemon started with (its file is watched; it is not read again to start) */
  loaded: LoadedConfig;
  /** the environment whose overrides apply to every reload, as at start; default process.env */
  env?: NodeJS.ProcessEnv;
  /** the name used in problems and logs; default: the file's absolute path */
  displayName?: string;
  logger: Logger;
  /** how often the file's stat is polled; default 500 ms */
  pollIntervalMs?: number;
}

export class ConfigReloader extends FileReloader<LoadedConfig> {
  constructor(options: ConfigReloaderOptions) {
    const { loaded, logger } = options;
    const displayName = options.displayName ?? loaded.file;
    const env = options.env ?? process.env;
    const restartNotice = new RestartNotice(logger, displayName);
    super({
      file: loaded.file,
      displayName,
      logger,
      pollIntervalMs: options.pollIntervalMs,
      name: 'ConfigReloader',
      fileField: 'config',
      messages: {
        reloaded: 'screening settings reloaded',
        rejected: 'configuration edit rejected; keeping the last good settings',
        backInForce: 'configuration file is back to the settings in force',
        checkFailed: 'configuration reload check failed',
        watchFailed: 'watching the configuration folder failed; polling only',
        cannotWatch: 'cannot watch the configuration folder; polling only',
      },
      compile: (text, running) => {
        const base = running ?? loaded;
        const edited = loadConfigText(text, displayName, env, { path: loaded.file });
        const changed = RESTART_SECTIONS.filter((s) => !isDeepStrictEqual(edited.config[s], base.config[s]));
        const next =
          changed.length === 0
            ? edited
            : loadConfigText(text, displayName, env, {
                path: loaded.file,
                keep: { config: base.config, sections: changed },
              });
        restartNotice.note(changed, edited);
        return next;
      },
      describe: (config) => ({ policies: config.screening.policies.length }),
      initial: { value: loaded, textHash: loaded.textHash },
    });
  }
}

/**
 * The "needs a restart" warning: once for each distinct set of changes waiting for a restart, not
 * again on every later edit of the policies while they still wait.
 */
class RestartNotice {
  private warned: string | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly displayName: string,
  ) {}

  note(sections: readonly ConfigSection[], edited: LoadedConfig): void {
    if (sections.length === 0) {
      this.warned = undefined;
      return;
    }
    // a fingerprint, not the values: they may hold passwords
    const key = createHash('sha256')
      .update(JSON.stringify(sections.map((s) => [s, edited.config[s]])))
      .digest('hex');
    if (key === this.warned) return;
    this.warned = key;
    this.logger.warn(
      { config: this.displayName, sections: [...sections] },
      'configuration changed that needs a restart; keeping the running values',
    );
  }
}
