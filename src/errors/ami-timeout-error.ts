import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AmiTimeoutErrorDetails {
  /** the action that got no (complete) answer, e.g. "Ping"; "Login" when start() ran out of time */
  action: string;
  timeoutMs: number;
}

/**
 * An AMI action got no answer inside its timeout (for a list action: its ...Complete event did not
 * arrive), or start() could not log in inside connectTimeoutMs. The cause, when there is one, is the
 * last connection error seen while trying.
 */
export class AmiTimeoutError extends CallscreenError {
  readonly action: string;
  readonly timeoutMs: number;

  constructor(details: AmiTimeoutErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.AmiTimeout, `AMI action ${details.action} got no answer in ${details.timeoutMs} ms`, options);
    this.action = details.action;
    this.timeoutMs = details.timeoutMs;
  }
}
