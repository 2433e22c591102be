import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

/** Why a download failed: the server's answer, a limit, or the way there. */
export type FeedDownloadFailure = 'status' | 'too-large' | 'timeout' | 'redirects' | 'network' | 'file' | 'aborted';

export interface FeedDownloadErrorDetails {
  feed: string;
  failure: FeedDownloadFailure;
  /** what went wrong, in words (never a header value; URLs without credentials) */
  detail: string;
  /** the HTTP status, when the server answered */
  httpStatus?: number;
}

/** A feed subscription's download failed; the feed's live list stays as it was. */
export class FeedDownloadError extends CallscreenError {
  readonly feed: string;
  readonly failure: FeedDownloadFailure;
  readonly httpStatus: number | undefined;

  constructor(details: FeedDownloadErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.FeedDownload, `feed ${details.feed}: download failed: ${details.detail}`, options);
    this.feed = details.feed;
    this.failure = details.failure;
    this.httpStatus = details.httpStatus;
  }
}
