/**
 * The `feeds:` section of callscreen.yaml: spam lists the daemon (and `callscreen feeds update`, for
 * cron) downloads on a schedule and imports as reputation sources, with the same format options as
 * `callscreen import`. Read at start (a change needs a restart). Imported by schema.ts.
 *
 * The field names `map` may name are FEED_MAP_FIELDS; src/reputation/subscriptions/feed-entries.ts
 * checks at compile time that they are exactly the fields the feed reader knows.
 */
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';

/** what `map: ["COLUMN=FIELD"]` may map a column to (the feed reader's fields) */
export const FEED_MAP_FIELDS = ['number', 'score', 'reports', 'category', 'firstSeen', 'lastSeen', 'name'] as const;
/** the sources written one by one (manual entries, agents' feedback): a feed cannot take their names */
const LIVE_SOURCE_NAMES = new Set(['manual', 'feedback']);

const sourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a source name: lower case letters, digits, - and _, at most 32 characters')
  .refine(
    (name) => !LIVE_SOURCE_NAMES.has(name),
    'manual and feedback are live sources, not feeds: choose another name',
  );

/** an HTTP header name (RFC 9110 token) */
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name');
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

const feedUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return ['https:', 'http:', 'file:'].includes(url.protocol) && (url.protocol === 'file:' || url.hostname !== '');
  } catch {
    return false;
  }
}, 'an https:// URL or a file: URL (file:///var/lib/callscreen/list.csv)');

const columnOption = (what: string) =>
  z
    .string()
    .regex(/^[^=]+=.*$/, `COLUMN=${what}: a header name or a column number, "=", then the ${what.toLowerCase()}`);

export const feedSchema = z
  .object({
    name: sourceName.describe('the reputation source the feed is imported as (its earlier imports are replaced)'),
    url: feedUrl.describe(
      'where the list is: https://... or file:///... (plain http:// only with allowInsecureHttp); credentials belong in headersEnv, not in the URL',
    ),
    allowInsecureHttp: z
      .boolean()
      .default(false)
      .describe('accept a plain http:// URL (anyone on the path can change the list): a local mirror or a test only'),
    headersEnv: z
      .record(headerName, envVarName)
      .default({})
      .describe(
        'request headers whose values come from the environment, e.g. Authorization: FEED_TOKEN (the value is never logged)',
      ),
    intervalMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60)
      .default(24 * 60)
      .describe(
        'the daemon fetches the feed this often (a failed fetch is retried sooner, never more than every 5 minutes)',
      ),
    format: z
      .enum(['csv', 'json', 'lines'])
      .optional()
      .describe('csv, json or lines (as `callscreen import --format`); detected from the first line when absent'),
    region: z
      .string()
      .refine(
        (r) => isSupportedCountry(r.toUpperCase()),
        'not a region libphonenumber knows (ISO 3166 alpha-2, e.g. CH)',
      )
      .optional()
      .describe('region of numbers without a country code (as --region); default numbers.defaultRegion'),
    map: z
      .array(
        columnOption('FIELD').refine(
          (text) => {
            const field = text
              .slice(text.indexOf('=') + 1)
              .trim()
              .toLowerCase();
            return FEED_MAP_FIELDS.some((f) => f.toLowerCase() === field);
          },
          `COLUMN=FIELD with FIELD one of ${FEED_MAP_FIELDS.join(', ')}`,
        ),
      )
      .default([])
      .describe('as --map: read FIELD from COLUMN, e.g. ["1=number", "3=category"]'),
    skip: z
      .array(columnOption('VALUE'))
      .default([])
      .describe('as --skip: leave out rows whose COLUMN is VALUE, e.g. ["likely_admin=yes"]'),
    score: z.number().min(0).max(1).optional().describe('as --score: score of numbers the list gives none (default 1)'),
    complaints: z
      .boolean()
      .default(false)
      .describe('as --complaints: one row per complaint (automatic for the FTC layout)'),
    maxAgeDays: z
      .number()
      .min(1)
      .max(3650)
      .optional()
      .describe('as --max-age-days; default screening.signals.reputation.maxAgeDays'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(256 * 1024 * 1024)
      .describe('a download larger than this (after gzip) is aborted and the old list stays'),
    timeoutSeconds: z
      .number()
      .int()
      .min(5)
      .max(3600)
      .default(600)
      .describe('a download that has not finished after this long is aborted (a silent server: after a tenth of it)'),
    shrinkGuard: z
      .object({
        minRatio: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe(
            'a download with fewer numbers than this share of the live list is refused and logged, the old list stays (0: off); `callscreen feeds update NAME --allow-shrink` takes it all the same',
          ),
      })
      .strict()
      .prefault({})
      .describe('refuse a list that shrank a lot (a truncated or broken download)'),
  })
  .strict()
  .superRefine((feed, ctx) => {
    let protocol: string;
    try {
      protocol = new URL(feed.url).protocol;
    } catch {
      return; // not a URL: said by url's own check
    }
    if (protocol === 'http:' && !feed.allowInsecureHttp)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'plain http:// can be changed on the way: use https:// (or set allowInsecureHttp: true)',
      });
    if (protocol !== 'file:' && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(feed.url))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'credentials in the URL would be logged and shown: put them in headersEnv',
      });
  });

export const feedsSchema = z
  .array(feedSchema)
  .default([])
  .superRefine((feeds, ctx) => {
    const seen = new Set<string>();
    feeds.forEach((feed, i) => {
      if (seen.has(feed.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a second feed named ${feed.name}` });
      seen.add(feed.name);
    });
  })
  .describe(
    'spam lists downloaded on a schedule and imported as reputation sources (docs/reputation.md#feed-subscriptions)',
  );

export type FeedSettings = z.output<typeof feedSchema>;
