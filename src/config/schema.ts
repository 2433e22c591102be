/**
 * The schema of config/callscreen.yaml. The TypeScript type of the configuration is derived from it,
 * so the file, the validation and the code cannot drift apart. Unknown keys are errors (a typo must not
 * silently fall back to a default).
 */
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';

// challenge (CAPTCHA IVR) and reject arrive with the IVR; until then a policy sends a call to the agents or to voicemail
const verdict = z.enum(['allow', 'voicemail']);
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

export const configSchema = z
  .object({
    ari: z
      .object({
        url: z.url().default('http://127.0.0.1:8088'),
        username: z.string().min(1).default('callscreen'),
        password: z.string().default(''),
        app: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').default('callscreen'),
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
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
        keyPrefix: z.string().default('callscreen:'),
        /** a lookup slower than this counts as Redis unavailable for that call */
        commandTimeoutMs: ms(5, 10_000).default(150),
      })
      .strict()
      .prefault({}),
    numbers: z
      .object({
        /** ISO 3166 region for numbers written without a country code, e.g. DE, CH, US, GB */
        defaultRegion: z
          .string()
          .refine((r) => isSupportedCountry(r), { message: 'not a region libphonenumber knows (use ISO 3166 alpha-2, e.g. DE, US)' })
          .default('US'),
      })
      .strict()
      .prefault({}),
    rules: z
      .object({
        /** allow/deny list, relative to this config file */
        file: z.string().min(1).default('rules.yaml'),
      })
      .strict()
      .prefault({}),
    screening: z
      .object({
        /** hard budget for one decision; past it the call is decided on local facts and marked degraded */
        deadlineMs: ms(10, 5000).default(200),
        reputationThreshold: z.number().min(0).max(1).default(0.7),
        withheldCaller: verdict.default('allow'),
        unparseableCaller: verdict.default('allow'),
        /** what a deny-listed or reputation-listed caller gets */
        spamVerdict: verdict.default('voicemail'),
      })
      .strict()
      .prefault({}),
    routing: z
      .object({
        agents: dialplanTarget.prefault({ context: 'callscreen-agents' }),
        voicemail: dialplanTarget.prefault({ context: 'callscreen-voicemail' }),
      })
      .strict()
      .prefault({}),
    callLog: z
      .object({
        /** Redis stream (after keyPrefix) holding one entry per screened call */
        stream: z.string().min(1).default('calls'),
        /** approximate cap on entries kept (XADD MAXLEN ~) */
        maxLength: z.number().int().min(100).default(100_000),
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
