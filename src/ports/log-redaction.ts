/**
 * What may never reach a log line: the credentials of a URL (`scheme://user:password@host`), a secret in
 * a URL's query (`?api_key=...`, `?token=...`), and the value of any field named like a secret
 * (password, secret, token, authorization, ...). The one redaction for all of them: the logger applies
 * it to every line (adapters/logging/pino-logger.ts), and describeRedis and the ARI adapters to the
 * texts they build.
 *
 * Why here, in ports: it is part of the Logger port's contract (what a line may hold), it is pure (no
 * imports, no I/O), and every layer that needs it may import ports, adapters included. In an adapter
 * (logging/, redis/) the other adapters could not use it; domain is the call-screening core.
 */

/** What a hidden value is replaced with. */
export const REDACTED = '[redacted]';

/** `scheme://` and the userinfo after it, up to the last `@` of the token (a password may hold `@`). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>]*@/gi;

/** A query parameter whose value is a secret, as some clients put credentials there (ari-client: api_key=user:pass). */
const SECRET_QUERY = /([?&;](?:api[_-]?key|apikey|access[_-]?token|token|password|passwd|secret|auth)=)[^&#\s"'<>]*/gi;

/**
 * Field names whose value is a secret, whole: `password`, `redisPassword`, `secret`, `token`, `tokens`,
 * `authToken`, `authorization`, `apiKey`, `cookie` ... but not `passwordEnv` or `tokenEnv` (they name
 * an environment variable, not its value).
 */
const SECRET_NAME =
  /^(?:password|passwd|pass|secret|secrets|token|tokens|authorization|auth|api[_-]?key|cookie|credentials?)$/i;
/** the same as the last word of a camelCase name: redisPassword, authToken, sessionSecret */
const SECRET_SUFFIX = /[a-z0-9](?:Password|Passwd|Secret|Secrets|Token|Tokens|Authorization|ApiKey|Credentials?)$/;

/** Nested objects in a log line are followed this deep (a cycle or a huge object ends there). */
const MAX_DEPTH = 8;

/** A text (a URL, an error message, a whole line) with every URL's credentials and secret query values replaced. */
export function redactUrl(text: string): string {
  if (!text.includes('@') && !text.includes('=')) return text; // the common case, cheaply
  return text.replace(URL_CREDENTIALS, `$1${REDACTED}@`).replace(SECRET_QUERY, `$1${REDACTED}`);
}

/** Whether a field of this name holds a secret (its whole value is hidden). */
export function isSecretField(name: string): boolean {
  return SECRET_NAME.test(name) || SECRET_SUFFIX.test(name);
}

/**
 * The fields of a log line with their secrets hidden: a secret-named field's value (a string, or a list
 * of strings) becomes [redacted], every other string goes through redactUrl. Plain objects and arrays
 * are followed; anything else (an Error, a Date, a number) is kept as it is. Returns the same object
 * when nothing needed hiding, a redacted copy otherwise: the caller's object is never changed.
 */
export function redactFields<T>(value: T): T {
  return redactValue(value, undefined, 0) as T;
}

/** One field's value with its secrets hidden, as redactFields does it for each field it follows. */
export function redactField(name: string, value: unknown): unknown {
  return redactValue(value, name, 1);
}

function redactValue(value: unknown, name: string | undefined, depth: number): unknown {
  if (typeof value === 'string') {
    if (name !== undefined && isSecretField(name)) return value === '' ? value : REDACTED;
    return redactUrl(value);
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item: unknown) => {
      const redacted = redactValue(item, name, depth + 1);
      if (redacted !== item) changed = true;
      return redacted;
    });
    return changed ? items : value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const redacted = redactValue(field, key, depth + 1);
    if (redacted === field) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = redacted;
  }
  return copy ?? value;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
