import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

/** An ARI event frame was dropped; reported through the adapter's 'error', never thrown. */
export class MalformedAriFrameError extends CallscreenError {
  /** the frame as received, cut at 200 characters, for the log */
  readonly frame: string;
  readonly reason: string;

  constructor(reason: string, frame: string, options?: { cause?: unknown }) {
    super(ErrorCode.AriFrame, `dropped a malformed ARI event frame: ${reason}`, options);
    this.reason = reason;
    this.frame = frame.length > 200 ? `${frame.slice(0, 200)}...` : frame;
  }
}
