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
  reconnectMinDelayMs: number;
  reconnectMaxDelayMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

export const ariDefaults = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 10_000,
  reconnectMinDelayMs: 250,
  reconnectMaxDelayMs: 5000,
  pingIntervalMs: 5000,
  pongTimeoutMs: 3000,
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
    reconnectMinDelayMs: positive('reconnectMinDelayMs', options.reconnectMinDelayMs, ariDefaults.reconnectMinDelayMs),
    reconnectMaxDelayMs: positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs, ariDefaults.reconnectMaxDelayMs),
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
