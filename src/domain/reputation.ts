/** What the reputation list knows about one number. */
export interface ReputationEntry {
  /** 0 (clean) .. 1 (certainly spam) */
  score: number;
  /** how many reports back it */
  reports: number;
  category?: string;
  source?: string;
  /** first and last report, epoch ms; the score fades with the age of the last report */
  firstSeenAt?: number;
  lastSeenAt?: number;
}

/** The outcome of a reputation lookup as the core sees it: found, not listed, or not available. */
export type ReputationLookup =
  | { status: 'listed'; entry: ReputationEntry }
  | { status: 'unlisted' }
  | { status: 'unavailable'; reason: string };
