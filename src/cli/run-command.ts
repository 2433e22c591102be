/**
 * `callscreen run [--config FILE]`: the screening daemon in the foreground. SIGTERM or SIGINT closes it
 * (calls in flight finish routing); a second signal exits at once. A start that fails (the configuration,
 * the rules, anything else) has closed what it started; the error goes to main, which says it in one
 * message and exits non-zero (2 for a configuration error, 1 otherwise).
 */
import type { Command } from 'commander';
import { createLogger } from '../adapters/logging/pino-logger';
import { loadConfig } from '../config/load-config';
import { CallscreenDaemon } from '../daemon/callscreen-daemon';
import { ConfigError } from '../errors/config-error';

export function registerRunCommand(program: Command, defaultConfig: string): void {
  program
    .command('run')
    .description('run the screening daemon (connects to ARI and Redis)')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (opts: { config: string }) => runDaemon(opts.config));
}

async function runDaemon(configFile: string): Promise<void> {
  const loaded = loadConfig(configFile);
  const logger = createLogger(loaded.config.log.level);
  logger.info({ config: loaded.file }, 'starting');
  const running: { daemon?: CallscreenDaemon } = {};
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    if (!running.daemon) process.exit(0);
    running.daemon.close().then(
      () => logger.flush(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    running.daemon = await CallscreenDaemon.start(loaded, logger);
  } catch (e) {
    // the log says it too (a service manager may keep only stdout); main prints the message and exits
    const problems = e instanceof ConfigError ? e.problems : undefined;
    logger.error({ err: (e as Error).message, ...(problems ? { problems } : {}) }, 'start failed');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    throw e;
  }
  logger.info('screening calls');
}
