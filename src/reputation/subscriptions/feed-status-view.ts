/**
 * A configured feed with its shared status: what `callscreen feeds status --json`, `callscreen reputation
 * sources` and the review console (GET /api/v1/feeds) show. Pure: no I/O.
 */
import type { FeedSettings } from '../../config/feeds-schema';
import type { FeedStatus } from '../../ports/feed-subscriptions';
import { redactUrl } from '../../ports/log-redaction';

export interface FeedStatusView {
  name: string;
  /** the URL without credentials or secret query values */
  url: string;
  intervalMinutes: number;
  /** null: never fetched */
  status: FeedStatus | null;
}

export function feedStatusViews(
  feeds: readonly FeedSettings[],
  statuses: ReadonlyMap<string, FeedStatus>,
): FeedStatusView[] {
  return feeds.map((f) => ({
    name: f.name,
    url: redactUrl(f.url),
    intervalMinutes: f.intervalMinutes,
    status: statuses.get(f.name) ?? null,
  }));
}
