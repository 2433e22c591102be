import type { AmiMessage } from '../ports/ami';
import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface AmiActionErrorDetails {
  /** the action as sent, e.g. "Originate" */
  action: string;
  /** Asterisk's own words: the `Message:` header of the error response ('' when it sent none) */
  responseMessage: string;
  /** the whole response, keys lower-cased as the adapter delivers them */
  response?: AmiMessage;
}

/**
 * Asterisk answered an AMI action with `Response: Error` (or refused the login), or the adapter refused
 * to send an action that would break the protocol (a CR or LF in a header).
 */
export class AmiActionError extends CallscreenError {
  readonly action: string;
  readonly responseMessage: string;
  readonly response: AmiMessage | undefined;

  constructor(details: AmiActionErrorDetails, options?: { cause?: unknown }) {
    const said = details.responseMessage ? `: ${details.responseMessage}` : '';
    super(ErrorCode.AmiAction, `AMI action ${details.action} failed${said}`, options);
    this.action = details.action;
    this.responseMessage = details.responseMessage;
    this.response = details.response;
  }
}
