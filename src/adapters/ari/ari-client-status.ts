/**
 * ari-client hands back a failed request as `Error(<response body>)`: the HTTP status is gone. This
 * recovers it from Asterisk's `{"message"}`: first from the operation's documented error responses
 * (swagger `errorResponses`, loaded by ari-client with the API docs: 404 "Channel not found" ...),
 * then from Asterisk's usual wordings. Undefined when neither matches: an empty body, or a message
 * Asterisk does not document and words unusually.
 */

/** One documented error response of an ARI operation, as swagger-client 2.0.26 keeps it. */
export interface DocumentedError {
  code: number | string;
  message?: string | null;
  reason?: string | null;
}

/** Asterisk's usual wordings, for messages an operation does not document. First match wins. */
const STATUS_BY_WORDING: ReadonlyArray<readonly [RegExp, number]> = [
  [/authentication required|unauthori[sz]ed/i, 401],
  [/forbidden|read[- ]only/i, 403],
  [/not found|does not exist/i, 404],
  [/not in a stasis application|already exists/i, 409],
  [/invalid state|not in .*state/i, 412],
  [/required|must be specified|missing|invalid|bad request/i, 400],
  [/internal server error|allocation failed/i, 500],
];

const normalize = (text: string): string => text.trim().replace(/\.$/, '').toLowerCase();

export function recoverStatus(documented: readonly DocumentedError[], message: string | undefined): number | undefined {
  if (!message) return undefined;
  const wanted = normalize(message);
  const hit = documented.find((r) => normalize(r.message ?? r.reason ?? '') === wanted);
  if (hit && Number.isInteger(Number(hit.code))) return Number(hit.code);
  return STATUS_BY_WORDING.find(([pattern]) => pattern.test(message))?.[1];
}
