/**
 * The daemon's notifications (notifications: in callscreen.yaml): what happens in it, turned into webhook
 * events. Without a webhook nothing is watched. Everything here runs beside the calls, never on their path:
 * a screened call only counts towards a spam surge; the sender queues and delivers on its own.
 */
import type { EventEmitter } from 'node:events';
import type { CallscreenConfig } from '../config/schema';
import type { ConfigError } from '../errors/config-error';
import type { ScreenedCallRecord } from '../ports/call-log';
import type { AriStateChange } from '../ports/ari';
import type { Logger } from '../ports/logger';
import { SpamSurgeDetector } from '../notifications/spam-surge';
import { WEBHOOK_EVENTS, type WebhookEvent, type WebhookEventType } from '../notifications/webhook-event';
import { WebhookSender } from '../notifications/webhook-sender';

/** What the notifications listen to: the parts' events, as the daemon has them. */
export interface NotificationSources {
  rules: Pick<EventEmitter, 'on'>;
  config: Pick<EventEmitter, 'on'>;
  redis: Pick<EventEmitter, 'on'>;
  ari: { on(event: 'state', listener: (change: AriStateChange) => void): unknown };
}

export interface Notifications {
  /** told of every screened call (spam surges) */
  screened(record: ScreenedCallRecord): void;
  /** told of every feed update's outcome */
  feedRun(feed: string, outcome: string): void;
  close(): Promise<void>;
}

const NONE: Notifications = { screened: () => undefined, feedRun: () => undefined, close: async () => undefined };

/** An outage of one service: reported once it lasts downAfterSeconds, and its end when it was reported. */
class Outage {
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reported = false;

  constructor(
    private readonly service: 'redis' | 'ari',
    private readonly afterMs: number,
    private readonly notify: (event: WebhookEvent) => void,
  ) {}

  down(): void {
    if (this.since !== undefined) return;
    const since = Date.now();
    this.since = since;
    this.timer = setTimeout(() => {
      this.reported = true;
      const seconds = Math.round((Date.now() - since) / 1000);
      this.notify({
        type: this.service === 'redis' ? 'redis-down' : 'ari-down',
        at: new Date().toISOString(),
        summary:
          this.service === 'redis'
            ? `Redis unreachable for ${seconds} s: calls are screened degraded (rules and the number alone)`
            : `ARI unreachable for ${seconds} s: calls take the dialplan's fallback to the agents, unscreened`,
        data: { service: this.service, since: new Date(since).toISOString(), seconds },
      });
    }, this.afterMs);
    this.timer.unref();
  }

  up(): void {
    if (this.since === undefined) return;
    clearTimeout(this.timer);
    if (this.reported) {
      const seconds = Math.round((Date.now() - this.since) / 1000);
      this.notify({
        type: 'recovered',
        at: new Date().toISOString(),
        summary: `${this.service === 'redis' ? 'Redis' : 'ARI'} is back after ${seconds} s`,
        data: { service: this.service, since: new Date(this.since).toISOString(), seconds },
      });
    }
    this.since = undefined;
    this.reported = false;
  }

  close(): void {
    clearTimeout(this.timer);
  }
}

function rejected(err: ConfigError, what: string): WebhookEvent {
  const problems = err.problems.slice(0, 10).map((p) => `${p.file}:${p.line}:${p.column} ${p.reason}`);
  return {
    type: 'rules-rejected',
    at: new Date().toISOString(),
    summary: `${what} rejected; the last good one stays in force: ${problems[0] ?? err.message}`,
    data: { file: err.problems[0]?.file, problems },
  };
}

export function startNotifications(
  config: CallscreenConfig,
  sources: NotificationSources,
  options: { logger: Logger; host: string; env?: NodeJS.ProcessEnv },
): Notifications {
  const { webhooks } = config.notifications;
  if (webhooks.length === 0) return NONE;
  const env = options.env ?? process.env;
  const hooks = webhooks.map((hook) => {
    const secret = hook.secretEnv ? (env[hook.secretEnv] ?? '') : '';
    if (hook.secretEnv && secret === '')
      options.logger.warn({ secretEnv: hook.secretEnv }, 'webhook secret variable is empty: deliveries are not signed');
    return { url: hook.url, secret, events: new Set<WebhookEventType>(hook.events ?? WEBHOOK_EVENTS) };
  });
  const sender = new WebhookSender({
    hooks,
    retry: config.notifications.retry,
    logger: options.logger,
    host: options.host,
  });
  const notify = (event: WebhookEvent): void => sender.notify(event);
  const afterMs = config.notifications.downAfterSeconds * 1000;
  const redis = new Outage('redis', afterMs, notify);
  const ari = new Outage('ari', afterMs, notify);
  const surges = new SpamSurgeDetector(config.notifications.spamSurge);

  sources.rules.on('rejected', (err: ConfigError) => notify(rejected(err, 'a rules file edit')));
  sources.config.on('rejected', (err: ConfigError) => notify(rejected(err, 'a callscreen.yaml edit')));
  for (const down of ['end', 'close', 'reconnecting']) sources.redis.on(down, () => redis.down());
  sources.redis.on('ready', () => redis.up());
  sources.ari.on('state', (change) => (change.state === 'connected' ? ari.up() : ari.down()));
  options.logger.info({ webhooks: hooks.length }, 'notifications: webhooks on');

  return {
    screened(record) {
      const d = record.decision;
      const spam = d.verdict === 'voicemail' || d.verdict === 'reject' || record.captcha?.outcome === 'failed';
      if (!spam) return;
      const did = d.did.kind === 'e164' ? d.did.e164 : d.did.raw;
      const surge = surges.spamCall(did, Date.now());
      if (surge)
        notify({
          type: 'spam-surge',
          at: new Date().toISOString(),
          summary: `${surge.calls} spam calls to ${did} within ${surge.windowMinutes} minutes`,
          data: { ...surge },
        });
    },
    feedRun(feed, outcome) {
      if (outcome === 'failed' || outcome === 'refused')
        notify({
          type: 'feed-failed',
          at: new Date().toISOString(),
          summary: `the update of feed ${feed} ${outcome === 'refused' ? 'was refused' : 'failed'}; its last good list stays in force`,
          data: { feed, outcome },
        });
    },
    async close() {
      redis.close();
      ari.close();
      await sender.close();
    },
  };
}
