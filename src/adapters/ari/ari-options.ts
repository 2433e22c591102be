import type { AriPortOptions } from '../../ports/ari';
import { redactUrl } from '../../ports/log-redaction';

/** AriPortOptions with every default filled in and the URLs worked out once. */
export interface ResolvedAriOptions {
  /** REST base without a trailing slash, always ending in /ari: http://host:port/ari */
  restBase: string;
  /** websocket URL for the event stream of `apps` (no credentials in it) */
  eventsUrl: string;
  /** scheme://host:port, what ari-client wants */
  origin: string;
  username: string;
  password: string;
  apps: string[];
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectTimeoutMs: number;
  reconnectMinDelayMs: number;
  reconnectMaxDelayMs: number;
  quickReconnectForMs: number;
  quickReconnectMaxDelayMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

/**
 * Sized so that no call waits long in silence when the link fails (issue 12): a dead link is noticed
 * within about a second (a ping every 500 ms, 600 ms for its pong), a reconnect attempt into a dead
 * network is given up after 2 s, and for the first minute of an outage attempts follow each other
 * within 1 s. The first connect at start keeps 10 s (an Asterisk that is still starting).
 */
export const ariDefaults = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 10_000,
  reconnectTimeoutMs: 2000,
  reconnectMinDelayMs: 250,
  reconnectMaxDelayMs: 5000,
  quickReconnectForMs: 60_000,
  quickReconnectMaxDelayMs: 1000,
  pingIntervalMs: 500,
  pongTimeoutMs: 600,
} as const;

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`ARI option ${name} must be a positive number of milliseconds, got ${String(value)}`);
  return v;
}

/** Accepts http://host:port, http://host:port/, http://host:port/ari and http://host:port/ari/. */
export function resolveAriOptions(options: AriPortOptions): ResolvedAriOptions {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError(`ARI url must be http(s), got ${redactUrl(options.url)}`);
  if (options.apps.length === 0) throw new RangeError('ARI needs at least one Stasis application in apps');
  const basePath = url.pathname.replace(/\/+$/, '').replace(/\/ari$/, '');
  const restBase = `${url.origin}${basePath}/ari`;
  const wsOrigin = url.origin.replace(/^http/, 'ws');
  const query = `app=${options.apps.map(encodeURIComponent).join(',')}&subscribeAll=false`;
  const resolved: ResolvedAriOptions = {
    restBase,
    eventsUrl: `${wsOrigin}${basePath}/ari/events?${query}`,
    origin: url.origin,
    username: options.username,
    password: options.password,
    apps: [...options.apps],
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, ariDefaults.requestTimeoutMs),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, ariDefaults.connectTimeoutMs),
    reconnectTimeoutMs: positive('reconnectTimeoutMs', options.reconnectTimeoutMs, ariDefaults.reconnectTimeoutMs),
    reconnectMinDelayMs: positive('reconnectMinDelayMs', options.reconnectMinDelayMs, ariDefaults.reconnectMinDelayMs),
    reconnectMaxDelayMs: positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs, ariDefaults.reconnectMaxDelayMs),
    quickReconnectForMs: positive('quickReconnectForMs', options.quickReconnectForMs, ariDefaults.quickReconnectForMs),
    quickReconnectMaxDelayMs: positive(
      'quickReconnectMaxDelayMs',
      options.quickReconnectMaxDelayMs,
      ariDefaults.quickReconnectMaxDelayMs,
    ),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, ariDefaults.pingIntervalMs),
    pongTimeoutMs: positive('pongTimeoutMs', options.pongTimeoutMs, ariDefaults.pongTimeoutMs),
  };
  if (resolved.reconnectMaxDelayMs < resolved.reconnectMinDelayMs) {
    throw new RangeError('ARI option reconnectMaxDelayMs must not be below reconnectMinDelayMs');
  }
  return Object.freeze(resolved);
}

export function basicAuth(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}
