/**
 * The schema of config/callscreen.yaml. The TypeScript type of the configuration is derived from it,
 * so the file, the validation and the code cannot drift apart. Unknown keys are errors (a typo must not
 * silently fall back to a default).
 */
import { WEBHOOK_EVENTS } from '../notifications/webhook-event';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import type {
  Attestation,
  DialplanTarget,
  PolicySettings,
  ScreeningDefaults,
  ScreeningSource,
  SignalSettings,
  Thresholds,
} from '../domain/screening-settings';
import type { WeeklyWindow } from '../domain/time-window';
import { ariUrl, nodePortInRange, redisUrl } from './connection-urls';
import {
  checkLookupBudget,
  DEFAULT_LOOKUP_BUDGET_MS,
  LOOKUP_DEADLINE_MARGIN_MS,
  lookupsSchema,
} from './lookups-schema';
import { feedsSchema } from './feeds-schema';

const verdict = z.enum(['allow', 'challenge', 'voicemail', 'reject']);
const withoutRecordVerdict = z.enum(['challenge', 'voicemail', 'reject']);
const port = z.number().int().min(1).max(65535);
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const dialplanTarget = z
  .object({
    context: z.string().min(1).describe('dialplan context the call continues in'),
    extension: z.string().min(1).optional().describe('extension to continue at; default: the DID the call came in on'),
    priority: z.number().int().min(1).default(1).describe('priority to continue at'),
  })
  .strict();

/** Points a signal adds to the score (negative points lower it). */
const points = z.number().min(-1000).max(1000);
const days = z.number().min(0).max(3650);

/** the longest DID-spread window: the number's calls are kept at least this long for it */
const DID_SPREAD_MAX_WINDOW_SECONDS = 3600;

const velocityWindow = z
  .object({
    windowSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .describe('length of the sliding window'),
    calls: z
      .number()
      .int()
      .min(2)
      .describe('this many calls or more in the window (the call being screened included) ...'),
    points: points.describe('... add these points'),
  })
  .strict();

const attestation = z.enum(['A', 'B', 'C', 'none', 'failed']);

/** host:port of a Redis node or sentinel (IPv6 in brackets) */
const redisHostPort = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, 'host:port, e.g. 10.0.0.5:26379')
  .refine(nodePortInRange, 'the port must be a whole number 1..65535');
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
/** the data nodes' credentials, the same in the sentinel and the cluster form */
const redisAuth = {
  username: z.string().min(1).optional().describe('ACL user of the data nodes'),
  password: z
    .string()
    .min(1)
    .optional()
    .describe('password of the data nodes (better: passwordEnv; with neither, CALLSCREEN_REDIS_PASSWORD is used)'),
  passwordEnv: envVarName
    .optional()
    .describe('name of the environment variable holding the password (keeps the secret out of the file)'),
};
function oneSecretSource(
  v: { password?: string | undefined; passwordEnv?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (v.password !== undefined && v.passwordEnv !== undefined)
    ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'give password or passwordEnv, not both' });
}

/** Number types libphonenumber can tell apart (what kind of line the caller uses). */
const numberTypes = z
  .object({
    PREMIUM_RATE: points,
    SHARED_COST: points,
    TOLL_FREE: points,
    VOIP: points,
    PERSONAL_NUMBER: points,
    PAGER: points,
    UAN: points,
    VOICEMAIL: points,
    FIXED_LINE: points,
    MOBILE: points,
    FIXED_LINE_OR_MOBILE: points,
  })
  .partial()
  .strict();

