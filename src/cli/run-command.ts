/**
 * `callscreen run [--config FILE]`: the screening daemon in the foreground. SIGTERM or SIGINT closes it
 * (calls in flight finish routing); a second signal exits at once.
 */
import type { Command } from 'commander';
import { createLogger } from '../adapters/logging/pino-logger';
import { loadConfig } from '../config/load-config';
import { CallscreenDaemon } from '../daemon/callscreen-daemon';

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
  running.daemon = await CallscreenDaemon.start(loaded, logger);
  logger.info('screening calls');
}
