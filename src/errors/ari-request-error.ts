import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AriRequestErrorDetails {
  /**
   * HTTP status Asterisk answered with. `undefined` only when the adapter could not learn it: the
   * ari-client adapter sees the response body but not the status, and recovers the status from the
   * operation's documented error responses (see src/adapters/ari/ari-client-ari.ts).
   */
  statusCode: number | undefined;
  method: string;
  /** ARI path without the /ari prefix and without the query, e.g. /channels/1700000000.12 */
  path: string;
  /** Asterisk's own words from a JSON body `{"message": ...}`, when it sent one */
  responseMessage?: string;
}

/** Asterisk answered an ARI REST request with a non-2xx status (or refused it as invalid). */
export class AriRequestError extends CallscreenError {
  readonly statusCode: number | undefined;
  readonly method: string;
  readonly path: string;
  readonly responseMessage: string | undefined;

  constructor(details: AriRequestErrorDetails, options?: { cause?: unknown }) {
    const status = details.statusCode === undefined ? 'error' : String(details.statusCode);
    const said = details.responseMessage ? `: ${details.responseMessage}` : '';
    super(ErrorCode.AriRequest, `ARI ${details.method} ${details.path} answered ${status}${said}`, options);
    this.statusCode = details.statusCode;
    this.method = details.method;
    this.path = details.path;
    this.responseMessage = details.responseMessage;
  }
}
