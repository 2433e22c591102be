/**
 * A downloaded feed read into one import's numbers with the feed's format options, the way
 * `callscreen import` reads a file (FeedParser -> FeedAggregate; src/reputation/feeds/). Bad lines are
 * counted, and the first few kept for the log; they never stop the import.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { FEED_MAP_FIELDS } from '../../config/feeds-schema';
import { type FeedSettings } from '../../config/feeds-schema';
import { dayOf } from '../../domain/reputation-entry';
import { FeedAggregate, type AggregateCounts } from '../feeds/feed-aggregate';
import { parseColumnOption, parseMapOption, type FeedField } from '../feeds/feed-format';
import { FeedParser, readFeedFile } from '../feeds/reputation-feed';

/** The map fields the configuration accepts are exactly the feed reader's fields (fails to compile otherwise). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _mapFieldsAreFeedFields: Same<(typeof FEED_MAP_FIELDS)[number], FeedField> = true;
void _mapFieldsAreFeedFields;

/** bad lines kept for the log */
export const KEPT_PROBLEMS = 5;

export interface FeedEntryDefaults {
  /** numbers.defaultRegion */
  region: CountryCode;
  /** screening.signals.reputation.maxAgeDays */
  maxAgeDays: number;
}

export interface FeedEntries {
  aggregate: FeedAggregate;
  counts: AggregateCounts;
  /** the first KEPT_PROBLEMS bad lines, as "line N: reason" */
  problems: string[];
}

export async function readFeedEntries(
  file: string,
  feed: FeedSettings,
  defaults: FeedEntryDefaults,
  now = Date.now(),
): Promise<FeedEntries> {
  const today = dayOf(now);
  const problems: string[] = [];
  const aggregate = new FeedAggregate(
    { defaultScore: feed.score ?? 1, today, maxAgeDays: feed.maxAgeDays ?? defaults.maxAgeDays },
    (line, reason) => {
      if (problems.length < KEPT_PROBLEMS) problems.push(`line ${line}: ${reason}`);
    },
  );
  const parser = new FeedParser(
    {
      ...(feed.format ? { format: feed.format } : {}),
      region: (feed.region?.toUpperCase() as CountryCode | undefined) ?? defaults.region,
      maps: feed.map.map(parseMapOption),
      skips: feed.skip.map((s) => parseColumnOption(s, 'skip')),
      today,
      ...(feed.complaints ? { complaints: true } : {}),
    },
    aggregate,
  );
  await readFeedFile(file, parser);
  aggregate.finish(parser.plan?.complaints ?? false);
  return { aggregate, counts: aggregate.counts, problems };
}
