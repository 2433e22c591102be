/**
 * What the daemon does over AMI when `ami.enabled`: one AsteriskManagerAmi connection (kept up in the
 * background: a failed first login is retried forever, later drops are the adapter's own reconnects),
 * the Asterisk health watcher, and, with `ami.blacklistSync.enabled`, the AstDB blacklist sync (run
 * again after every rules reload). Nothing here is on a call's path: AMI down never stops or slows
 * screening. With knownCustomers.outboundCalls.enabled, the outbound-call watcher remembers the numbers
 * the PBX calls (known customers); the agent-answer watcher remembers which agent answered which screened
 * caller (the spam key). close() is idempotent and closes in reverse order: the watchers, the sync, the
 * health watcher, then AMI.
 */
import { AsteriskManagerAmi } from '../adapters/ami/asterisk-manager-ami';
import type { CallscreenConfig } from '../config/schema';
import type { RulesReloader } from '../config/rules-reloader';
import { AmiActionError } from '../errors/ami-action-error';
import type { Logger } from '../ports/logger';
import type { AmiPort } from '../ports/ami';
import type { AriPort } from '../ports/ari';
import { AsteriskHealthWatcher } from './asterisk-health-watcher';
import { AstDbBlacklistSync } from '../blacklist/astdb-blacklist-sync';
import type { RedisClient } from '../adapters/redis/redis-connection';
import { RedisReputationCandidates } from '../adapters/redis/redis-reputation-candidates';
import type { CallerHistoryStore } from '../ports/caller-history-store';
import { OutboundCallWatcher, type OutboundCallSettings } from '../reputation/known-customers/outbound-call-watcher';
import { CloseAwareDelay } from './close-aware-delay';
import { AgentAnswerWatcher, type AgentAnswerWatcherOptions } from '../calls/spam-key/agent-answer-watcher';

export interface AmiServicesOptions {
  config: CallscreenConfig;
  ari: Pick<AriPort, 'listApplications'>;
  redis: RedisClient;
  rules: RulesReloader;
  /** screening.signals.reputation.halfLifeDays in force (reloadable) */
  halfLifeDays: () => number;
  /**
   * Known customers (knownCustomers.outboundCalls.enabled): where the numbers the PBX calls are
   * remembered, and the settings in force (reloadable); absent: not watched
   */
  outboundCalls?: {
    history: Pick<CallerHistoryStore, 'recordCalledByUs'>;
    settings: () => OutboundCallSettings;
  };
  /** The spam key: which agent answered which screened call (AgentAnswerWatcher); absent: not watched */
  answeredCalls?: Omit<AgentAnswerWatcherOptions, 'ami' | 'logger'>;
  logger: Logger;
  /** for tests: another AmiPort than an AsteriskManagerAmi built from config.ami */
  ami?: AmiPort;
}

const RETRY_MAX_MS = 30_000;

export class AmiServices {
  readonly ami: AmiPort;
  readonly health: AsteriskHealthWatcher;
  readonly sync: AstDbBlacklistSync | undefined;
  readonly outbound: OutboundCallWatcher | undefined;
  readonly answers: AgentAnswerWatcher | undefined;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private readonly delay = new CloseAwareDelay();
  private readonly onRulesReloaded = (): void => this.sync?.request('rules reloaded');

  private constructor(private readonly options: AmiServicesOptions) {
    const { config, logger } = options;
    this.ami =
      options.ami ??
      new AsteriskManagerAmi({
        host: config.ami.host,
        port: config.ami.port,
        username: config.ami.username,
        password: config.ami.password,
        actionTimeoutMs: config.ami.actionTimeoutMs,
      });
    this.ami.on('error', (error) => logger.debug({ err: error.message }, 'AMI socket error'));
    this.ami.on('state', (change) => {
      const fields = {
        ami: `${config.ami.host}:${config.ami.port}`,
        state: change.state,
        previous: change.previous,
        reason: change.reason,
      };
      if (change.state === 'connected') logger.info(fields, 'AMI connected');
      else if (change.state === 'reconnecting')
        logger.warn(fields, 'AMI connection lost; reconnecting (screening is not affected)');
    });
    this.health = new AsteriskHealthWatcher({ ami: this.ami, ari: options.ari, app: config.ari.app, logger });
    const bl = config.ami.blacklistSync;
    this.sync = bl.enabled
      ? new AstDbBlacklistSync({
          ami: this.ami,
          reputation: new RedisReputationCandidates(options.redis, config.redis.keyPrefix),
          rules: () => options.rules.current().rules,
          family: bl.family,
          maxEntries: bl.maxEntries,
          minReputationScore: bl.minReputationScore,
          intervalMs: bl.intervalSeconds * 1000,
          defaultRegion: config.numbers.defaultRegion,
          halfLifeDays: options.halfLifeDays,
          logger,
        })
      : undefined;
    const outbound = options.outboundCalls;
    this.outbound =
      outbound && config.knownCustomers.outboundCalls.enabled
        ? new OutboundCallWatcher({ ami: this.ami, store: outbound.history, settings: outbound.settings, logger })
        : undefined;
    this.answers = options.answeredCalls
      ? new AgentAnswerWatcher({ ...options.answeredCalls, ami: this.ami, logger })
      : undefined;
  }

  /** Builds and starts everything; returns at once (AMI connects in the background). */
  static start(options: AmiServicesOptions): AmiServices {
    const services = new AmiServices(options);
    services.health.start();
    if (services.sync) {
      services.sync.start();
      options.rules.on('reloaded', services.onRulesReloaded);
    }
    const { config, logger } = options;
    logger.info(
      {
        ami: `${config.ami.host}:${config.ami.port}`,
        blacklistSync: config.ami.blacklistSync.enabled ? config.ami.blacklistSync.family : false,
        knownCustomersFromOutboundCalls: services.outbound !== undefined,
      },
      'connecting to AMI',
    );
    services.connecting = services.keepConnecting();
    return services;
  }

  /** start() until it succeeds or close(): the adapter reconnects by itself only once it has logged in. */
  private async keepConnecting(): Promise<void> {
    const { logger, config } = this.options;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.ami.start();
        return;
      } catch (error) {
        if (this.closed) return;
        const delayMs = Math.min(1000 * 2 ** Math.min(attempt - 1, 5), RETRY_MAX_MS);
        const fields = {
          ami: `${config.ami.host}:${config.ami.port}`,
          err: (error as Error).message,
          attempt,
          delayMs,
        };
        if (error instanceof AmiActionError)
          logger.error(fields, 'AMI login refused; check ami.username and ami.password (retrying)');
        else logger.warn(fields, 'AMI not reachable; retrying (screening is not affected)');
        await this.delay.wait(delayMs);
      }
    }
  }

  /** Idempotent: the outbound-call watcher, the sync, the health watcher, then AMI. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      this.delay.close();
      this.options.rules.off('reloaded', this.onRulesReloaded);
      const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (error) {
          this.options.logger.warn({ err: (error as Error).message }, `${what} close failed`);
        }
      };
      await step('outbound-call watcher', async () => this.outbound?.close());
      await step('agent-answer watcher', async () => this.answers?.close());
      await step('blacklist sync', async () => this.sync?.close());
      await step('Asterisk health watcher', () => this.health.close());
      await step('AMI', () => this.ami.close());
      await this.connecting;
    })();
    return this.closePromise;
  }
}
