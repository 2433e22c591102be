/**
 * What an admin may want to hear about, as webhooks deliver it: one JSON body per event.
 *   spam-surge       many calls to one DID kept from the agents as spam within a short window
 *   feed-failed      a feed subscription's update failed or was refused (the list in force stays)
 *   redis-down       Redis unreachable for longer than notifications.downAfterSeconds (screening degraded)
 *   ari-down         ARI unreachable that long (calls take the dialplan's fallback to the agents)
 *   recovered        Redis or ARI back after such an outage
 *   rules-rejected   an edit of a rules file or of callscreen.yaml was rejected (the last good state stays)
 */
export const WEBHOOK_EVENTS = [
  'spam-surge',
  'feed-failed',
  'redis-down',
  'ari-down',
  'recovered',
  'rules-rejected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEvent {
  type: WebhookEventType;
  /** ISO time it happened */
  at: string;
  /** one sentence for a person */
  summary: string;
  /** the event's facts (DID and counts, feed and outcome, the outage's length, the file and its problems) */
  data: Record<string, unknown>;
}
