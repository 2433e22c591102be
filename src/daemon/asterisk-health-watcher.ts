/**
 * Asterisk health over AMI: when Asterisk says it (re)started or reloaded (FullyBooted, Reload) and when
 * the AMI connection comes back, check over ARI that callscreen's Stasis app is registered, and log it:
 *   info 'asterisk reloaded; stasis app registered'
 *   warn 'stasis app not registered after asterisk reload'  (calls then take the dialplan fallback)
 * The ARI adapter re-registers the app by itself when its websocket reconnects; this is a check and a
 * log line, nothing more. After a restart ARI may come back a moment after AMI, so the check waits
 * `graceMs` and then looks again every `retryMs` until `timeoutMs` before it warns. Triggers that arrive
 * while a check is waiting or running are merged into it.
 */
import type { Logger } from '../ports/logger';
import type { AmiConnectionState, AmiMessage, AmiPort } from '../ports/ami';
import type { AriPort } from '../ports/ari';
import { CloseAwareDelay } from './close-aware-delay';

export interface AsteriskHealthWatcherOptions {
  ami: AmiPort;
  ari: Pick<AriPort, 'listApplications'>;
  /** the Stasis app name (ari.app) */
  app: string;
  logger: Logger;
  /** wait this long after a trigger before the first look; default 2000 */
  graceMs?: number;
  /** look again this often while the app is missing; default 1000 */
  retryMs?: number;
  /** warn when the app is still missing this long after the trigger; default 15000 */
  timeoutMs?: number;
}

export class AsteriskHealthWatcher {
  private readonly graceMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private started = false;
  private closed = false;
  private checking: { promise: Promise<boolean>; triggers: Set<string> } | undefined;
  private readonly delay = new CloseAwareDelay();

  constructor(private readonly options: AsteriskHealthWatcherOptions) {
    this.graceMs = options.graceMs ?? 2000;
    this.retryMs = options.retryMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.options.ami.on('event', this.onEvent);
    this.options.ami.on('state', this.onState);
  }

  /** Idempotent; a check under way stops at its next wait. */
  async close(): Promise<void> {
    this.closed = true;
    this.options.ami.off('event', this.onEvent);
    this.options.ami.off('state', this.onState);
    this.delay.close();
    await this.checking?.promise;
  }

  /** Checks now (after the grace time); resolves true when the app is registered. Merged with a check under way. */
  check(trigger: string): Promise<boolean> {
    if (this.checking) {
      this.checking.triggers.add(trigger);
      return this.checking.promise;
    }
    const triggers = new Set([trigger]);
    const promise = this.runCheck(triggers).finally(() => {
      if (this.checking?.promise === promise) this.checking = undefined;
    });
    this.checking = { promise, triggers };
    return promise;
  }

  private readonly onEvent = (event: AmiMessage): void => {
    if (event.event === 'FullyBooted' || event.event === 'Reload')
      void this.check(event.event === 'Reload' && event.module ? `Reload ${event.module}` : event.event);
  };

  private readonly onState = (change: { state: AmiConnectionState; previous: AmiConnectionState }): void => {
    if (change.state === 'connected' && change.previous === 'reconnecting') void this.check('ami reconnected');
  };

  private async runCheck(triggers: Set<string>): Promise<boolean> {
    const { ari, app, logger } = this.options;
    const deadline = Date.now() + this.timeoutMs;
    await this.delay.wait(this.graceMs);
    let lastError: string | undefined;
    let apps: string[] = [];
    while (!this.closed) {
      try {
        apps = await ari.listApplications();
        lastError = undefined;
        if (apps.includes(app)) {
          logger.info({ app, trigger: [...triggers].join(',') }, 'asterisk reloaded; stasis app registered');
          return true;
        }
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (Date.now() + this.retryMs > deadline) break;
      await this.delay.wait(this.retryMs);
    }
    if (this.closed) return false;
    logger.warn(
      { app, trigger: [...triggers].join(','), registered: apps, err: lastError },
      'stasis app not registered after asterisk reload',
    );
    return false;
  }
}