export const signalsSchema = z
  .object({
    reputation: z
      .object({
        weight: points.default(70).describe('points for a combined score of 1'),
        halfLifeDays: days
          .min(0.1)
          .default(30)
          .describe('an entry weighs half every this many days since its last report'),
        maxAgeDays: days
          .min(1)
          .default(180)
          .describe('entries last reported longer ago are ignored (and left out by `callscreen import`)'),
        sources: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a source name: lower case letters, digits, - and _'),
            z
              .object({ weight: z.number().min(0).max(2).describe("multiplies the source's scores (0 ignores it)") })
              .strict(),
          )
          .default({})
          .describe('per source name: weight 0..2 multiplies its score (0 ignores the source)'),
      })
      .strict()
      .prefault({})
      .describe(
        "the reputation list: each source's score x 0.5^(days since its last report / halfLifeDays) x the " +
          "source's weight, combined over sources as 1 - prod(1 - s); points = weight x that",
      ),
    feedback: z
      .object({
        okPoints: points.default(-60).describe("points when the agents' last verdict on the number is ok"),
        spamPoints: points.default(40).describe('points when it is spam (fading like a feed entry)'),
      })
      .strict()
      .prefault({})
      .describe(
        "agents' verdicts (`callscreen report`, the HTTP endpoint): the last one counts; ok overrules the feeds",
      ),
    withheld: z
      .object({ points: points.default(30).describe('points it adds') })
      .strict()
      .prefault({})
      .describe('caller ID empty, anonymous, restricted, unavailable, ...'),
    unparseable: z
      .object({ points: points.default(40).describe('points it adds') })
      .strict()
      .prefault({})
      .describe('a caller ID that is not a phone number (letters, 40 digits, emoji)'),
    invalidNumber: z
      .object({ points: points.default(30).describe('points it adds') })
      .strict()
      .prefault({})
      .describe('a number of a possible length that does not exist in its numbering plan'),
    impossibleNumber: z
      .object({ points: points.default(45).describe('points it adds') })
      .strict()
      .prefault({})
      .describe('a number of a length no number in its country has'),
    numberType: numberTypes
      .default({
        PREMIUM_RATE: 50,
        SHARED_COST: 20,
        TOLL_FREE: 15,
        PAGER: 20,
        VOICEMAIL: 20,
        VOIP: 5,
        PERSONAL_NUMBER: 5,
      })
      .describe(
        'points per kind of line (libphonenumber): PREMIUM_RATE, SHARED_COST, TOLL_FREE, VOIP, PERSONAL_NUMBER, ' +
          'PAGER, UAN, VOICEMAIL, FIXED_LINE, MOBILE, FIXED_LINE_OR_MOBILE; a map given here replaces the default ' +
          'whole, and a type it does not name adds nothing',
      ),
    foreignCountry: z
      .object({ points: points.default(15).describe('points it adds') })
      .strict()
      .prefault({})
      .describe(
        "the caller's country is not among the DID's expected countries (a policy's expectedCountries, " +
          "screening.expectedCountries, else the DID's own country)",
      ),
    knownCustomer: z
      .object({
        points: points.default(-40).describe('points it adds (negative: trust)'),
        days: z
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(90)
          .describe('a number the PBX called (an answered outbound call) is known this long after the last such call'),
      })
      .strict()
      .prefault({})
      .describe(
        'a number the business called (knownCustomers.outboundCalls): trusted points, and the neighbour, ' +
          'block and velocity signals do not apply to it',
      ),
    identityMismatch: z
      .object({ points: points.default(10).describe('points it adds') })
      .strict()
      .prefault({})
      .describe(
        'the number in the From header is not the caller the carrier asserts in P-Asserted-Identity (the number ' +
          'screened, with trust_id_inbound); both compared as E.164; read by the dialplan from PJSIP calls',
      ),
    attestation: z
      .object({
        A: points.default(-15).describe('full: the carrier knows the caller and the number'),
        B: points.default(0).describe('partial: the carrier knows the caller, not the number'),
        C: points.default(10).describe('gateway: the carrier only passed the call on'),
        none: points.default(5).describe('no STIR/SHAKEN identity on the call'),
        failed: points.default(40).describe('the identity did not pass verification'),
      })
      .strict()
      .prefault({})
      .describe('STIR/SHAKEN attestation handed over by the dialplan (no value: no points)'),
    velocity: z
      .object({
        number: z
          .array(velocityWindow)
          .default([
            { windowSeconds: 60, calls: 3, points: 30 },
            { windowSeconds: 3600, calls: 10, points: 25 },
          ])
          .describe('calls from the same number; each scope counts its highest window that is reached'),
        blockDigits: z
          .number()
          .int()
          .min(0)
          .max(8)
          .default(4)
          .describe("the number block: the caller's number without its last blockDigits digits"),
        block: z
          .array(velocityWindow)
          .default([{ windowSeconds: 60, calls: 15, points: 25 }])
          .describe('calls from the number block (robocall bursts from random numbers)'),
      })
      .strict()
      .prefault({})
      .describe('calls in sliding windows'),
    neighbourSpoofing: z
      .object({
        differingDigits: z
          .number()
          .int()
          .min(1)
          .max(8)
          .default(4)
          .describe('how many last digits caller and DID may differ in'),
        points: points
          .default(30)
          .describe(
            'points it adds: the challenge threshold, so only attestation A (the carrier vouches for the number) lets it through',
          ),
      })
      .strict()
      .prefault({})
      .describe('caller and DID share all but their last differingDigits digits, and the caller is not known'),
    captcha: z
      .object({
        trustDays: days.default(30).describe('passed the CAPTCHA within trustDays: trusted'),
        passedPoints: points.default(-60).describe('points for a pass within trustDays'),
        failedDays: days.default(7).describe('failures within failedDays count'),
        failedPoints: points.default(25).describe('points per failure since the last pass ...'),
        maxFailures: z.number().int().min(1).max(100).default(3).describe('... up to this many failures'),
      })
      .strict()
      .prefault({})
      .describe("the number's CAPTCHA history"),
    repeatCaller: z
      .object({
        withinMinutes: z
          .number()
          .min(0)
          .max(1440)
          .default(15)
          .describe('a call to the same DID within this many minutes of the last'),
        points: points.default(-40).describe('points it adds'),
      })
      .strict()
      .prefault({})
      .describe(
        'a call to the same DID within withinMinutes of an earlier one that reached a person (went on to the ' +
          'agents, or passed the CAPTCHA), while the number is not calling in a burst (velocity.number, ' +
          'didSpread): a crisis line must not keep a caller out, a redialling robot gets nothing',
      ),
    didSpread: z
      .object({
        windowSeconds: z
          .number()
          .int()
          .min(0)
          .max(DID_SPREAD_MAX_WINDOW_SECONDS)
          .default(600)
          .describe('distinct DIDs called within this many seconds (this call included); 0 turns it off'),
        dids: z.number().int().min(2).max(1000).default(3).describe('this many distinct DIDs or more ...'),
        points: points.default(30).describe('... add these points'),
      })
      .strict()
      .prefault({})
      .describe("one number calling several of the company's DIDs in a short window: a robot walking a number range"),
    blockReputation: z
      .object({
        blockDigits: z
          .number()
          .int()
          .min(0)
          .max(6)
          .default(3)
          .describe(
            'the number block: the number without its last blockDigits digits (3: the 1000-block); `callscreen ' +
              'import` counts listed numbers per block of this size; 0 turns the signal off',
          ),
        weight: points
          .default(60)
          .describe(
            'points for a block with many listed numbers of score 1 (one listed neighbour of score 1: 45, the challenge threshold even with attestation A)',
          ),
        halfAtNumbers: z
          .number()
          .min(0.1)
          .max(1000)
          .default(0.7)
          .describe(
            'listed numbers in the block that give half the weight: at 0.7 one listed neighbour gives ~75 %, two ~96 %; ' +
              'at 3 (for a list of millions of numbers, where many blocks hold one by chance) one gives ~4 %, 6 ~90 %',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        'a caller not listed itself whose number block holds listed numbers: weight x their mean score x ' +
          'n^3 / (n^3 + halfAtNumbers^3) for n listed numbers (the source giving the most); nothing for a ' +
          "caller with a reputation of its own, agents' ok, or a recent CAPTCHA pass",
      ),
  })
  .strict();

/** Score at or above each threshold gives that verdict; below challenge: allow. */
export const thresholdsSchema = z
  .object({
    challenge: points.default(30).describe('from this score a call is challenged (CAPTCHA)'),
    voicemail: points.default(60).describe('from this score a call goes to voicemail'),
    reject: points.default(90).describe('from this score a call is rejected'),
  })
  .strict()
  .refine((t) => t.challenge <= t.voicemail && t.voicemail <= t.reject, {
    message: 'thresholds must rise: challenge <= voicemail <= reject',
  });

const clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/, 'a time of day as HH:MM (00:00 to 24:00)');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const timeWindowSchema = z
  .object({
    days: z
      .array(weekday)
      .min(1)
      .default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])
      .describe('days the window starts on'),
    from: clock.describe('start, HH:MM'),
    to: clock.describe('end, HH:MM; from 18:00 to 08:00 runs past midnight into the next day'),
  })
  .strict();

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone (e.g. Europe/Zurich, America/New_York)' },
);

