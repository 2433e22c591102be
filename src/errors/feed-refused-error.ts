import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

/** Why a downloaded feed was not imported: it shrank past the shrink guard, or held no numbers. */
export type FeedRefusal = 'shrink' | 'empty';

export interface FeedRefusedErrorDetails {
  feed: string;
  refusal: FeedRefusal;
  /** numbers the download holds, and the live list before it */
  entries: number;
  liveEntries: number | undefined;
  detail: string;
}

/** A downloaded feed was refused (the shrink guard, or nothing to import); the live list stays as it was. */
export class FeedRefusedError extends CallscreenError {
  readonly feed: string;
  readonly refusal: FeedRefusal;
  readonly entries: number;
  readonly liveEntries: number | undefined;

  constructor(details: FeedRefusedErrorDetails, options?: { cause?: unknown }) {
    super(ErrorCode.FeedRefused, `feed ${details.feed}: ${details.detail}`, options);
    this.feed = details.feed;
    this.refusal = details.refusal;
    this.entries = details.entries;
    this.liveEntries = details.liveEntries;
  }
}
