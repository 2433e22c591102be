/**
 * Browser-facing protections of the daemon's HTTP server: the CSRF check on every request that can
 * change something, and the security headers on every response.
 *
 * CSRF (every method but GET and HEAD): the request must carry `X-Callscreen-Request: 1`, a header no
 * HTML form can set and that a script on another site can only set after a CORS preflight, which this
 * server never grants (it answers OPTIONS with no Access-Control-* headers). When the browser sends an
 * Origin header, its host[:port] must be the Host the request was sent to. The scheme is not compared:
 * behind a TLS reverse proxy the browser's origin is https:// while the daemon is reached over http on
 * 127.0.0.1 (the proxy must pass the Host header on). Together with "JSON bodies only" (415 otherwise)
 * a cross-site page cannot make an agent's browser report a number or allow one, even with the Basic
 * credentials the browser has cached. API clients (curl, a CRM) send the header too.
 *
 * Headers: a strict Content-Security-Policy (the console loads its own script and style only, no
 * inline code, no framing), nosniff, no referrer, and no caching of /api answers (they hold callers'
 * numbers), decided on the path the router matched, so a percent-encoded spelling of /api gets it too.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const CSRF_HEADER = 'x-callscreen-request';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Why a request fails the CSRF check, or undefined when it passes (or needs none). */
export function csrfProblem(method: string, headers: FastifyRequest['headers']): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  if (headers[CSRF_HEADER] !== '1') return 'send the header X-Callscreen-Request: 1 with every POST';
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  const host = typeof headers.host === 'string' ? headers.host.toLowerCase() : '';
  let originHost: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the Origin header is not this server';
    originHost = url.host.toLowerCase(); // default ports left out, as in a Host header
  } catch {
    return 'the Origin header is not this server';
  }
  if (host === '' || (originHost !== host && originHost !== host.replace(/:(80|443)$/, '')))
    return 'the Origin header is not this server';
  return undefined;
}

/** onRequest hook (after authentication): 403 { error: 'csrf' } for a request that fails the check. */
export async function csrfHook(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const problem = csrfProblem(request.method, request.headers);
  if (problem === undefined) return undefined;
  void reply.code(403).send({ error: 'csrf', message: problem });
  return reply;
}

/**
 * The path as the router sees it: the route it matched (its pattern, e.g. /api/v1/calls/:id), or, when
 * none matched, the request's path without the query, percent-decoded. The raw URL is not enough:
 * `/%61pi/v1/calls` is routed to /api/v1/calls but does not start with /api/.
 */
export function routedPath(request: Pick<FastifyRequest, 'url' | 'routeOptions'>): string {
  const route = request.routeOptions.url;
  if (route !== undefined) return route;
  const raw = request.url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // not valid percent-encoding: the router matched nothing either
  }
}

/** Answers under /api hold callers' numbers: never stored by a browser or a proxy. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/** The security headers every response carries; `path` decides no-store (API) or no-cache (unless the route set its own). */
export function setSecurityHeaders(reply: FastifyReply, path: string): void {
  void reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  void reply.header('X-Content-Type-Options', 'nosniff');
  void reply.header('Referrer-Policy', 'no-referrer');
  void reply.header('X-Frame-Options', 'DENY');
  if (isApiPath(path)) void reply.header('Cache-Control', 'no-store');
  else if (!reply.hasHeader('Cache-Control')) void reply.header('Cache-Control', 'no-cache');
}

/** onSend hook: the security headers on every response (401s and 404s too). */
export async function securityHeadersHook(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  setSecurityHeaders(reply, routedPath(request));
  return payload;
}
