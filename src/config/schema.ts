/**
 * The schema of config/callscreen.yaml. The TypeScript type of the configuration is derived from it,
 * so the file, the validation and the code cannot drift apart. Unknown keys are errors (a typo must not
 * silently fall back to a default).
 */
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

const verdict = z.enum(['allow', 'challenge', 'voicemail', 'reject']);
const port = z.number().int().min(1).max(65535);
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const dialplanTarget = z
  .object({
    context: z.string().min(1),
    /** extension to continue at; default: the DID the call came in on */
    extension: z.string().min(1).optional(),
    priority: z.number().int().min(1).default(1),
  })
  .strict();

/** Points a signal adds to the score (negative points lower it). */
const points = z.number().min(-1000).max(1000);
const days = z.number().min(0).max(3650);

const velocityWindow = z
  .object({
    windowSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400),
    /** this many calls or more in the window (the call being screened included) ... */
    calls: z.number().int().min(2),
    /** ... add these points */
    points,
  })
  .strict();

const attestation = z.enum(['A', 'B', 'C', 'none', 'failed']);

/** host:port of a Redis node or sentinel (IPv6 in brackets) */
const redisHostPort = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, 'host:port, e.g. 10.0.0.5:26379');
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
/** the data nodes' credentials; passwordEnv names an environment variable (keeps the secret out of the file) */
const redisAuth = {
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  passwordEnv: envVarName.optional(),
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
    /**
     * Each source's score x 0.5^(days since its last report / halfLifeDays) x the source's weight,
     * combined over sources as 1 - prod(1 - s); contribution = weight x that. Entries last reported more
     * than maxAgeDays ago are ignored.
     */
    reputation: z
      .object({
        weight: points.default(70),
        halfLifeDays: days.min(0.1).default(30),
        maxAgeDays: days.min(1).default(180),
        /** per source name: weight 0..2 multiplies its score (0 ignores the source) */
        sources: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a source name: lower case letters, digits, - and _'),
            z.object({ weight: z.number().min(0).max(2) }).strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    /** agents' verdicts (`callscreen report`, the HTTP endpoint): the last one counts; `ok` overrules the feeds */
    feedback: z
      .object({ okPoints: points.default(-60), spamPoints: points.default(40) })
      .strict()
      .prefault({}),
    withheld: z
      .object({ points: points.default(30) })
      .strict()
      .prefault({}),
    unparseable: z
      .object({ points: points.default(40) })
      .strict()
      .prefault({}),
    /** a number of a possible length that does not exist in its numbering plan */
    invalidNumber: z
      .object({ points: points.default(30) })
      .strict()
      .prefault({}),
    /** a number of a length no number in its country has */
    impossibleNumber: z
      .object({ points: points.default(45) })
      .strict()
      .prefault({}),
    numberType: numberTypes.default({
      PREMIUM_RATE: 50,
      SHARED_COST: 20,
      TOLL_FREE: 15,
      PAGER: 20,
      VOICEMAIL: 20,
      VOIP: 5,
      PERSONAL_NUMBER: 5,
    }),
    /** caller's country not among the DID's expected countries (policy expectedCountries, else the DID's own country) */
    foreignCountry: z
      .object({ points: points.default(15) })
      .strict()
      .prefault({}),
    /** STIR/SHAKEN attestation handed over by the dialplan */
    attestation: z
      .object({
        A: points.default(-15),
        B: points.default(0),
        C: points.default(10),
        none: points.default(5),
        failed: points.default(40),
      })
      .strict()
      .prefault({}),
    velocity: z
      .object({
        /** calls from the same number; each scope counts its highest window that is reached */
        number: z.array(velocityWindow).default([
          { windowSeconds: 60, calls: 3, points: 30 },
          { windowSeconds: 3600, calls: 10, points: 25 },
        ]),
        /** the number block: the caller's number without its last blockDigits digits */
        blockDigits: z.number().int().min(0).max(8).default(4),
        block: z.array(velocityWindow).default([{ windowSeconds: 60, calls: 15, points: 25 }]),
      })
      .strict()
      .prefault({}),
    /** caller and DID share all but their last differingDigits digits, and the caller is not known */
    neighbourSpoofing: z
      .object({ differingDigits: z.number().int().min(1).max(8).default(4), points: points.default(20) })
      .strict()
      .prefault({}),
    captcha: z
      .object({
        /** passed the CAPTCHA within trustDays: trusted */
        trustDays: days.default(30),
        passedPoints: points.default(-60),
        /** failed it within failedDays: points per failure since the last pass, up to maxFailures */
        failedDays: days.default(7),
        failedPoints: points.default(25),
        maxFailures: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    /** a second call to the same DID within withinMinutes (a crisis line must not keep a caller out) */
    repeatCaller: z
      .object({ withinMinutes: z.number().min(0).max(1440).default(15), points: points.default(-40) })
      .strict()
      .prefault({}),
  })
  .strict();

/** Score at or above each threshold gives that verdict; below challenge: allow. */
export const thresholdsSchema = z
  .object({ challenge: points.default(30), voicemail: points.default(60), reject: points.default(90) })
  .strict()
  .refine((t) => t.challenge <= t.voicemail && t.voicemail <= t.reject, {
    message: 'thresholds must rise: challenge <= voicemail <= reject',
  });

const clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/, 'a time of day as HH:MM (00:00 to 24:00)');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const timeWindowSchema = z
  .object({
    /** days the window starts on; default every day */
    days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
    /** from 18:00 to 08:00 runs past midnight into the next day */
    from: clock,
    to: clock,
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
  })
  .partial()
  .strict();

/** Reject: hang up with a cause, or play the special information tone and a message, then hang up. */
const rejectSchema = z
  .object({
    treatment: z.enum(['hangup', 'announcement']).default('hangup'),
    /** ARI hangup reason: rejected (cause 21), busy (17), unallocated (1), congestion (34), normal (16) */
    hangupReason: z.enum(['rejected', 'busy', 'unallocated', 'congestion', 'normal']).default('rejected'),
    /** media played for the announcement treatment (ARI media URIs), in order */
    announcement: z
      .array(z.string().regex(/^(sound|tone|digits|number):/, 'an ARI media URI: sound:..., tone:..., digits:...'))
      .min(1)
      .default(['tone:info', 'sound:ss-noservice']),
  })
  .strict();

const mediaList = z
  .array(z.string().regex(/^(sound|tone|digits|number):/, 'an ARI media URI: sound:..., tone:..., digits:...'))
  .min(1);

const captchaSchema = z
  .object({
    /** how many digits the caller must press */
    codeLength: z.number().int().min(1).max(8).default(2),
    /** tries before the caller fails */
    attempts: z.number().int().min(1).max(5).default(3),
    /** how long to wait for the first digit after the code was said, and between digits */
    digitTimeoutMs: ms(1000, 30_000).default(5000),
    /** watchdog: no call stays in the IVR (or in Stasis) longer than this; then it goes to the agents */
    maxDurationMs: ms(10_000, 600_000).default(60_000),
    /** where a caller who failed (wrong digits or silence) goes */
    failVerdict: z.enum(['voicemail', 'reject']).default('voicemail'),
    /** channel language for the prompts (Asterisk's core sounds: en, fr, es, ...) */
    language: z
      .string()
      .regex(/^[a-z]{2}(_[A-Za-z]{2,})?$/, 'a sound language such as en, fr, en_GB')
      .default('en'),
    prompts: z
      .object({
        /** played once when the call is answered */
        greeting: mediaList.default(['sound:silence/1', 'sound:hello']),
        /** before the code ("Press ..."; the code is said digit by digit right after it, as digits:<code>) */
        enterCode: mediaList.default(['sound:vm-press']),
        /** after a wrong code, before the next try */
        wrong: mediaList.default(['sound:please-try-again']),
        /** after the right code, before the call continues */
        passed: mediaList.default(['sound:auth-thankyou']),
        /** after the last failed try */
        failed: mediaList.default(['sound:goodbye']),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const policySchema = z
  .object({
    name: z.string().min(1),
    /** DIDs (numbers, or names of didGroups) the policy applies to; omitted: every DID */
    dids: z.array(z.string().min(1)).min(1).optional(),
    /** time windows the policy applies in (any of them); omitted: always */
    when: z.array(timeWindowSchema).min(1).optional(),
    /** time zone of `when`; default screening.timeZone */
    timeZone: timeZone.optional(),
    /** decide and log, but always let the call through (for a rollout) */
    shadow: z.boolean().optional(),
    /** the harshest verdict this policy allows, e.g. challenge on a crisis line (never voicemail or reject) */
    maxVerdict: verdict.optional(),
    /** turn one verdict into another, e.g. { challenge: voicemail } after hours */
    verdicts: z
      .object({ allow: verdict, challenge: verdict, voicemail: verdict, reject: verdict })
      .partial()
      .strict()
      .optional(),
    denyVerdict: verdict.optional(),
    thresholds: z.object({ challenge: points, voicemail: points, reject: points }).partial().strict().optional(),
    signals: signalOverrides.optional(),
    /** ISO 3166 regions callers of these DIDs are expected from */
    expectedCountries: z
      .array(z.string().refine((r) => isSupportedCountry(r), { message: 'not a region libphonenumber knows' }))
      .min(1)
      .optional(),
    /** CAPTCHA settings for these DIDs (language, prompts, length ...); the rest from `captcha` */
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
      .optional(),
    /** voicemail target for these DIDs */
    voicemail: dialplanTarget.optional(),
  })
  .strict();

const screeningSchema = z
  .object({
    /** hard budget for one decision; past it the call is decided on local facts and marked degraded */
    deadlineMs: ms(10, 5000).default(200),
    /** time zone for policy time windows; default the machine's */
    timeZone: timeZone.default(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
    thresholds: thresholdsSchema.prefault({}),
    /** what a deny-listed caller gets */
    denyVerdict: verdict.default('voicemail'),
    /** ISO 3166 regions callers are expected from; default: the DID's own country (numbers.defaultRegion for a DID that is not a number) */
    expectedCountries: z
      .array(z.string().refine((r) => isSupportedCountry(r), { message: 'not a region libphonenumber knows' }))
      .min(1)
      .optional(),
    signals: signalsSchema.prefault({}),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    ari: z
      .object({
        url: z.url().default('http://127.0.0.1:8088'),
        username: z.string().min(1).default('callscreen'),
        password: z.string().default(''),
        app: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
          .default('callscreen'),
        /** which AriPort adapter: native (fetch + ws, default) or ari-client */
        adapter: z.enum(['native', 'ari-client']).default('native'),
        requestTimeoutMs: ms(100, 60_000).default(2000),
      })
      .strict()
      .prefault({}),
    ami: z
      .object({
        enabled: z.boolean().default(false),
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(5038),
        username: z.string().min(1).default('callscreen'),
        password: z.string().default(''),
        actionTimeoutMs: ms(100, 60_000).default(5000),
        /**
         * Copy deny rules (exact numbers) and high-confidence reputation numbers into Asterisk's AstDB
         * family that FreePBX's Blacklist module reads, so blocking survives while the daemon is down.
         */
        blacklistSync: z
          .object({
            enabled: z.boolean().default(false),
            family: z
              .string()
              .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
              .default('blacklist'),
            /** never write more entries than this (AstDB is not built for millions) */
            maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
            /** reputation entries scoring at least this are copied (deny rules always are) */
            minReputationScore: z.number().min(0).max(1).default(0.9),
            intervalSeconds: z.number().int().min(10).max(86_400).default(300),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** exactly one of url, sentinel, cluster (url redis://127.0.0.1:6379 when none is given) */
    redis: z
      .object({
        /** one Redis: redis://[user:password@]host:port[/db] (rediss:// for TLS) */
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
          .optional(),
        /** a master watched by Redis Sentinel: the client asks the sentinels where it is and follows failovers */
        sentinel: z
          .object({
            /** the master's name in the sentinels' configuration (`sentinel monitor <name> ...`) */
            name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ and - only'),
            /** some of the sentinels (they tell the client about the others) */
            nodes: z.array(redisHostPort).min(1, 'name at least one sentinel (three or more in production)'),
            ...redisAuth,
            /** the sentinels' own credentials (`requirepass` / ACL user in sentinel.conf), if they have any */
            sentinelUsername: z.string().min(1).optional(),
            sentinelPassword: z.string().min(1).optional(),
            sentinelPasswordEnv: envVarName.optional(),
            db: z.number().int().min(0).max(15).default(0),
            /** TLS to the sentinels and the data nodes (system CAs) */
            tls: z.boolean().default(false),
          })
          .strict()
          .superRefine(oneSecretSource)
          .refine((s) => s.sentinelPassword === undefined || s.sentinelPasswordEnv === undefined, {
            message: 'give sentinelPassword or sentinelPasswordEnv, not both',
            path: ['sentinelPasswordEnv'],
          })
          .optional(),
        /** a Redis Cluster: the client learns the slots from any of these nodes */
        cluster: z
          .object({
            nodes: z
              .array(
                z
                  .string()
                  .regex(
                    /^(rediss?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}\/?$/,
                    'host:port or redis://host:port',
                  ),
              )
              .min(1, 'name at least one cluster node'),
            ...redisAuth,
            /** TLS to every node (system CAs) */
            tls: z.boolean().default(false),
          })
          .strict()
          .superRefine(oneSecretSource)
          .optional(),
        keyPrefix: z.string().default('callscreen:'),
        /** a lookup slower than this counts as Redis unavailable for that call */
        commandTimeoutMs: ms(5, 10_000).default(150),
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
      .prefault({}),
    numbers: z
      .object({
        /** ISO 3166 region for numbers written without a country code, e.g. DE, CH, US, GB */
        defaultRegion: z
          .string()
          .refine((r): r is CountryCode => isSupportedCountry(r), {
            message: 'not a region libphonenumber knows (use ISO 3166 alpha-2, e.g. DE, US)',
          })
          .default('US'),
      })
      .strict()
      .prefault({}),
    rules: z
      .object({
        /** allow/deny list, relative to this config file */
        file: z.string().min(1).default('rules.yaml'),
        /** allow list written by agents' feedback (promotion), relative to this config file; allow entries only */
        managedFile: z.string().min(1).default('rules.managed.yaml'),
      })
      .strict()
      .prefault({}),
    screening: screeningSchema,
    /** named lists of DIDs that policies refer to: `hotline: ["+1 212 555 0100"]` */
    didGroups: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'), z.array(z.string().min(1)).min(1))
      .default({}),
    /** adjustments per DID (group) and time window; every matching policy applies, in file order */
    policies: z.array(policySchema).default([]),
    routing: z
      .object({
        agents: dialplanTarget.prefault({ context: 'callscreen-agents' }),
        voicemail: dialplanTarget.prefault({ context: 'callscreen-voicemail' }),
        reject: rejectSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    /** the CAPTCHA IVR a challenged caller goes through */
    captcha: captchaSchema.prefault({}),
    /** what the call carries on into the dialplan (agents' phones, CDRs) */
    tags: z
      .object({
        /** prefixed to the caller name of a call that scored at or above the challenge threshold and still reaches the agents, e.g. "SPAM? " */
        callerNamePrefix: z.string().max(20).default(''),
        /** write "callscreen:<verdict>:<score>:<top reason>" into CDR(userfield), shown in FreePBX reports */
        cdrUserfield: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** the daemon's HTTP server (review console, feedback, /metrics); every route but /healthz and /readyz needs credentials */
    http: z
      .object({
        enabled: z.boolean().default(false),
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8089),
        auth: z
          .object({
            /** name of an environment variable holding a bearer token (several: separated by commas) */
            tokenEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
              .optional(),
            /** bearer tokens written here (prefer tokenEnv: secrets belong in the environment) */
            tokens: z.array(z.string().min(16, 'a token needs at least 16 characters')).default([]),
            /** HTTP Basic: the user, and the environment variable holding the password */
            basic: z
              .object({
                user: z.string().min(1),
                passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
              })
              .strict()
              .optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** agents' verdicts: promotion to the managed allow list (rules.managedFile) */
    feedback: z
      .object({
        /** a number with at least this many "ok" reports, the last one "ok", is put on the managed allow list */
        promoteAfter: z.number().int().min(1).max(1000).default(3),
      })
      .strict()
      .prefault({}),
    callLog: z
      .object({
        /** Redis stream (after keyPrefix) holding one entry per screened call */
        stream: z.string().min(1).default('calls'),
        /** approximate cap on entries kept (XADD MAXLEN ~) */
        maxLength: z.number().int().min(100).default(100_000),
        /** data protection: no entry older than this many days is kept (trimmed every minute by the daemon) */
        maxAgeDays: z.number().min(1).max(3650).default(30),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

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
