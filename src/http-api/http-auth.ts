/**
 * Credentials of the daemon's HTTP server (http.auth): bearer tokens (from the environment variable
 * http.auth.tokenEnv, several separated by commas, and/or http.auth.tokens) and optionally HTTP Basic
 * (http.auth.basic: a user and the environment variable holding the password).
 *
 * Comparison: each presented secret is hashed (SHA-256) and compared with every configured secret's
 * hash with crypto.timingSafeEqual: equal-length digests, no early exit on the first differing byte
 * nor on the first match, so the time taken says nothing about how much of a token was right, nor
 * about a token's length. Secrets are held only here; nothing in this module logs them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CallscreenConfig } from '../config/schema';

export type HttpSettings = CallscreenConfig['http'];

/** tokens shorter than this from the environment are refused (the schema refuses them in the file) */
export const MIN_TOKEN_LENGTH = 16;

export interface Identity {
  /** how the request authenticated */
  scheme: 'bearer' | 'basic';
  /** the Basic user; for a bearer token, "token #n" (its position, never the token) */
  name: string;
}

export interface HttpCredentials {
  /** the identity a request's Authorization header proves, or undefined */
  authenticate(authorization: string | undefined): Identity | undefined;
  /** WWW-Authenticate values for a 401 */
  readonly challenges: readonly string[];
  /** how many bearer tokens, and whether Basic is on (for the start log line; no secrets) */
  readonly summary: { tokens: number; basic: boolean };
}

export interface ResolvedCredentials {
  credentials: HttpCredentials;
  /** configuration problems that disabled part of the credentials (no secrets in them) */
  warnings: string[];
}

const REALM = 'callscreen';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Credentials from http.auth and the environment. Throws when none are usable: every request would fail. */
export function resolveCredentials(
  auth: HttpSettings['auth'],
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCredentials {
  const warnings: string[] = [];
  const tokens = [...auth.tokens];
  if (auth.tokenEnv !== undefined) {
    const fromEnv = (env[auth.tokenEnv] ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (fromEnv.length === 0) warnings.push(`http.auth.tokenEnv names ${auth.tokenEnv}, which is not set or empty`);
    for (const [i, token] of fromEnv.entries()) {
      if (token.length < MIN_TOKEN_LENGTH)
        warnings.push(`token ${i + 1} in ${auth.tokenEnv} is shorter than ${MIN_TOKEN_LENGTH} characters; ignored`);
      else tokens.push(token);
    }
  }
  let basic: { user: Buffer; password: Buffer; name: string } | undefined;
  if (auth.basic) {
    const password = env[auth.basic.passwordEnv];
    if (!password)
      warnings.push(
        `http.auth.basic.passwordEnv names ${auth.basic.passwordEnv}, which is not set or empty; Basic authentication is off`,
      );
    else basic = { user: digest(auth.basic.user), password: digest(password), name: auth.basic.user };
  }
  if (tokens.length === 0 && !basic) {
    throw new Error(
      `http.auth has no usable credentials (${warnings.length ? warnings.join('; ') : 'set http.auth.tokenEnv to an environment variable holding a token'})`,
    );
  }
  const tokenDigests = tokens.map(digest);
  const challenges = [`Bearer realm="${REALM}"`, ...(basic ? [`Basic realm="${REALM}", charset="UTF-8"`] : [])];

  const authenticate = (authorization: string | undefined): Identity | undefined => {
    if (typeof authorization !== 'string') return undefined;
    const space = authorization.indexOf(' ');
    if (space < 0) return undefined;
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'bearer') {
      const presented = digest(value);
      let match = -1;
      // every token compared, always: the time does not depend on which (if any) matched
      tokenDigests.forEach((d, i) => {
        if (timingSafeEqual(d, presented) && match < 0) match = i;
      });
      return match >= 0 ? { scheme: 'bearer', name: `token #${match + 1}` } : undefined;
    }
    if (scheme === 'basic' && basic) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), basic.user);
      const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), basic.password);
      return userOk && passwordOk ? { scheme: 'basic', name: basic.name } : undefined;
    }
    return undefined;
  };
  return {
    credentials: { authenticate, challenges, summary: { tokens: tokens.length, basic: basic !== undefined } },
    warnings,
  };
}
