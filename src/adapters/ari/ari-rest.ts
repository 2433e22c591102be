import type { AriPlayRequest, ContinueTarget, OriginateRequest } from '../../ports/ari';
import { AriRequestError } from '../../errors/ari-request-error';

/**
 * What both adapters agree on for REST: the method and ARI path each AriPort call maps to (errors
 * carry them the same way whichever adapter made the call), the query each call sends, and how
 * Asterisk's error bodies are read.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Query = Record<string, string | number | boolean | undefined>;

/** One path segment; an empty id is refused before anything is sent, as Asterisk would refuse it (400). */
export function segment(name: string, value: string, method: HttpMethod, path: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new AriRequestError({ statusCode: 400, method, path, responseMessage: `${name} is required` });
  }
  return encodeURIComponent(value);
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `{"message": "..."}` from an Asterisk error body, or undefined. */
export function bodyMessage(text: string): string | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
      return (value as { message: string }).message;
    }
  } catch {
    // not JSON: Asterisk's HTTP server answers some errors with an HTML page
  }
  return undefined;
}

export function continueQuery(target: ContinueTarget): Query {
  return { context: target.context, extension: target.extension, priority: target.priority, label: target.label };
}

export function playMedia(request: AriPlayRequest): string {
  return Array.isArray(request.media) ? request.media.join(',') : request.media;
}

export function originateQuery(request: OriginateRequest): Query {
  return {
    endpoint: request.endpoint,
    app: request.app,
    appArgs: request.appArgs,
    context: request.context,
    extension: request.extension,
    priority: request.priority,
    callerId: request.callerId,
    timeout: request.timeoutSec,
    otherChannelId: request.otherChannelId,
  };
}

/** Strips what is not ARI data: functions and the `_`-prefixed bookkeeping ari-client adds to resources. */
export function plainJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key.startsWith('_') ? undefined : v))) as T;
}