/** A deep-partial signals block: a policy overrides single values. */
const signalOverrides = z
  .object({
    reputation: z
      .object({ weight: points, halfLifeDays: days.min(0.1), maxAgeDays: days.min(1) })
      .partial()
      .strict(),
    feedback: z.object({ okPoints: points, spamPoints: points }).partial().strict(),
    withheld: z.object({ points }).partial().strict(),
    unparseable: z.object({ points }).partial().strict(),
    invalidNumber: z.object({ points }).partial().strict(),
    impossibleNumber: z.object({ points }).partial().strict(),
    numberType: numberTypes,
    foreignCountry: z.object({ points }).partial().strict(),
    identityMismatch: z.object({ points }).partial().strict(),
    knownCustomer: z.object({ points }).partial().strict(),
    attestation: z.object({ A: points, B: points, C: points, none: points, failed: points }).partial().strict(),
    velocity: z
      .object({
        number: z.array(velocityWindow),
        blockDigits: z.number().int().min(0).max(8),
        block: z.array(velocityWindow),
      })
      .partial()
      .strict(),
    neighbourSpoofing: z
      .object({ differingDigits: z.number().int().min(1).max(8), points })
      .partial()
      .strict(),
    captcha: z
      .object({
        trustDays: days,
        passedPoints: points,
        failedDays: days,
        failedPoints: points,
        maxFailures: z.number().int().min(1).max(100),
      })
      .partial()
      .strict(),
    repeatCaller: z
      .object({ withinMinutes: z.number().min(0).max(1440), points })
      .partial()
      .strict(),
    didSpread: z
      .object({
        windowSeconds: z.number().int().min(0).max(DID_SPREAD_MAX_WINDOW_SECONDS),
        dids: z.number().int().min(2).max(1000),
        points,
      })
      .partial()
      .strict(),
    blockReputation: z
      .object({ weight: points, halfAtNumbers: z.number().min(0.1).max(1000) })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

const rejectSchema = z
  .object({
    treatment: z
      .enum(['hangup', 'announcement'])
      .default('hangup')
      .describe('hangup: hang up with a cause; announcement: answer, play the announcement, hang up'),
    hangupReason: z
      .enum(['rejected', 'busy', 'unallocated', 'congestion', 'normal'])
      .default('rejected')
      .describe('ARI hangup reason: rejected (cause 21), busy (17), unallocated (1), congestion (34), normal (16)'),
    announcement: z
      .array(z.string().regex(/^(sound|tone|digits|number):/, 'an ARI media URI: sound:..., tone:..., digits:...'))
      .min(1)
      .default(['tone:info', 'sound:ss-noservice'])
      .describe('played in order by the announcement treatment (ARI media URIs; a tone is cut after 1.2 s)'),
  })
  .strict();

const mediaList = z
  .array(z.string().regex(/^(sound|tone|digits|number):/, 'an ARI media URI: sound:..., tone:..., digits:...'))
  .min(1);

const captchaSchema = z
  .object({
    codeLength: z.number().int().min(1).max(8).default(2).describe('how many digits the caller must press'),
    attempts: z.number().int().min(1).max(5).default(3).describe('tries before the caller fails'),
    digitTimeoutMs: ms(1000, 30_000)
      .default(5000)
      .describe('how long to wait for the first digit after the code was said, and between digits'),
    maxDurationMs: ms(10_000, 600_000)
      .default(60_000)
      .describe('watchdog: no call stays in the IVR (or in Stasis) longer than this; then it goes to the agents'),
    failVerdict: z
      .enum(['voicemail', 'reject'])
      .default('voicemail')
      .describe('where a caller who failed (wrong digits or silence) goes'),
    language: z
      .string()
      .regex(/^[a-z]{2}(_[A-Za-z]{2,})?$/, 'a sound language such as en, fr, en_GB')
      .default('en')
      .describe("channel language for the prompts (Asterisk's core sounds: en, fr, es, ...)"),
    prompts: z
      .object({
        greeting: mediaList
          .default(['sound:silence/1', 'sound:hello'])
          .describe('played once when the call is answered'),
        enterCode: mediaList
          .default(['sound:vm-press'])
          .describe('before the code ("Press ..."; the code is said digit by digit right after it, as digits:<code>)'),
        wrong: mediaList.default(['sound:please-try-again']).describe('after a wrong code, before the next try'),
        passed: mediaList.default(['sound:auth-thankyou']).describe('after the right code, before the call continues'),
        failed: mediaList.default(['sound:goodbye']).describe('after the last failed try'),
      })
      .strict()
      .prefault({})
      .describe('ARI media lists (sound:, tone:, digits:) the IVR plays'),
  })
  .strict();

const policySchema = z
  .object({
    name: z.string().min(1).describe('shown in the decision and the log'),
    dids: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('DIDs (numbers, or names of didGroups) the policy applies to; omitted: every DID'),
    when: z
      .array(timeWindowSchema)
      .min(1)
      .optional()
      .describe('weekly time windows the policy applies in (any of them); omitted: always'),
    timeZone: timeZone.optional().describe('time zone of `when`; default screening.timeZone'),
    shadow: z
      .boolean()
      .optional()
      .describe('decide and log, but always let the call through (for a rollout); the log carries shadowVerdict'),
    maxVerdict: verdict
      .optional()
      .describe('the harshest verdict this policy allows, e.g. challenge on a crisis line (never voicemail or reject)'),
    verdicts: z
      .object({ allow: verdict, challenge: verdict, voicemail: verdict, reject: verdict })
      .partial()
      .strict()
      .optional()
      .describe('turn one verdict into another, e.g. { challenge: voicemail } after hours'),
    denyVerdict: verdict.optional().describe('overrides screening.denyVerdict'),
    withoutRecord: withoutRecordVerdict.optional().describe('overrides screening.withoutRecord'),
    thresholds: z
      .object({ challenge: points, voicemail: points, reject: points })
      .partial()
      .strict()
      .optional()
      .describe('overrides single values of screening.thresholds'),
    signals: signalOverrides
      .optional()
      .describe('overrides single values of screening.signals, e.g. repeatCaller: { withinMinutes: 30, points: -100 }'),
    expectedCountries: z
      .array(z.string().refine((r) => isSupportedCountry(r), { message: 'not a region libphonenumber knows' }))
      .min(1)
      .optional()
      .describe('ISO 3166 regions callers of these DIDs are expected from'),
    captcha: z
      .object({
        codeLength: z.number().int().min(1).max(8),
        attempts: z.number().int().min(1).max(5),
        digitTimeoutMs: ms(1000, 30_000),
        failVerdict: z.enum(['voicemail', 'reject']),
        language: z.string().regex(/^[a-z]{2}(_[A-Za-z]{2,})?$/, 'a sound language such as en, fr, en_GB'),
        prompts: z
          .object({ greeting: mediaList, enterCode: mediaList, wrong: mediaList, passed: mediaList, failed: mediaList })
          .partial()
          .strict(),
      })
      .partial()
      .strict()
      .optional()
      .describe('CAPTCHA settings for these DIDs (language, prompts, length ...); the rest from `captcha`'),
    voicemail: dialplanTarget.optional().describe('voicemail target for these DIDs (replaces routing.voicemail)'),
  })
  .strict();

const screeningSchema = z
  .object({
    deadlineMs: ms(10, 5000)
      .default(200)
      .describe(
        `hard budget for one decision; past it the call is decided on local facts and marked degraded. With a lookup provider and no deadline written: lookups.budgetMs + ${LOOKUP_DEADLINE_MARGIN_MS}`,
      ),
    timeZone: timeZone
      .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
      .meta({
        description: "IANA time zone of the policies' time windows (Europe/Zurich, America/New_York)",
        // the default is the machine's zone: the generated reference must not print the zone of the machine it ran on
        defaultText: "the machine's",
      }),
    thresholds: thresholdsSchema
      .prefault({})
      .describe('score at or above each threshold gives that verdict; below challenge: allow'),
    denyVerdict: verdict.default('voicemail').describe('what a deny-listed caller gets'),
    withoutRecord: withoutRecordVerdict
      .default('challenge')
      .describe(
        'the harshest verdict of a caller with less than the challenge threshold on record (reputation, agents, its calls, CAPTCHA history, name rules): how the call looks, the listed numbers of its block and the online lookups alone take it no further. reject: the score alone decides',
      ),
    expectedCountries: z
      .array(z.string().refine((r) => isSupportedCountry(r), { message: 'not a region libphonenumber knows' }))
      .min(1)
      .optional()
      .describe(
        "ISO 3166 regions callers are expected from; default: the DID's own country (numbers.defaultRegion for " +
          'a DID that is not a number)',
      ),
    signals: signalsSchema.prefault({}).describe('points per signal; a policy can change any of them'),
  })
  .strict()
  .prefault({});

/** An ISO 3166 region libphonenumber knows (numbers.defaultRegion, numbers.endpointRegions). */
const regionCode = z.string().refine((r): r is CountryCode => isSupportedCountry(r), {
  message: 'not a region libphonenumber knows (use ISO 3166 alpha-2, e.g. DE, US)',
});

/** The file's sections as written; `configSchema` also fills the defaults that depend on another section. */
export const configSections = z
  .object({
    ari: z
      .object({
        url: ariUrl.default('http://127.0.0.1:8088').describe("Asterisk's HTTP server: http:// or https://"),
        username: z.string().min(1).default('callscreen').describe('ARI user from ari.conf'),
        password: z.string().default('').describe('ARI password (keep it in the environment, not in the file)'),
        app: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
          .default('callscreen')
          .describe(
            'Stasis application name; must match Stasis(callscreen,...) in the dialplan (another name: set the ' +
              'channel variable or global CALLSCREEN_APP)',
          ),
        adapter: z
          .enum(['native', 'ari-client'])
          .default('native')
          .describe('which AriPort adapter: native (node:http + ws) or ari-client'),
        requestTimeoutMs: ms(100, 60_000).default(2000).describe('every ARI request gives up after this'),
      })
      .strict()
      .prefault({})
      .describe("the connection to Asterisk's REST interface (ARI), where the calls come from"),
    ami: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('keep an AMI connection, for the Asterisk health check and the blacklist sync'),
        host: z.string().min(1).default('127.0.0.1').describe("Asterisk's manager interface host"),
        port: port.default(5038).describe('its port'),
        username: z.string().min(1).default('callscreen').describe('AMI user from manager.conf'),
        password: z.string().default('').describe('AMI password (keep it in the environment, not in the file)'),
        actionTimeoutMs: ms(100, 60_000).default(5000).describe('every AMI action gives up after this'),
        blacklistSync: z
          .object({
            enabled: z.boolean().default(false).describe('run the sync (needs ami.enabled)'),
            family: z
              .string()
              .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
              .default('blacklist')
              .describe("AstDB family written; blacklist is the one FreePBX's Blacklist module reads"),
            maxEntries: z
              .number()
              .int()
              .min(1)
              .max(1_000_000)
              .default(10_000)
              .describe(
                'never write more entries than this (AstDB is not built for millions; each number takes two: ' +
                  'E.164 and national)',
              ),
            minReputationScore: z
              .number()
              .min(0)
              .max(1)
              .default(0.9)
              .describe(
                'reputation entries scoring at least this (faded like the signal) are copied; deny rules always are',
              ),
            intervalSeconds: z
              .number()
              .int()
              .min(10)
              .max(86_400)
              .default(300)
              .describe('a sync runs this often, besides at start, after a rules reload and after an Asterisk reload'),
          })
          .strict()
          .prefault({})
          .describe(
            "copy deny rules (exact numbers) and high-confidence reputation numbers into Asterisk's AstDB family " +
              "that FreePBX's Blacklist module reads, so blocking survives while the daemon is down",
          ),
      })
      .strict()
      .prefault({})
      .describe("Asterisk's manager interface (AMI), for the Asterisk health check and the blacklist sync"),
    redis: z
      .object({
        url: redisUrl
          .optional()
          .describe(
            'one Redis: redis://[user:password@]host:port[/db] (rediss:// for TLS; db 0..15, the 16 databases a ' +
              'Redis server has by default); redis://127.0.0.1:6379 when no form is given',
          ),
        sentinel: z
          .object({
            name: z
              .string()
              .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ and - only')
              .describe("the master's name in the sentinels' configuration (sentinel monitor <name> ...)"),
            nodes: z
              .array(redisHostPort)
              .min(1, 'name at least one sentinel (three or more in production)')
              .describe('some of the sentinels as host:port (they tell the client about the others)'),
            ...redisAuth,
            sentinelUsername: z
              .string()
              .min(1)
              .optional()
              .describe("the sentinels' own ACL user (sentinel.conf), if they have one"),
            sentinelPassword: z
              .string()
              .min(1)
              .optional()
              .describe("the sentinels' own password (requirepass in sentinel.conf), if they have one"),
            sentinelPasswordEnv: envVarName
              .optional()
              .describe("name of the environment variable holding the sentinels' password"),
            db: z.number().int().min(0).max(15).default(0).describe('database number'),
            tls: z.boolean().default(false).describe('TLS to the sentinels and the data nodes (system CAs)'),
          })
          .strict()
          .superRefine(oneSecretSource)
          .refine((s) => s.sentinelPassword === undefined || s.sentinelPasswordEnv === undefined, {
            message: 'give sentinelPassword or sentinelPasswordEnv, not both',
            path: ['sentinelPasswordEnv'],
          })
          .optional()
          .describe(
            'a master watched by Redis Sentinel: the client asks the sentinels where it is and follows failovers',
          ),
        cluster: z
          .object({
            nodes: z
              .array(
                z
                  .string()
                  .regex(
                    /^(rediss?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}\/?$/,
                    'host:port or redis://host:port',
                  )
                  .refine(nodePortInRange, 'the port must be a whole number 1..65535'),
              )
              .min(1, 'name at least one cluster node')
              .describe('any few nodes (host:port or redis://host:port); the client learns the rest'),
            ...redisAuth,
            tls: z.boolean().default(false).describe('TLS to every node (system CAs)'),
          })
          .strict()
          .superRefine(oneSecretSource)
          .optional()
          .describe('a Redis Cluster: the client learns the slots from any of these nodes'),
        keyPrefix: z.string().default('callscreen:').describe('prefix of every key callscreen uses'),
        commandTimeoutMs: ms(5, 10_000)
          .default(150)
          .describe('a lookup slower than this counts as Redis unavailable for that call'),
      })
      .strict()
      .superRefine((r, ctx) => {
        const given = (['url', 'sentinel', 'cluster'] as const).filter((k) => r[k] !== undefined);
        if (given.length > 1)
          ctx.addIssue({
            code: 'custom',
            path: [given[1]!],
            message: `give one of url, sentinel and cluster, not ${given.join(' and ')}`,
          });
      })
      .transform((r) =>
        r.sentinel === undefined && r.cluster === undefined && r.url === undefined
          ? { ...r, url: 'redis://127.0.0.1:6379' }
          : r,
      )
      .prefault({})
      .describe(
        'the Redis shared by every daemon: exactly one of url, sentinel, cluster (url redis://127.0.0.1:6379 ' +
          'when none is given)',
      ),
    numbers: z
      .object({
        defaultRegion: regionCode
          .default('US')
          .describe('ISO 3166 region for numbers written without a country code, e.g. DE, CH, US, GB'),
        endpointRegions: z
          .record(z.string().min(1), regionCode)
          .default({})
          .describe(
            'region per PJSIP endpoint (the trunk a call comes in on, e.g. {ch-trunk: CH}): the caller and the DID ' +
              "of its calls are read with it instead of defaultRegion; other endpoints' calls with defaultRegion",
          ),
        didGroupRegions: z
          .record(z.string().min(1), regionCode)
          .default({})
          .describe(
            'region per DID group (a name in didGroups, e.g. {zurich-lines: CH}): the caller and the DID of calls to ' +
              "its DIDs are read with it (and its DIDs may be written nationally in it); it wins over the trunk's region",
          ),
      })
      .strict()
      .prefault({})
      .describe('how numbers written without a country code are read'),
    rules: z
      .object({
        file: z.string().min(1).default('rules.yaml').describe('allow/deny list, relative to this config file'),
        managedFile: z
          .string()
          .min(1)
          .default('rules.managed.yaml')
          .describe(
            "allow list written by agents' feedback (promotion), relative to this config file; allow entries only",
          ),
        contactsFolder: z
          .string()
          .min(1)
          .default('contacts')
          .describe(
            'folder of the contacts sources (`callscreen contacts import`), relative to this config file: one allow-only rules file <source>.yaml per source, each loaded beside the rules file',
          ),
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe(
            'a rules file (each of file, managedFile and every contacts source) larger than this many bytes is refused, checked before it is read and while reading (64 MB; 1,000,000 rules are about 40 MB)',
          ),
        maxRules: z
          .number()
          .int()
          .positive()
          .default(2_000_000)
          .describe('a rules file (each on its own) with more entries than this is refused before any is compiled'),
      })
      .strict()
      .prefault({})
      .describe('the rule files (their contents reload by themselves when edited)'),
    screening: screeningSchema.describe('how a call is scored and decided'),
    didGroups: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'), z.array(z.string().min(1)).min(1))
      .default({})
      .describe('named lists of DIDs that policies refer to: hotline: ["+1 212 555 0100"]'),
    policies: z
      .array(policySchema)
      .default([])
      .describe('adjustments per DID (group) and time window; every matching policy applies, in file order'),
    routing: z
      .object({
        agents: dialplanTarget.prefault({ context: 'callscreen-agents' }).describe('dialplan target for allowed calls'),
        voicemail: dialplanTarget
          .prefault({ context: 'callscreen-voicemail' })
          .describe('dialplan target for screened calls'),
        reject: rejectSchema
          .prefault({})
          .describe('reject: hang up with a cause, or play the special information tone and a message, then hang up'),
      })
      .strict()
      .prefault({})
      .describe('where the daemon sends a call once decided'),
    captcha: captchaSchema.prefault({}).describe('the CAPTCHA IVR a challenged caller goes through'),
    tags: z
      .object({
        callerNamePrefix: z
          .string()
          .max(20)
          .default('')
          .describe(
            'prefixed to the caller name of a call that scored at or above the challenge threshold and still ' +
              'reaches the agents, e.g. "SPAM? "',
          ),
        cdrUserfield: z
          .boolean()
          .default(true)
          .describe('write "callscreen:<verdict>:<score>:<top reason>" into CDR(userfield), shown in FreePBX reports'),
      })
      .strict()
      .prefault({})
      .describe("what the call carries on into the dialplan (agents' phones, CDRs)"),
    http: z
      .object({
        enabled: z.boolean().default(false).describe('serve the HTTP endpoint'),
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('address to listen on; keep 127.0.0.1 and let a reverse proxy terminate TLS'),
        port: port.default(8089).describe('port to listen on'),
        auth: z
          .object({
            tokenEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
              .optional()
              .describe('name of an environment variable holding a bearer token (several: separated by commas)'),
            tokens: z
              .array(z.string().min(16, 'a token needs at least 16 characters'))
              .default([])
              .describe('bearer tokens written here (prefer tokenEnv: secrets belong in the environment)'),
            basic: z
              .object({
                user: z.string().min(1).describe('the user name'),
                passwordEnv: z
                  .string()
                  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
                  .describe('name of the environment variable holding the password'),
              })
              .strict()
              .optional()
              .describe('HTTP Basic (for the review console in a browser)'),
          })
          .strict()
          .prefault({})
          .describe('credentials: every route but /healthz and /readyz needs them'),
      })
      .strict()
      .prefault({})
      .describe("the daemon's HTTP server: review console, feedback API, /metrics, /healthz, /readyz"),
    feedback: z
      .object({
        promoteAfter: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(3)
          .describe(
            'a number with at least this many "ok" reports, the last one "ok", is put on the managed allow list',
          ),
        spamKey: z
          .object({
            withinMinutes: z
              .number()
              .int()
              .min(1)
              .max(1440)
              .default(30)
              .describe(
                'how long after an agent answered a screened call the spam key (Stasis argument spam-key, dialplan [callscreen-spam-key]) still marks that caller; knowing which agent answered needs ami.enabled',
              ),
            confirmation: mediaList
              .default(['sound:beep', 'sound:auth-thankyou'])
              .describe('played to the agent once the caller is marked as spam (ARI media URIs)'),
            nothingToMark: mediaList
              .default(['sound:feature-not-avail-line'])
              .describe(
                'played when there is no answered call to mark (none within withinMinutes, or it was marked already)',
              ),
          })
          .strict()
          .prefault({})
          .describe(
            "the spam key on the agent's phone: a feature code (e.g. *77) sent to [callscreen-spam-key] marks the last screened caller the agent answered as spam, like a report on the review page",
          ),
      })
      .strict()
      .prefault({})
      .describe("agents' verdicts: promotion to the managed allow list (rules.managedFile), the spam key"),
    notifications: z
      .object({
        webhooks: z
          .array(
            z
              .object({
                url: z
                  .string()
                  .refine((text) => {
                    try {
                      return ['http:', 'https:'].includes(new URL(text).protocol);
                    } catch {
                      return false;
                    }
                  }, 'must be an http:// or https:// URL')
                  .describe('where the JSON events are POSTed'),
                secretEnv: z
                  .string()
                  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
                  .optional()
                  .describe(
                    'environment variable holding the HMAC-SHA256 key the X-Callscreen-Signature header is made with (unsigned without it)',
                  ),
                events: z
                  .array(z.enum(WEBHOOK_EVENTS))
                  .min(1)
                  .optional()
                  .describe(`the events this hook wants (default all): ${WEBHOOK_EVENTS.join(', ')}`),
              })
              .strict(),
          )
          .default([])
          .describe('webhooks: JSON, HMAC-signed, retried with backoff, never on the call path'),
        spamSurge: z
          .object({
            calls: z.number().int().min(2).max(100_000).default(20).describe('calls kept from the agents as spam...'),
            windowMinutes: z
              .number()
              .int()
              .min(1)
              .max(1440)
              .default(10)
              .describe('...to one DID within this many minutes'),
          })
          .strict()
          .prefault({})
          .describe('when a spam-surge event is sent (once per DID and window)'),
        downAfterSeconds: z
          .number()
          .int()
          .min(1)
          .max(86_400)
          .default(60)
          .describe('Redis or ARI unreachable this long: redis-down / ari-down (recovered when back)'),
        retry: z
          .object({
            attempts: z.number().int().min(1).max(20).default(5).describe('tries per delivery'),
            firstDelayMs: z
              .number()
              .int()
              .min(10)
              .default(1000)
              .describe('wait before the second try; doubles each time'),
            maxDelayMs: z.number().int().min(10).default(60_000).describe('longest wait between tries'),
            timeoutMs: z.number().int().min(100).max(60_000).default(5000).describe('one try gives up after this'),
          })
          .strict()
          .prefault({})
          .describe('retries for a network error, a timeout, 429 or 5xx'),
      })
      .strict()
      .prefault({})
      .describe('events an admin wants to hear about, sent to webhooks (needs a restart to change)'),
    knownCustomers: z
      .object({
        outboundCalls: z
          .object({
            enabled: z
              .boolean()
              .default(true)
              .describe('remember the numbers the PBX calls out to (needs ami.enabled); off the call path'),
            trunks: z
              .array(z.string().min(1))
              .default([])
              .describe(
                'only calls dialled through these endpoints (the name in PJSIP/<name>-..., e.g. pstn-trunk) count; ' +
                  'empty: any dialled call to a valid phone number',
              ),
          })
          .strict()
          .prefault({})
          .describe(
            'an answered outbound call makes its number a known customer for screening.signals.knownCustomer.days',
          ),
      })
      .strict()
      .prefault({})
      .describe('who the business already deals with: numbers it called'),
    callLog: z
      .object({
        stream: z
          .string()
          .min(1)
          .default('calls')
          .describe('Redis stream (after keyPrefix) holding one entry per screened call'),
        maxLength: z
          .number()
          .int()
          .min(100)
          .default(100_000)
          .describe('approximate cap on entries kept (XADD MAXLEN ~)'),
        maxAgeDays: z
          .number()
          .min(1)
          .max(3650)
          .default(30)
          .describe('data protection: no entry older than this many days is kept (trimmed every minute by the daemon)'),
        bufferRecords: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(10_000)
          .describe(
            'records kept in memory while Redis cannot be written (written when it is back, in order); past these they go to spillFile',
          ),
        spillFile: z
          .string()
          .min(1)
          .default('call-log-spill.jsonl')
          .describe(
            'records past bufferRecords, and those still waiting at shutdown (JSON lines; written first at the next start, then removed); relative to this config file',
          ),
      })
      .strict()
      .prefault({})
      .describe('the screened-call log, a Redis stream read by `callscreen log` and the review console'),
    lookups: lookupsSchema,
    feeds: feedsSchema,
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('lowest level written'),
      })
      .strict()
      .prefault({})
      .describe("the daemon's own log (pino: one JSON line per event on stdout)"),
  })
  .strict()
  .superRefine(checkLookupBudget);

