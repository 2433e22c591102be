import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AriUnavailableErrorDetails {
  /** why: "adapter closed", "connection refused", "websocket down" ... */
  reason: string;
  /** the request that could not be made, when there was one */
  method?: string;
  path?: string;
}

/**
 * An ARI request could not reach Asterisk at all: the adapter is closed (or not started), or the
 * connection was refused or reset before an answer came.
 */
export class AriUnavailableError extends CallscreenError {
  readonly reason: string;
  readonly method: string | undefined;
  readonly path: string | undefined;

  constructor(details: AriUnavailableErrorDetails, options?: { cause?: unknown }) {
    const what = details.method && details.path ? `ARI ${details.method} ${details.path}` : 'ARI';
    super(ErrorCode.AriUnavailable, `${what} unavailable: ${details.reason}`, options);
    this.reason = details.reason;
    this.method = details.method;
    this.path = details.path;
  }
}
