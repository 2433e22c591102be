/**
 * Any thrown value as one line for a log or a record: `code: message` when the error has a string code
 * (CS_ERR_*, ECONNREFUSED, ...), then the message of the error it wraps when that says more (a failed
 * fetch says why only in its cause).
 */
export function errorText(e: unknown): string {
  if (!isErrorLike(e)) return String(e);
  const code = (e as { code?: unknown }).code;
  const text = typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  const cause = isErrorLike(e.cause) && !text.includes(e.cause.message) ? `: ${e.cause.message}` : '';
  return `${text}${cause}`;
}

/**
 * `instanceof Error` fails across realms (a DOMException or undici's TypeError seen from a vm context
 * such as Jest's), so errors are recognised by shape.
 */
export function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  if (typeof value !== 'object' || value === null) return false;
  const { message, name } = value as { message?: unknown; name?: unknown };
  return typeof message === 'string' && typeof name === 'string';
}
