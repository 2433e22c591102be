import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AriTimeoutErrorDetails {
  method: string;
  /** ARI path without the /ari prefix and without the query */
  path: string;
  timeoutMs: number;
}

/** An ARI REST request got no answer inside its timeout (requestTimeoutMs). */
export class AriTimeoutError extends CallscreenError {
  readonly method: string;
  readonly path: string;
  readonly timeoutMs: number;

  constructor(details: AriTimeoutErrorDetails, options?: { cause?: unknown }) {
    super(
      ErrorCode.AriTimeout,
      `ARI ${details.method} ${details.path} got no answer in ${details.timeoutMs} ms`,
      options,
    );
    this.method = details.method;
    this.path = details.path;
    this.timeoutMs = details.timeoutMs;
  }
}
