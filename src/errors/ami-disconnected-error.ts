import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AmiDisconnectedErrorDetails {
  /** why: "connection lost", "not connected (reconnecting)", "adapter closed" ... */
  reason: string;
  /** the action that was pending or could not be sent, when there was one */
  action?: string;
}

/**
 * An AMI action was pending when the connection dropped, or was sent while the adapter was not
 * connected (not started yet, reconnecting, or closed). Nothing is retried: the caller decides.
 */
export class AmiDisconnectedError extends CallscreenError {
  readonly reason: string;
  readonly action: string | undefined;

  constructor(details: AmiDisconnectedErrorDetails, options?: { cause?: unknown }) {
    const what = details.action ? `AMI action ${details.action}` : 'AMI';
    super(ErrorCode.AmiDisconnected, `${what} disconnected: ${details.reason}`, options);
    this.reason = details.reason;
    this.action = details.action;
  }
}