/** callscreen.yaml: its sections, with the decision deadline made room for the lookups when not written. */
export const configSchema = z.preprocess(withLookupDeadline, configSections);

/**
 * screening.deadlineMs not written and a lookup provider configured: the deadline is lookups.budgetMs
 * (written or its default) + LOOKUP_DEADLINE_MARGIN_MS, since a call is decided by its deadline, lookups
 * or not. A deadline written in the file is kept (and must then exceed the budget). Anything that is not
 * the shape expected is left for the schema to name.
 */
function withLookupDeadline(raw: unknown): unknown {
  if (!isRecord(raw) || !isRecord(raw.lookups) || !Array.isArray(raw.lookups.providers)) return raw;
  if (raw.lookups.providers.length === 0) return raw;
  const screening = raw.screening ?? {};
  if (!isRecord(screening) || screening.deadlineMs !== undefined) return raw;
  const budgetMs = raw.lookups.budgetMs ?? DEFAULT_LOOKUP_BUDGET_MS;
  if (typeof budgetMs !== 'number') return raw;
  return { ...raw, screening: { ...screening, deadlineMs: budgetMs + LOOKUP_DEADLINE_MARGIN_MS } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type CallscreenConfig = z.infer<typeof configSchema>;
export type CaptchaConfig = CallscreenConfig['captcha'];
export type RejectConfig = CallscreenConfig['routing']['reject'];
export const ATTESTATIONS = attestation.options;

/**
 * The core owns the types it reads (domain/screening-settings.ts); the schema must produce them. Each
 * line fails to compile, naming the field, when a schema drifts from its domain type.
 */
type Produces<Output extends DomainType, DomainType> = Output;
type _SchemaProducesDomainTypes = [
  Produces<z.output<typeof configSchema>, ScreeningSource>,
  Produces<z.output<typeof screeningSchema>, ScreeningDefaults>,
  Produces<z.output<typeof signalsSchema>, SignalSettings>,
  Produces<z.output<typeof thresholdsSchema>, Thresholds>,
  Produces<z.output<typeof policySchema>, PolicySettings>,
  Produces<z.output<typeof timeWindowSchema>, WeeklyWindow>,
  Produces<z.output<typeof dialplanTarget>, DialplanTarget>,
  Produces<z.output<typeof attestation>, Attestation>,
  // and every attestation the core scores is one the schema accepts
  Produces<Attestation, z.output<typeof attestation>>,
];
