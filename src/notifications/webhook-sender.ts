/**
 * Delivers events to the configured webhooks, never on a call's path: notify() only queues. Each delivery is a
 * POST of the event as JSON, signed with HMAC-SHA256 over "<timestamp>.<body>" with the hook's secret
 * (headers X-Callscreen-Timestamp and X-Callscreen-Signature: sha256=<hex>), so a receiver can check it came
 * from callscreen and is not a replay. A network error, a timeout, 429 or 5xx is retried with exponential
 * backoff (and jitter) up to `attempts` times; any other answer ends it. The queue is bounded: past maxQueue
 * the oldest waiting delivery is dropped, logged. close() stops retrying and waits for deliveries in flight.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { errorText } from '../errors/error-text';
import { redactUrl } from '../ports/log-redaction';
import type { Logger } from '../ports/logger';
import type { WebhookEvent, WebhookEventType } from './webhook-event';

export interface WebhookTarget {
  url: string;
  /** the HMAC key; empty: deliveries are not signed */
  secret: string;
  /** the events this hook wants */
  events: ReadonlySet<WebhookEventType>;
}

export interface WebhookRetry {
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export interface WebhookSenderOptions {
  hooks: readonly WebhookTarget[];
  retry: WebhookRetry;
  logger: Logger;
  /** this machine's name, in every body */
  host: string;
  maxQueue?: number;
  /** tests: the clock's sleep */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Delivery {
  id: string;
  hook: WebhookTarget;
  body: string;
  event: WebhookEventType;
}

const DEFAULT_MAX_QUEUE = 1000;

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookSender {
  private readonly queue: Delivery[] = [];
  private running = 0;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          timer.unref();
          this.stop.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        }));
    this.random = options.random ?? Math.random;
  }

  /** Queue `event` for every hook that wants it; returns at once. */
  notify(event: WebhookEvent): void {
    if (this.closed) return;
    const body = JSON.stringify({ ...event, host: this.options.host });
    for (const hook of this.options.hooks) {
      if (!hook.events.has(event.type)) continue;
      if (this.queue.length >= (this.options.maxQueue ?? DEFAULT_MAX_QUEUE)) {
        const dropped = this.queue.shift();
        this.options.logger.warn(
          { event: dropped?.event, url: dropped ? redactUrl(dropped.hook.url) : undefined },
          'webhook queue full; oldest delivery dropped',
        );
      }
      this.queue.push({ id: randomUUID(), hook, body, event: event.type });
    }
    this.pump();
  }

  /** Stop retrying, drop what waits, wait for deliveries in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.stop.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private pump(): void {
    // one delivery at a time per sender: events are rare, order is kept, a dead receiver holds nothing else up long
    while (this.running < 1 && this.queue.length > 0) {
      const delivery = this.queue.shift() as Delivery;
      this.running++;
      const work = this.deliver(delivery).finally(() => {
        this.running--;
        this.inFlight.delete(work);
        if (!this.closed) this.pump();
      });
      this.inFlight.add(work);
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const { attempts, firstDelayMs, maxDelayMs, timeoutMs } = this.options.retry;
    for (let attempt = 1; attempt <= attempts && !this.closed; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      let outcome: string;
      let retry: boolean;
      try {
        const res = await fetch(d.hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'callscreen-webhook',
            'x-callscreen-event': d.event,
            'x-callscreen-delivery': d.id,
            'x-callscreen-timestamp': timestamp,
            ...(d.hook.secret ? { 'x-callscreen-signature': signature(d.hook.secret, timestamp, d.body) } : {}),
          },
          body: d.body,
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stop.signal]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.options.logger.debug({ event: d.event, url: redactUrl(d.hook.url), attempt }, 'webhook delivered');
          return;
        }
        outcome = `HTTP ${res.status}`;
        retry = res.status === 429 || res.status >= 500;
      } catch (e) {
        outcome = errorText(e);
        retry = true;
      }
      if (!retry || attempt === attempts) {
        this.options.logger.warn(
          { event: d.event, url: redactUrl(d.hook.url), attempts: attempt, outcome },
          'webhook not delivered',
        );
        return;
      }
      const backoff = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
      await this.sleep(backoff / 2 + this.random() * (backoff / 2));
    }
  }
}
