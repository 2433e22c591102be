/**
 * The connection addresses in callscreen.yaml, checked whole when the file loads, before anything connects:
 * ari.url an http(s) URL; redis.url a Redis URL with a real port and a database 0..15; Redis nodes with a
 * real port. A mistake here must stop the start with the setting's name, not surface later as a refused
 * connection or, worse, as a client quietly using something else (with /99 on a 16-database server the
 * client stays on database 0; ioredis reads a query string as client options, and turns TLS on only for a
 * lower-case rediss://). Messages never repeat the URL: it may hold a password.
 */
import { z } from 'zod';

/** What a Redis server has unless its `databases` setting says more (redis.sentinel.db takes the same 0..15). */
const REDIS_DATABASES = 16;

const REDIS_URL_FORM = 'redis://[user:password@]host:port[/db]';

/** ari.url: Asterisk's HTTP server, http:// or https://. */
export const ariUrl = z
  .string()
  .meta({ format: 'uri' })
  .superRefine((text, ctx) => {
    const problem = httpUrlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** redis.url: checked completely; the scheme is written lower-case (the client only knows rediss:// so). */
export const redisUrl = z
  .string()
  .meta({ format: 'uri' })
  .superRefine((text, ctx) => {
    const problem = redisUrlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((text) => text.replace(/^rediss?:/i, (scheme) => scheme.toLowerCase()));

/** A Redis node written host:port (or redis://host:port/): its port, if it has one, is 1..65535. */
export function nodePortInRange(node: string): boolean {
  const port = /:(\d+)\/?$/.exec(node)?.[1];
  return port === undefined || isPort(port); // no port at all: the node's own pattern says so
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
}

function httpUrlProblem(text: string): string | undefined {
  const expected = "must be an http:// or https:// URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088";
  if (!/^https?:\/\//i.test(text)) {
    // the scheme only when it is one (scheme://): in user:password@host the "scheme" would be the user
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]{0,15}):\/\//.exec(text)?.[1];
    return scheme ? `${expected} (not ${scheme.toLowerCase()}:)` : `${expected} (this is not a URL)`;
  }
  try {
    new URL(text);
  } catch {
    return `${expected} (this is not a valid URL: check the host and the port, 1..65535)`;
  }
  return undefined;
}

function redisUrlProblem(text: string): string | undefined {
  if (!/^rediss?:\/\//i.test(text)) return `must start with redis:// or rediss:// (TLS): ${REDIS_URL_FORM}`;
  // the port is looked at before the URL parser, which would only say "invalid URL" for :notaport or :99999
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(text)?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)?.[1];
  if (port !== undefined && !isPort(port))
    return `the port must be a whole number 1..65535 (${REDIS_URL_FORM}; a password with / or @ must be %-encoded)`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a valid URL: ${REDIS_URL_FORM} (special characters in a password must be %-encoded)`;
  }
  if (url.hostname === '') return `names no host: ${REDIS_URL_FORM}`;
  if (/[?#]/.test(text.slice(text.indexOf('//') + 2 + authority.length)))
    return `takes no query or fragment (?... or #...), which the Redis client would read as options: ${REDIS_URL_FORM}`;
  if (url.pathname === '' || url.pathname === '/') return undefined;
  const db = /^\/(\d{1,9})$/.exec(url.pathname)?.[1];
  if (db === undefined || Number(db) >= REDIS_DATABASES)
    return (
      `the database (the path after host:port) must be a whole number 0..${REDIS_DATABASES - 1}` +
      `${db === undefined ? '' : `, not ${Number(db)}`} (a Redis server has ${REDIS_DATABASES} databases by default)`
    );
  return undefined;
}
